"""Billing's object graph: the API's billing services and the billing function's run service."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from invoicing.adapters.aws import client
from invoicing.config import BillingRunSettings, ConfigurationError, InvoiceSettings
from invoicing.wiring import common

if TYPE_CHECKING:
    from invoicing.adapters.billing_queue import SqsBillingQueue
    from invoicing.repository.billing import DynamoBillingStore
    from invoicing.services.billing import BillingRunService, BillingService


@cache
def store(table_name: str) -> DynamoBillingStore:
    from invoicing.repository.billing import DynamoBillingStore

    return DynamoBillingStore(common.table(table_name))


@cache
def queue(queue_url: str) -> SqsBillingQueue:
    from invoicing.adapters.billing_queue import SqsBillingQueue

    return SqsBillingQueue(queue_url, client("sqs"))


# ---------------------------------------------------------------------------------- invoice API
@cache
def billing_service() -> BillingService:
    from invoicing.services.billing import BillingService

    config = common.settings(InvoiceSettings)
    return BillingService(
        store=store(config.invoices_table),
        transactions=common.transactions(config.invoices_table),
        clock=common.clock(),
    )


@cache
def billing_run_service() -> BillingRunService:
    """The API's: it starts runs (their planning goes to the billing queue) and reads them."""
    config = common.settings(InvoiceSettings)
    if not config.billing_queue_url:
        raise ConfigurationError("InvoiceSettings is not configured: BILLING_QUEUE_URL is missing")
    return _runs(config, config.billing_queue_url)


# ------------------------------------------------------------------------------ billing function
def settings() -> BillingRunSettings:
    return common.settings(BillingRunSettings)


@cache
def run_service() -> BillingRunService:
    config = settings()
    return _runs(config, config.billing_queue_url)


def _runs(config: InvoiceSettings, queue_url: str) -> BillingRunService:
    from invoicing.services.billing import BillingRunService
    from invoicing.services.invoices import InvoiceService
    from invoicing.wiring import wallet  # prepaid accounts' settlement from advances

    invoices = InvoiceService(
        invoices=common.invoice_store(config.invoices_table),
        transactions=common.transactions(config.invoices_table),
        payments=common.payments(config),
        policy=common.policy(config),
        clock=common.clock(),
    )
    return BillingRunService(
        store=store(config.invoices_table),
        transactions=common.transactions(config.invoices_table),
        invoices=invoices,
        advances=wallet.advance_settlement(config),
        queue=queue(queue_url),
        metrics=common.counter(),
        clock=common.clock(),
    )


def reset() -> None:
    for factory in (store, queue, billing_service, billing_run_service, run_service):
        factory.cache_clear()
    from invoicing.wiring import wallet

    wallet.forget()
    common.reset()
