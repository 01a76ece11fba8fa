"""The outbox dispatcher's composition root."""

from __future__ import annotations

from invoicing.config import OutboxSettings
from invoicing.repository.outbox import DynamoOutbox
from invoicing.services.outbox import OutboxDispatcher
from invoicing.services.payment_links import PaymentLinkService
from invoicing.services.retry import Backoff
from invoicing.wiring import common


def settings() -> OutboxSettings:
    return common.settings(OutboxSettings)


def dispatcher() -> OutboxDispatcher:
    """A new dispatcher per invocation (it carries the invocation's report); adapters are shared."""
    config = settings()
    return OutboxDispatcher(
        outbox=DynamoOutbox(common.table(config.invoices_table)),
        invoices=common.invoice_store(config.invoices_table),
        events=common.events(config.event_bus_name),
        renders=common.render_jobs(config.render_queue_url),
        mailer=common.mailer(config.ses_sender),
        payments=common.payments(config),
        links=PaymentLinkService(
            invoices=common.invoice_store(config.invoices_table),
            transactions=common.transactions(config.invoices_table),
            payments=common.payments(config),
            clock=common.clock(),
            backoff=Backoff(),
        ),
        metrics=common.counter(),
        clock=common.clock(),
        einvoices=common.einvoice_jobs(config.einvoice_queue_url),
    )


def reset() -> None:
    common.reset()
