"""The webhook function under moto: Razorpay's deliveries, signed, and seeded invoices.

``webhooks`` builds events from Razorpay's own sample payloads (``samples/``, copied unchanged from
Razorpay's documentation) with the ids, amounts and notes of a seeded invoice, signs the exact bytes
it sends, and calls ``lambda_handler`` with an HTTP API v2 event, as API Gateway would. What a
commit sets off (domain events, render jobs) is read through ``effects`` (the outbox dispatcher).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from invoicing.domain.invoice import Invoice
from tests.conftest import NOW
from tests.events.http import http_event
from tests.support.functions import WEBHOOK, Functions
from tests.support.razorpay import PREVIOUS_WEBHOOK_SECRET, WEBHOOK_SECRET
from tests.unit.factories import draft

SAMPLES = Path(__file__).with_name("samples")
CURRENT_SECRET = WEBHOOK_SECRET
PREVIOUS_SECRET = PREVIOUS_WEBHOOK_SECRET
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


# ------------------------------------------------------------------------------ deliveries
@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    event_id: str


@dataclass
class Webhooks:
    """Razorpay delivering webhooks: signed raw bytes, an event id, ``POST /webhooks/razorpay``."""

    functions: Functions
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
        headers = {"x-razorpay-event-id": event_id, "user-agent": "Razorpay-Webhook/v1"}
        if not omit_signature:
            headers["x-razorpay-signature"] = (
                signature(raw, self.secret if secret is None else secret)
                if signature_header is None
                else signature_header
            )
        event = http_event("POST", WEBHOOK_PATH, body=raw, headers=headers, base64_body=base64_body)
        response = self.functions.invoke(WEBHOOK, event)
        return Answer(response["statusCode"], json.loads(response["body"]), event_id)


# -------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def wiring(resources: dict[str, str]) -> Iterator[Any]:
    """The webhook's composition root, built afresh (another test may have rebuilt the shared
    adapters under it); what a test swaps in it is forgotten afterwards."""
    from invoicing.wiring import webhook

    webhook.reset()
    yield webhook
    webhook.payment_service.cache_clear()
    webhook._receiver.cache_clear()


@pytest.fixture
def webhooks(functions: Functions, wiring: Any) -> Webhooks:
    return Webhooks(functions)


@pytest.fixture
def published(effects: Any) -> Callable[[], list[tuple[str, dict[str, Any]]]]:
    """Every domain event published on the bus so far, as ``(detail-type, detail)``."""
    return effects.events


@pytest.fixture
def render_jobs(effects: Any) -> Callable[[], list[dict[str, Any]]]:
    return effects.render_jobs


@pytest.fixture
def issue(repository: Any) -> Callable[..., Invoice]:
    """Seed an issued invoice (with its Razorpay invoice id and pointer); draft overrides allowed."""

    def make(**overrides: Any) -> Invoice:
        return repository.issue(draft(**overrides), now=NOW)

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
def reviews(repository: Any) -> Any:
    return repository.reviews


def deep(document: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(document)
