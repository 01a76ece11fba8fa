"""Composition of the Razorpay webhook: receiver → (idempotent on the event id) → the notice's use
case: a wallet top-up's payment link (``TopUpPaymentService``) or an invoice (``PaymentService``).

De-duplication is two layers deep:

1. Powertools idempotency on the ``IdempotencyTable``, keyed on ``X-Razorpay-Event-Id`` under a
   fixed key prefix (``razorpay-webhook-event#<sha256 of the id>``), so renaming or moving code
   never changes the keys. Records live ``IDEMPOTENCY_TTL_SECONDS`` = 30 days: longer than
   Razorpay's automatic retries (24 h from the event's creation) and its dashboard replays (events
   up to 7 days old), with room for a support-assisted replay of an older one. A replayed event
   answers ``duplicate`` (the stored answer is not echoed: the first one said ``processed``).
2. Every state change is a conditional write (see ``services.payments``), so a replay after the
   record has expired, or the same payment through another event type, still changes nothing.

A transient failure raises out of the idempotent function; Powertools then deletes the in-progress
record before the handler answers 5xx, so Razorpay's retry is processed afresh. The in-progress
record expires with the invocation (the Lambda context is registered on every call), so a timed-out
attempt does not block the retry either.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from invoicing.adapters import secrets
from invoicing.adapters.aws import client
from invoicing.adapters.razorpay_webhooks import RazorpayWebhookReceiver
from invoicing.config import WebhookSettings
from invoicing.repository.reviews import DynamoReviewStore
from invoicing.services.payments import Outcome, OutcomeStatus, PaymentService
from invoicing.services.retry import Backoff
from invoicing.services.wallet import NoticeRouter
from invoicing.wiring import common, wallet

IDEMPOTENCY_KEY_PREFIX = "razorpay-webhook-event"
IDEMPOTENCY_TTL_SECONDS = 30 * 24 * 3600


def settings() -> WebhookSettings:
    return common.settings(WebhookSettings)


@cache
def payment_service() -> PaymentService:
    """The webhook never lists invoices, so its store has no cursor key (and no grant to read one)."""
    config = settings()
    return PaymentService(
        invoices=common.invoice_store(config.invoices_table),
        transactions=common.transactions(config.invoices_table),
        reviews=DynamoReviewStore(common.table(config.invoices_table)),
        clock=common.clock(),
        backoff=Backoff(),
    )


def notices() -> NoticeRouter:
    """Every notice: a top-up's payment link to the wallet, the rest to the invoices (built with the
    receiver, once; not cached of its own, so forgetting ``payment_service`` and the receiver is
    enough for a new one)."""
    return NoticeRouter(invoices=payment_service(), top_ups=wallet.top_up_payments())


@cache
def idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="event_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        hash_function="sha256",
        response_hook=_replayed,
    )


def _replayed(response: Any, idempotent_data: DataRecord) -> Outcome:
    """An event id seen before: the answer is ``duplicate`` whatever the first answer was."""
    invoice_id = response.invoice_id if isinstance(response, Outcome) else None
    return Outcome(status=OutcomeStatus.DUPLICATE, invoice_id=invoice_id)


@cache
def _receiver() -> RazorpayWebhookReceiver[Outcome]:
    persistence = DynamoDBPersistenceLayer(
        table_name=settings().idempotency_table, boto3_client=client("dynamodb")
    )
    process = idempotent_function(
        notices().handle,
        data_keyword_argument="notice",
        persistence_store=persistence,
        config=idempotency_config(),
        output_serializer=PydanticSerializer(Outcome),
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    return RazorpayWebhookReceiver(secrets=_webhook_secrets, process=process)


def _webhook_secrets() -> list[str | None]:
    """Current and previous webhook secret (Powertools Parameters, cached in the warm container)."""
    credentials = secrets.razorpay_credentials(settings().razorpay_secret_name)
    return [credentials.webhook_secret, credentials.previous_webhook_secret]


def receiver(lambda_context: Any | None = None) -> RazorpayWebhookReceiver[Outcome]:
    """The receiver, with this invocation's context registered (in-progress records expire with it)."""
    if lambda_context is not None:
        idempotency_config().register_lambda_context(lambda_context)
    return _receiver()


def reset() -> None:
    """Forget everything built (tests that change the environment between cases)."""
    for factory in (payment_service, idempotency_config, _receiver):
        factory.cache_clear()
    wallet.forget()
    common.reset()
