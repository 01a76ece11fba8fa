"""Billing under moto: the invoice API's and the billing function's ``lambda_handler`` called with
the events API Gateway, EventBridge Scheduler and SQS send. Resources come from template.yaml;
Razorpay is the local stand-in behind ``responses``, driven through the real adapter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from infra.local.events import failed_ids, scheduled_event, sqs_event
from tests.events.http import OPERATOR, customer, http_event
from tests.support.api import Reply
from tests.support.functions import API, Functions
from tests.support.razorpay import standin_responses

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 09:30 IST on 1 December 2026
METERING = {"sub": "metering-service", "scope": "usage:write"}
BILLING = "BillingRunFunction"


class Stack:
    """The API and the billing function as Lambda runs them, and the billing queue as SQS feeds it."""

    def __init__(self, env: dict[str, str], functions: Functions) -> None:
        self.env = env
        self.functions = functions
        self.sqs = boto3.client("sqs")

    def billing(self, event: dict[str, Any]) -> Any:
        """The billing function invoked with ``event`` (as Lambda would, with its own context)."""
        return self.functions.invoke(BILLING, event)

    def call(self, method: str, path: str, claims: dict[str, str] | None = None, **kwargs: Any) -> Reply:
        event = http_event(method, path, claims=OPERATOR if claims is None else claims, **kwargs)
        result = self.functions.invoke(API, event)
        return Reply.of(result)

    def as_customer(self, account: str, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=customer(account), **kwargs)

    def scheduled(self, time: datetime, event_id: str | None = None) -> dict[str, Any]:
        event = scheduled_event(time, schedule_name="billing-run", event_id=event_id or str(uuid.uuid4()))
        return self.billing(event)

    def drain(self) -> int:
        """Feed the billing queue to the function, ten at a time, until it is empty."""
        url = self.env["BILLING_QUEUE_URL"]
        handled = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return handled
            arn = "arn:aws:sqs:ap-south-1:123456789012:billing"
            try:
                result = self.billing(sqs_event(messages, queue_arn=arn))
            except BatchProcessingError:  # every record failed: the batch goes back to the queue
                return handled
            failed = failed_ids(result)
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    handled += 1
            if failed:
                return handled

    # the tour's steps
    def price(self, sku: str = "gpu.h100.hour", rate: str = "245.50", **kw: Any) -> Reply:
        body = {
            "description": "NVIDIA H100 GPU",
            "resource_type": "pod",
            "unit": "GPU-hour",
            "unit_rate": rate,
            "effective_from": "2026-10-01",
            **kw,
        }
        return self.call("PUT", f"/prices/{sku}", body=body)

    def profile(self, account: str = "acc_1", **kw: Any) -> Reply:
        body = {"customer": customer_body(), "billing_model": "postpaid", **kw}
        return self.call("PUT", f"/accounts/{account}/billing-profile", body=body)

    def usage(self, records: list[dict[str, Any]], claims: dict[str, str] | None = None) -> Reply:
        return self.call(
            "POST", "/usage", claims=METERING if claims is None else claims, body={"records": records}
        )


def customer_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Vyom Analytics LLP",
        "email": "accounts@vyom.example",
        "gstin": "27AAPFU0939F1ZV",
        "state_code": "27",
        "address": {"line1": "12 FC Road", "city": "Pune", "state": "Maharashtra", "postal_code": "411004"},
        **overrides,
    }


def usage_record(
    n: int, account: str = "acc_1", *, resource: str = "pod-1", hour: int | None = None, **kw: Any
):
    from datetime import timedelta

    from invoicing.domain.numbering import IST

    start = datetime(2026, 11, 1, tzinfo=IST) + timedelta(hours=n if hour is None else hour)
    return {
        "id": f"rec-{account}-{resource}-{n}",
        "account_id": account,
        "sku": "gpu.h100.hour",
        "resource_id": resource,
        "resource_name": f"train-{resource}",
        "quantity": "1",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        **kw,
    }


@pytest.fixture
def stack(
    resources: dict[str, str],
    function_env: Any,
    clock: Any,
    functions: Functions,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stack]:
    """The shared moto stack (its secrets), the functions' clock at ``NOW``, Razorpay's stand-in."""
    env = {**function_env("InvoiceApiFunction"), **function_env("BillingRunFunction")}
    monkeypatch.delenv("RAZORPAY_BASE_URL", raising=False)
    clock.set(NOW)
    with standin_responses(clock=lambda: clock.current.timestamp()) as standin:
        stack = Stack(env, functions)
        stack.standin = standin  # type: ignore[attr-defined]
        yield stack
