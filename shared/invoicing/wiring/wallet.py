"""Prepaid wallets' object graph: the API's top-ups and receipt links, the webhook's top-up
payments, the billing run's settlement from advances and the renderer's receipt vouchers."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from invoicing.config import InvoiceSettings, PdfSettings, WebhookSettings
from invoicing.repository.billing import DynamoBillingStore
from invoicing.repository.reviews import DynamoReviewStore
from invoicing.repository.wallet import DynamoWalletStore
from invoicing.services.receipts import ReceiptDocumentService, ReceiptRenderService
from invoicing.services.retry import Backoff
from invoicing.services.wallet import AdvanceSettlementService, TopUpPaymentService, WalletService
from invoicing.wiring import common


@cache
def store(table_name: str, cursor_secret_name: str | None = None) -> DynamoWalletStore:
    """The wallets; with a cursor secret it can list top-ups (the key signs page cursors)."""
    from invoicing.adapters import secrets

    key = secrets.signing_key(cursor_secret_name) if cursor_secret_name else None
    return DynamoWalletStore(common.table(table_name), cursor_key=key)


# ---------------------------------------------------------------------------------- invoice API
@cache
def wallet_service() -> WalletService:
    config = common.settings(InvoiceSettings)
    return WalletService(
        wallets=store(config.invoices_table, config.cursor_secret_name),
        profiles=DynamoBillingStore(common.table(config.invoices_table)),
        transactions=common.transactions(config.invoices_table),
        links=common.payments(config),
        supplier=config.supplier_json,
        clock=common.clock(),
    )


@cache
def receipt_document_service() -> ReceiptDocumentService:
    config = common.settings(InvoiceSettings)
    return ReceiptDocumentService(
        wallets=store(config.invoices_table),
        links=common.storage(config.pdf_bucket),
        jobs=common.render_jobs(config.render_queue_url),
        requests=common.render_requests(config.invoices_table),
        clock=common.clock(),
    )


# ------------------------------------------------------------------------------------- webhook
@cache
def top_up_payments() -> TopUpPaymentService:
    config = common.settings(WebhookSettings)
    return TopUpPaymentService(
        wallets=store(config.invoices_table),
        transactions=common.transactions(config.invoices_table),
        reviews=DynamoReviewStore(common.table(config.invoices_table)),
        clock=common.clock(),
        backoff=Backoff(),
    )


# --------------------------------------------------------------------------------- billing run
def advance_settlement(config: InvoiceSettings) -> AdvanceSettlementService:
    return _settlement(config.invoices_table)


@cache
def _settlement(table_name: str) -> AdvanceSettlementService:
    return AdvanceSettlementService(
        invoices=common.invoice_store(table_name),
        wallets=store(table_name),
        transactions=common.transactions(table_name),
        clock=common.clock(),
        backoff=Backoff(),
    )


# ---------------------------------------------------------------------------------- renderer
@cache
def receipt_render_service(assets: Path) -> ReceiptRenderService:
    """Receipt vouchers' PDFs, with the invoice renderer's pipeline (``templates/receipt.html``)."""
    from invoicing.adapters.pdf_receipt import ReceiptPdfRenderer  # the renderer's only
    from invoicing.wiring import pdf

    config = common.settings(PdfSettings)
    return ReceiptRenderService(
        wallets=store(config.invoices_table),
        renderer=ReceiptPdfRenderer(assets, pdf.renderer(assets)),
        storage=common.storage(config.pdf_bucket),
        requests=common.render_requests(config.invoices_table),
    )


def forget() -> None:
    """Forget this module's services (every function's ``reset`` calls it)."""
    for factory in (
        store,
        wallet_service,
        receipt_document_service,
        top_up_payments,
        _settlement,
        receipt_render_service,
    ):
        factory.cache_clear()


def reset() -> None:
    """Forget everything built (tests that change the environment between cases)."""
    forget()
    common.reset()
