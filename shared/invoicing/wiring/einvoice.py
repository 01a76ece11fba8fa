"""The e-invoice registrar's composition root."""

from __future__ import annotations

from functools import cache

from invoicing.config import RegistrarSettings
from invoicing.services.einvoicing import EInvoicePolicy, EInvoiceRegistrar
from invoicing.services.retry import Backoff
from invoicing.wiring import common


def settings() -> RegistrarSettings:
    return common.settings(RegistrarSettings)


@cache
def registrar() -> EInvoiceRegistrar:
    config = settings()
    return EInvoiceRegistrar(
        invoices=common.invoice_store(config.invoices_table),
        credit_notes=common.credit_note_store(config.invoices_table),
        transactions=common.transactions(config.invoices_table),
        irp=common.irp(config),
        jobs=common.einvoice_jobs(config.einvoice_queue_url),
        policy=EInvoicePolicy(
            mode=config.einvoicing,
            aato_above_10_crore=config.aato_above_10_crore,
            retry_base_seconds=config.einvoice_retry_base_seconds,
            retry_cap_seconds=config.einvoice_retry_cap_seconds,
            max_attempts=config.einvoice_max_attempts,
        ),
        clock=common.clock(),
        backoff=Backoff(),
    )


def reset() -> None:
    registrar.cache_clear()
    common.reset()
