"""The webhook function under moto: Razorpay's deliveries, signed, and seeded invoices.

``webhooks`` delivers Razorpay's payloads (``tests/support/webhook_payloads.py``: Razorpay's own
samples with the ids, amounts and notes of a seeded invoice), signs the exact bytes it sends, and
calls ``lambda_handler`` with an HTTP API v2 event, as API Gateway would. What a commit sets off
(domain events, render jobs) is read through ``effects`` (the outbox dispatcher).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from invoicing.domain.invoice import Invoice
from invoicing.repository.reviews import DynamoReviewStore
from tests.conftest import NOW
from tests.events.http import http_event
from tests.support.functions import WEBHOOK, Functions
from tests.support.razorpay import PREVIOUS_WEBHOOK_SECRET, WEBHOOK_SECRET
from tests.support.stack import Invoices, MotoStack
from tests.unit.factories import draft

# what the fixtures below give a test
Issue = Callable[..., Invoice]
Published = Callable[[], list[tuple[str, dict[str, Any]]]]
RenderJobs = Callable[[], list[dict[str, Any]]]
Records = Callable[[str], dict[str, Any] | None]

CURRENT_SECRET = WEBHOOK_SECRET
PREVIOUS_SECRET = PREVIOUS_WEBHOOK_SECRET
WEBHOOK_PATH = "/webhooks/razorpay"


def signature(raw: bytes, secret: str) -> str:
    """Razorpay's scheme, written out independently of the code under test."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


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
def published(effects: MotoStack) -> Published:
    """Every domain event published on the bus so far, as ``(detail-type, detail)``."""
    return effects.events


@pytest.fixture
def render_jobs(effects: MotoStack) -> RenderJobs:
    return effects.render_jobs


@pytest.fixture
def issue(repository: Invoices) -> Issue:
    """Seed an issued invoice (with its Razorpay invoice id and pointer); draft overrides allowed."""

    def make(**overrides: Any) -> Invoice:
        return repository.issue(draft(**overrides), now=NOW)

    return make


def idempotency_key(event_id: str) -> str:
    """Where Powertools keeps an event's record: the fixed prefix and the id's SHA-256 (pinned)."""
    from invoicing.wiring.webhook import IDEMPOTENCY_KEY_PREFIX

    return f"{IDEMPOTENCY_KEY_PREFIX}#{hashlib.sha256(json.dumps(event_id).encode()).hexdigest()}"


@pytest.fixture
def idempotency_records(resources: dict[str, str]) -> Records:
    """The stored idempotency record of an event id, read by its exact key (no scans)."""
    dynamodb = boto3.client("dynamodb")

    def read(event_id: str) -> dict[str, Any] | None:
        key = {"id": {"S": idempotency_key(event_id)}}
        item: dict[str, Any] | None = dynamodb.get_item(
            TableName=resources["IDEMPOTENCY_TABLE"], Key=key
        ).get("Item")
        return item

    return read


@pytest.fixture
def reviews(repository: Invoices) -> DynamoReviewStore:
    return repository.reviews
