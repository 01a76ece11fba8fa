"""What every function shares: settings, the repository, events, the render queue."""

from __future__ import annotations

from functools import cache

from invoicing.adapters import secrets
from invoicing.adapters.aws import client
from invoicing.adapters.events import EventBridgePublisher
from invoicing.adapters.render_queue import SqsRenderQueue
from invoicing.config import InvoiceSettings, invoice_settings
from invoicing.repository.invoices import InvoiceRepository
from invoicing.services.invoices import InvoicePolicy


@cache
def repository() -> InvoiceRepository:
    settings = invoice_settings()
    return InvoiceRepository(
        settings.invoices_table,
        client("dynamodb"),
        cursor_key=secrets.signing_key(settings.cursor_secret_name),
    )


def policy(settings: InvoiceSettings | None = None) -> InvoicePolicy:
    settings = settings or invoice_settings()
    return InvoicePolicy(
        prefix=settings.invoice_number_prefix,
        supplier=settings.supplier_json,
        payment_terms_days=settings.payment_terms_days,
        reminder_days=settings.reminder_days_past_due,
        grace_period_days=settings.grace_period_days,
    )


@cache
def events() -> EventBridgePublisher:
    return EventBridgePublisher(invoice_settings().event_bus_name, client("events"))


@cache
def renders() -> SqsRenderQueue:
    return SqsRenderQueue(invoice_settings().render_queue_url, client("sqs"))


def reset() -> None:
    """Forget everything built (tests that change the environment between cases)."""
    from invoicing.adapters import aws

    for factory in (repository, events, renders):
        factory.cache_clear()
    invoice_settings.cache_clear()
    secrets.reset()
    aws.reset()
