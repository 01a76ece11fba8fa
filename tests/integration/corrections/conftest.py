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
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.cfn import load_template
from infra.local.events import scheduled_event, sqs_event
from infra.local.functions import LocalFunction, functions_from_template
from infra.local.razorpay_standin import RazorpayStandIn, WebhookDelivery
from tests.conftest import CURSOR_KEY
from tests.events.http import OPERATOR, customer, http_event
from tests.support.razorpay import API_BASE_URL, KEY_ID, KEY_SECRET, WEBHOOK_SECRET, standin_responses

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)  # 12:00 IST, financial year 2026-27
ACCOUNT = "acc_1"


class Clock:
    """The functions' clock: one second per reading; ``set`` jumps."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def error(self) -> dict[str, Any]:
        body = self.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
        return body["error"]


@dataclass
class Stack:
    functions: dict[str, LocalFunction]
    standin: RazorpayStandIn
    clock: Clock
    resources: dict[str, str]
    sqs: Any = field(default=None)

    # ------------------------------------------------------------------------------- the API
    def call(self, method: str, path: str, *, claims: dict[str, str] | None, **kwargs: Any) -> Reply:
        result = self.functions["InvoiceApiFunction"].invoke(
            http_event(method, path, claims=claims, **kwargs)
        )
        return Reply(status=result["statusCode"], headers=result.get("headers") or {}, text=result["body"])

    def operator(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=OPERATOR, **kwargs)

    def customer(self, method: str, path: str, account_id: str = ACCOUNT, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=customer(account_id), **kwargs)

    def issued(self, account_id: str = ACCOUNT, **overrides: Any) -> dict[str, Any]:
        created = self.operator("POST", "/invoices", body=create_body(account_id, **overrides))
        assert created.status == 201, created.text
        reply = self.operator("POST", f"/invoices/{created.json()['id']}/issue")
        assert reply.status == 200, reply.text
        self.dispatch()
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
        return Reply(status=result["statusCode"], headers=result.get("headers") or {}, text=result["body"])

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

    def render(self) -> int:
        """Feed the render queue to the renderer, as Lambda's SQS integration would."""
        url = self.resources["RENDER_QUEUE_URL"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        done = 0
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return done
            result = self.functions["PdfRendererFunction"].invoke(sqs_event(messages, queue_arn=arn))
            assert not result.get("batchItemFailures"), result
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += len(messages)


def create_body(account_id: str = ACCOUNT, **overrides: Any) -> dict[str, Any]:
    """Intra-state (Maharashtra) customer, two lines: ₹900.00 and ₹45.50 taxable (₹1,115.70 in all)."""
    body: dict[str, Any] = {
        "account_id": account_id,
        "customer": {
            "name": "Acme Analytics LLP",
            "email": "billing@acme.example",
            "gstin": "27AAPFU0939F1ZV",
            "state_code": "27",
            "address": {
                "line1": "4th Floor, Example Towers",
                "city": "Mumbai",
                "state": "Maharashtra",
                "postal_code": "400001",
                "country": "IN",
            },
        },
        "billing_period": {"start": "2026-09-01", "end": "2026-09-30"},
        "line_items": [
            {
                "resource_type": "vm",
                "resource_name": "vm-web-1",
                "description": "General purpose VM",
                "usage_start": "2026-09-01T00:00:00Z",
                "usage_end": "2026-09-30T18:29:00Z",
                "quantity": "720",
                "unit": "hour",
                "unit_rate": "1.25",
            },
            {
                "resource_type": "storage",
                "resource_name": "disk-1",
                "usage_start": "2026-09-01T00:00:00Z",
                "usage_end": "2026-09-30T18:29:00Z",
                "quantity": "91",
                "unit": "GB",
                "unit_rate": "0.5",
            },
        ],
        "description": "Cloud usage September 2026",
    }
    return body | overrides


_built_for: tuple | None = None
_FUNCTIONS: dict[str, LocalFunction] = {}
USED = ("InvoiceApiFunction", "RazorpayWebhookFunction", "OutboxDispatcherFunction", "PdfRendererFunction")


def _functions() -> dict[str, LocalFunction]:
    """The functions' handlers, imported once per worker (as a warm Lambda keeps its module)."""
    if not _FUNCTIONS:
        specs = functions_from_template(load_template())
        _FUNCTIONS.update({logical_id: LocalFunction(specs[logical_id]) for logical_id in USED})
    return _FUNCTIONS


@pytest.fixture
def stack(resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    from invoicing.wiring import api, common, outbox, pdf, webhook

    secrets = boto3.client("secretsmanager")
    secrets.put_secret_value(
        SecretId=resources["RAZORPAY_SECRET_NAME"],
        SecretString=json.dumps(
            {
                "key_id": KEY_ID,
                "key_secret": KEY_SECRET,
                "webhook_secret": WEBHOOK_SECRET,
                "previous_webhook_secret": "",
            }
        ),
    )
    secrets.put_secret_value(SecretId=resources["CURSOR_SECRET_NAME"], SecretString=CURSOR_KEY.decode())
    for name, value in {
        "RAZORPAY_BASE_URL": API_BASE_URL,
        "RAZORPAY_TIMEOUT_SECONDS": "2",
        "OUTBOX_SWEEP_MIN_AGE_SECONDS": "0",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    # Clients and services are rebuilt when the environment changes (resource names are stable, so
    # mostly once per worker); the secrets' cache is dropped for every test.
    global _built_for
    environment = tuple(sorted(resources.items()))
    if _built_for != environment:
        for wiring in (api, webhook, outbox, pdf):
            wiring.reset()
        _built_for = environment
    from invoicing.adapters import secrets as secret_cache

    secret_cache.reset()  # each test's secrets are new
    clock = Clock(NOW)
    common.clock().set(clock)
    # Commits stamp outbox messages (when they are due) with the transactions' own clock: the same one.
    common.transactions(resources["INVOICES_TABLE"])._clock = lambda: clock.current.timestamp()
    with standin_responses() as standin:
        yield Stack(
            functions=_functions(),
            standin=standin,
            clock=clock,
            resources=resources,
            sqs=boto3.client("sqs"),
        )
