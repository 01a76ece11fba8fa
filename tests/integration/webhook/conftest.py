"""The webhook function under moto: a Razorpay stand-in that signs and delivers, seeded invoices.

``razorpay`` builds events from Razorpay's own sample payloads (``samples/``, copied unchanged from
Razorpay's documentation) with the ids, amounts and notes of a seeded invoice, signs the exact bytes
it sends, and calls ``lambda_handler`` with an HTTP API v2 event, as API Gateway would.
Domain events reach a capture queue through an EventBridge rule on the bus, so assertions see what
was really published.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import importlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from invoicing.domain.invoice import Invoice
from invoicing.services.invoices import InvoicePolicy, InvoiceService
from invoicing.services.ports import ProviderInvoice
from tests.unit.factories import NOW, draft, supplier

SAMPLES = Path(__file__).with_name("samples")
CURRENT_SECRET = "whsec_current_0123456789abcdef"
PREVIOUS_SECRET = "whsec_previous_0123456789abcdef"
WEBHOOK_PATH = "/webhooks/razorpay"
EVENT_CREATED_AT = int(NOW.timestamp())


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"razorpay-webhook-{name}.json").read_text())


def signature(raw: bytes, secret: str) -> str:
    """Razorpay's scheme, written out independently of the code under test."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- payload builders
def payment_entity(
    document: dict[str, Any],
    *,
    payment_id: str,
    amount: int,
    razorpay_invoice_id: str | None,
    method: str = "upi",
    currency: str = "INR",
) -> None:
    entity = document["payload"]["payment"]["entity"]
    entity.update(
        id=payment_id,
        amount=amount,
        currency=currency,
        method=method,
        invoice_id=razorpay_invoice_id,
        created_at=EVENT_CREATED_AT,
    )


def invoice_entity(
    document: dict[str, Any], *, razorpay_invoice_id: str, invoice_id: str | None, amount: int | None = None
) -> None:
    entity = document["payload"]["invoice"]["entity"]
    entity["id"] = razorpay_invoice_id
    entity["notes"] = {"invoice_id": invoice_id} if invoice_id else []
    if amount is not None:
        entity["amount"] = amount


def payment_captured(invoice: Invoice, payment_id: str, amount: int, **options: Any) -> dict[str, Any]:
    document = sample("payment-captured")
    payment_entity(
        document,
        payment_id=payment_id,
        amount=amount,
        razorpay_invoice_id=options.pop("razorpay_invoice_id", invoice.razorpay_invoice_id),
        **options,
    )
    document["created_at"] = EVENT_CREATED_AT
    return document


def invoice_paid(
    invoice: Invoice,
    payment_id: str,
    amount: int,
    *,
    partially: bool = False,
    with_notes: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """``invoice.paid`` (or ``invoice.partially_paid``) carrying the payment that triggered it."""
    document = sample("invoice-partially-paid" if partially else "invoice-paid")
    assert invoice.razorpay_invoice_id
    invoice_entity(
        document,
        razorpay_invoice_id=invoice.razorpay_invoice_id,
        invoice_id=invoice.id if with_notes else None,
        amount=invoice.amount,
    )
    payment_entity(
        document,
        payment_id=payment_id,
        amount=amount,
        razorpay_invoice_id=invoice.razorpay_invoice_id,
        **options,
    )
    document["created_at"] = EVENT_CREATED_AT
    return document


def invoice_expired(invoice: Invoice, *, with_notes: bool = True) -> dict[str, Any]:
    document = sample("invoice-expired")
    assert invoice.razorpay_invoice_id
    invoice_entity(
        document,
        razorpay_invoice_id=invoice.razorpay_invoice_id,
        invoice_id=invoice.id if with_notes else None,
    )
    document["created_at"] = EVENT_CREATED_AT
    return document


def payment_failed(invoice: Invoice, payment_id: str, amount: int) -> dict[str, Any]:
    document = sample("payment-failed")
    payment_entity(
        document, payment_id=payment_id, amount=amount, razorpay_invoice_id=invoice.razorpay_invoice_id
    )
    document["payload"]["payment"]["entity"]["method"] = "wallet"
    document["created_at"] = EVENT_CREATED_AT
    return document


# ------------------------------------------------------------------------------ the stand-in
@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    event_id: str


class LambdaContextStub:
    function_name = "invoicing-test-razorpay-webhook"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-south-1:123456789012:function:invoicing-test-razorpay-webhook"
    aws_request_id = "req-test"
    log_group_name = "/aws/lambda/invoicing-test-razorpay-webhook"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 5000


def http_event(raw: bytes, headers: dict[str, str], *, base64_body: bool = False) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2.0) event for ``POST /webhooks/razorpay``."""
    return {
        "version": "2.0",
        "routeKey": f"POST {WEBHOOK_PATH}",
        "rawPath": WEBHOOK_PATH,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "user-agent": "Razorpay-Webhook/v1", **headers},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "local.execute-api.ap-south-1.amazonaws.com",
            "domainPrefix": "local",
            "http": {
                "method": "POST",
                "path": WEBHOOK_PATH,
                "protocol": "HTTP/1.1",
                "sourceIp": "52.66.0.1",
                "userAgent": "Razorpay-Webhook/v1",
            },
            "requestId": "req-test",
            "routeKey": f"POST {WEBHOOK_PATH}",
            "stage": "$default",
            "time": "01/Oct/2026:06:30:00 +0000",
            "timeEpoch": EVENT_CREATED_AT * 1000,
        },
        "body": base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8"),
        "isBase64Encoded": base64_body,
    }


@dataclass
class RazorpayStandIn:
    handler: Callable[[dict[str, Any], Any], dict[str, Any]]
    secret: str = CURRENT_SECRET
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_event_id(self) -> str:
        return f"evt_Test{next(self._ids):010d}"

    def deliver(
        self,
        document: dict[str, Any] | bytes,
        *,
        event_id: str | None = None,
        secret: str | None = None,
        signature_header: str | None = None,
        omit_signature: bool = False,
        base64_body: bool = False,
    ) -> Answer:
        """Send ``document`` (serialized compactly, or ``bytes`` exactly as given), signed."""
        raw = document if isinstance(document, bytes) else json.dumps(document).encode()
        event_id = event_id or self.next_event_id()
        headers = {"x-razorpay-event-id": event_id}
        if not omit_signature:
            headers["x-razorpay-signature"] = (
                signature(raw, self.secret if secret is None else secret)
                if signature_header is None
                else signature_header
            )
        response = self.handler(http_event(raw, headers, base64_body=base64_body), LambdaContextStub())
        return Answer(response["statusCode"], json.loads(response["body"]), event_id)


# -------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def webhook_secret(resources: dict[str, str]) -> dict[str, str]:
    """The Razorpay secret with a current and a previous webhook secret (a rotation in progress)."""
    value = {
        "key_id": "rzp_test_key",
        "key_secret": "rzp_test_secret",
        "webhook_secret": CURRENT_SECRET,
        "previous_webhook_secret": PREVIOUS_SECRET,
    }
    boto3.client("secretsmanager").put_secret_value(
        SecretId=resources["RAZORPAY_SECRET_NAME"], SecretString=json.dumps(value)
    )
    return value


@pytest.fixture
def published(resources: dict[str, str]) -> Callable[[], list[tuple[str, dict[str, Any]]]]:
    """Every domain event on the bus so far, as ``(detail-type, detail)``, via a rule → capture queue."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName="captured-domain-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = resources["EVENT_BUS_NAME"]
    events.put_rule(Name="capture-all", EventBusName=bus, EventPattern=json.dumps({"source": ["invoicing"]}))
    events.put_targets(Rule="capture-all", EventBusName=bus, Targets=[{"Id": "capture", "Arn": queue_arn}])
    seen: list[tuple[str, dict[str, Any]]] = []

    def read() -> list[tuple[str, dict[str, Any]]]:
        seen.extend(
            (body["detail-type"], body["detail"])
            for body in (json.loads(m["Body"]) for m in _drain(sqs, queue_url))
        )
        return list(seen)

    return read


@pytest.fixture
def render_jobs(resources: dict[str, str]) -> Callable[[], list[dict[str, Any]]]:
    sqs = boto3.client("sqs")
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        seen.extend(json.loads(m["Body"]) for m in _drain(sqs, resources["RENDER_QUEUE_URL"]))
        return list(seen)

    return read


def _drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def wiring(resources: dict[str, str], webhook_secret: dict[str, str]) -> Iterator[Any]:
    from invoicing.wiring import webhook

    webhook.reset()
    yield webhook
    webhook.reset()


@pytest.fixture
def razorpay(wiring: Any, published: Any) -> RazorpayStandIn:
    handler = importlib.import_module("functions.razorpay_webhook.handler")
    return RazorpayStandIn(handler=handler.lambda_handler)


class FakeProvider:
    """Stands in for Razorpay's invoice API while seeding: hands out provider ids and links."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def create_draft(self, invoice: Invoice) -> ProviderInvoice:
        return ProviderInvoice(
            provider_id=f"inv_Rzp{next(self._ids):011d}",
            status="draft",
            payment_url=None,
            amount=invoice.amount,
            receipt=None,
        )

    def publish(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        return ProviderInvoice(
            provider_id=provider_id,
            status="issued",
            payment_url=f"https://rzp.io/i/{provider_id}",
            amount=invoice.amount,
            receipt=invoice.invoice_number,
        )

    def cancel(self, provider_id: str) -> None:
        return None


@pytest.fixture
def issue(repository: Any) -> Callable[..., Invoice]:
    """Seed an issued invoice (with its Razorpay invoice and pointer); draft overrides allowed."""
    service = InvoiceService(
        repository=repository,
        policy=InvoicePolicy(prefix="INV", supplier=supplier()),
        payments=FakeProvider(),
    )

    def make(**overrides: Any) -> Invoice:
        created = repository.create(draft(**overrides))
        return service.issue(created.id, NOW)

    return make


def idempotency_key(event_id: str) -> str:
    """Where Powertools keeps an event's record: the fixed prefix and the id's SHA-256 (pinned)."""
    from invoicing.wiring.webhook import IDEMPOTENCY_KEY_PREFIX

    return f"{IDEMPOTENCY_KEY_PREFIX}#{hashlib.sha256(json.dumps(event_id).encode()).hexdigest()}"


@pytest.fixture
def idempotency_records(resources: dict[str, str]) -> Callable[[str], dict[str, Any] | None]:
    """The stored idempotency record of an event id, read by its exact key (no scans)."""
    dynamodb = boto3.client("dynamodb")

    def read(event_id: str) -> dict[str, Any] | None:
        key = {"id": {"S": idempotency_key(event_id)}}
        return dynamodb.get_item(TableName=resources["IDEMPOTENCY_TABLE"], Key=key).get("Item")

    return read


@pytest.fixture
def reviews(resources: dict[str, str]) -> Any:
    from invoicing.repository.reviews import ReviewRepository

    return ReviewRepository(resources["INVOICES_TABLE"], boto3.client("dynamodb"))


def deep(document: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(document)
