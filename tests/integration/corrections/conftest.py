"""Corrections end to end in one process: the functions' ``lambda_handler``s under moto.

``stack`` gives the four functions of template.yaml that corrections touch (the API, the Razorpay
webhook, the outbox dispatcher and the PDF renderer), invoked as Lambda would with real events:
HTTP API v2 events (``tests/events/http.py``), the webhook's signed raw bodies from the Razorpay
stand-in (``tests/support/razorpay.py``, which also answers the SDK's calls), the dispatcher's
schedule, and SQS batches read from the render queue. Resources come from template.yaml
(``resources``); the functions' clock is a test clock (one second per reading).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local.events import scheduled_event, sqs_event
from infra.local.functions import LocalFunction
from infra.local.razorpay_standin import RazorpayStandIn, WebhookDelivery
from tests.events.http import OPERATOR, customer, http_event
from tests.support.api import Reply, create_body
from tests.support.functions import functions as loaded_functions
from tests.support.razorpay import standin_responses

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)  # 12:00 IST, financial year 2026-27
ACCOUNT = "acc_1"


@dataclass
class Stack:
    functions: dict[str, LocalFunction]
    standin: RazorpayStandIn
    clock: Any  # the shared functions' clock (tests/conftest.py)
    resources: dict[str, str]
    sqs: Any = field(default=None)

    # ------------------------------------------------------------------------------- the API
    def call(self, method: str, path: str, *, claims: dict[str, str] | None, **kwargs: Any) -> Reply:
        result = self.functions["InvoiceApiFunction"].invoke(
            http_event(method, path, claims=claims, **kwargs)
        )
        return Reply.of(result)

    def operator(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=OPERATOR, **kwargs)

    def customer(self, method: str, path: str, account_id: str = ACCOUNT, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=customer(account_id), **kwargs)

    def issued(self, account_id: str = ACCOUNT, **overrides: Any) -> dict[str, Any]:
        created = self.operator("POST", "/invoices", body=create_body(account_id, **overrides))
        assert created.status == 201, created.text
        reply = self.operator("POST", f"/invoices/{created.json()['id']}/issue")
        assert reply.status == 200, reply.text
        return reply.json()

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        reply = self.operator("GET", f"/invoices/{invoice_id}")
        assert reply.status == 200, reply.text
        return reply.json()

    def credit(self, invoice_id: str, body: dict[str, Any], **kwargs: Any) -> Reply:
        return self.operator("POST", f"/invoices/{invoice_id}/credit-notes", body=body, **kwargs)

    # --------------------------------------------------------------------------- Razorpay
    def webhook(self, delivery: WebhookDelivery, *, signature: str | None = None) -> Reply:
        headers = dict(delivery.headers)
        if signature is not None:
            headers["X-Razorpay-Signature"] = signature
        event = http_event("POST", "/webhooks/razorpay", claims=None, body=delivery.body, headers=headers)
        result = self.functions["RazorpayWebhookFunction"].invoke(event)
        return Reply.of(result)

    def pay(self, razorpay_invoice_id: str, amount: int | None = None) -> list[Reply]:
        """A payment at the stand-in, its webhooks delivered, their side effects performed."""
        replies = [self.webhook(d) for d in self.standin.pay(razorpay_invoice_id, amount, "upi")]
        assert all(r.status == 200 for r in replies), [r.text for r in replies]
        self.dispatch()
        return replies

    # -------------------------------------------------------------------------- event sources
    def dispatch(self) -> dict[str, Any]:
        """The outbox dispatcher's schedule path, until nothing is left (effects may add messages)."""
        total: dict[str, int] = {}
        for _ in range(10):
            report = self.functions["OutboxDispatcherFunction"].invoke(
                scheduled_event(self.clock.current, schedule_name="outbox")
            )
            for name, value in report.items():
                total[name] = total.get(name, 0) + value
            assert report["failed"] == 0, report
            if report["dispatched"] == 0:
                return total
        raise AssertionError("the outbox kept producing messages")

    def render(self, *, only: str | None = None) -> int:
        """Feed the render queue to the renderer, as Lambda's SQS integration would; with ``only``, the
        jobs of other documents are taken off the queue unrendered (a render costs ~0.3 s)."""
        url = self.resources["RENDER_QUEUE_URL"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        done = 0
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return done
            for skipped in [m for m in messages if only and json.loads(m["Body"])["document_id"] != only]:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=skipped["ReceiptHandle"])
                messages.remove(skipped)
            if not messages:
                continue
            result = self.functions["PdfRendererFunction"].invoke(sqs_event(messages, queue_arn=arn))
            assert not result.get("batchItemFailures"), result
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += len(messages)


USED = (
    "InvoiceApiFunction",
    "RazorpayWebhookFunction",
    "OutboxDispatcherFunction",
    "PdfRendererFunction",
    "RenderDeadLetterFunction",
)


def _functions() -> dict[str, LocalFunction]:
    """The functions' handlers, from the one loader every test shares (tests/support/functions.py)."""
    return {logical_id: loaded_functions().function(logical_id) for logical_id in USED}


@pytest.fixture
def stack(resources: dict[str, str], clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The shared moto stack (secrets, environment and the functions' clock come with it)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with standin_responses(clock=lambda: clock.current.timestamp()) as standin:
        yield Stack(
            functions=_functions(),
            standin=standin,
            clock=clock,
            resources=resources,
            sqs=boto3.client("sqs"),
        )
