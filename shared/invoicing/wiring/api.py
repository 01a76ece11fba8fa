"""The invoice API's object graph: its services with their real adapters, built once per container.

Each factory imports its service (and the stores only it uses) when it first builds it, so a route
loads the services it calls, not the whole API's.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from invoicing.wiring import common

if TYPE_CHECKING:
    from invoicing.config import InvoiceSettings
    from invoicing.services.credit_note_documents import CreditNoteDocumentService
    from invoicing.services.credit_notes import CreditNoteService
    from invoicing.services.disputes import DisputeService
    from invoicing.services.documents import DocumentService
    from invoicing.services.einvoicing import EInvoiceService
    from invoicing.services.exports import CsvExportService
    from invoicing.services.invoices import InvoiceService
    from invoicing.services.statements import StatementService


def settings() -> InvoiceSettings:
    from invoicing.config import InvoiceSettings

    return common.settings(InvoiceSettings)


@cache
def invoice_service() -> InvoiceService:
    from invoicing.services.invoices import InvoiceService

    config = settings()
    return InvoiceService(
        invoices=common.invoice_store(config.invoices_table, config.cursor_secret_name),
        transactions=common.transactions(config.invoices_table),
        payments=common.payments(config),
        policy=common.policy(config),
        clock=common.clock(),
    )


@cache
def document_service() -> DocumentService:
    from invoicing.repository.documents import DynamoDocumentStore
    from invoicing.repository.downloads import DynamoDownloadStore
    from invoicing.services.documents import DocumentService

    config = settings()
    return DocumentService(
        documents=DynamoDocumentStore(common.table(config.invoices_table)),
        invoices=common.invoice_store(config.invoices_table, config.cursor_secret_name),
        downloads=DynamoDownloadStore(common.table(config.invoices_table)),
        links=common.storage(config.pdf_bucket),
        jobs=common.render_jobs(config.render_queue_url),
        clock=common.clock(),
    )


@cache
def einvoice_service() -> EInvoiceService:
    from invoicing.adapters import secrets
    from invoicing.repository.einvoices import DynamoEInvoiceStore
    from invoicing.services.einvoicing import EInvoiceService

    config = settings()
    return EInvoiceService(
        invoices=common.invoice_store(config.invoices_table, config.cursor_secret_name),
        credit_notes=common.credit_note_store(config.invoices_table, config.cursor_secret_name),
        transactions=common.transactions(config.invoices_table),
        listing=DynamoEInvoiceStore(
            common.table(config.invoices_table), secrets.signing_key(config.cursor_secret_name)
        ),
        clock=common.clock(),
    )


@cache
def credit_note_service() -> CreditNoteService:
    from invoicing.services.credit_notes import CreditNoteService
    from invoicing.services.einvoicing import IrnCancellation
    from invoicing.services.retry import Backoff

    config = settings()
    return CreditNoteService(
        invoices=common.invoice_store(config.invoices_table, config.cursor_secret_name),
        credit_notes=common.credit_note_store(config.invoices_table, config.cursor_secret_name),
        transactions=common.transactions(config.invoices_table),
        payments=common.payments(config),
        clock=common.clock(),
        backoff=Backoff(),
        e_invoices=IrnCancellation(irp=common.irp(config), clock=common.clock()),
        einvoicing=config.einvoicing,
    )


@cache
def dispute_service() -> DisputeService:
    from invoicing.services.disputes import DisputeService
    from invoicing.services.retry import Backoff

    config = settings()
    return DisputeService(
        invoices=common.invoice_store(config.invoices_table, config.cursor_secret_name),
        transactions=common.transactions(config.invoices_table),
        credits=credit_note_service(),
        clock=common.clock(),
        backoff=Backoff(),
    )


@cache
def credit_note_document_service() -> CreditNoteDocumentService:
    from invoicing.services.credit_note_documents import CreditNoteDocumentService

    config = settings()
    return CreditNoteDocumentService(
        credit_notes=common.credit_note_store(config.invoices_table, config.cursor_secret_name),
        links=common.storage(config.pdf_bucket),
        jobs=common.render_jobs(config.render_queue_url),
        requests=common.render_requests(config.invoices_table),
        clock=common.clock(),
    )


@cache
def csv_export_service() -> CsvExportService:
    """``GET /invoices/export.csv``: inline while small, else streamed to the bucket's exports/."""
    from invoicing.services.exports import CsvExportService

    config = settings()
    return CsvExportService(
        invoices=invoice_service(),
        storage=common.storage(config.pdf_bucket),
        clock=common.clock(),
        inline_limit=config.csv_inline_limit_bytes,
    )


@cache
def statement_service() -> StatementService:
    from invoicing.repository.ledger import DynamoLedger
    from invoicing.repository.statements import DynamoStatementStore
    from invoicing.services.statements import StatementService

    config = settings()
    table = common.table(config.invoices_table)
    return StatementService(
        statements=DynamoStatementStore(table),
        invoices=common.invoice_store(config.invoices_table, config.cursor_secret_name),
        ledger=DynamoLedger(table),
        jobs=common.render_jobs(config.render_queue_url),
        links=common.storage(config.pdf_bucket),
        clock=common.clock(),
    )


def reset() -> None:
    """Forget the services and everything they were built from (tests that change the environment)."""
    for factory in (
        invoice_service,
        document_service,
        credit_note_service,
        dispute_service,
        credit_note_document_service,
        einvoice_service,
        csv_export_service,
        statement_service,
    ):
        factory.cache_clear()
    from invoicing.wiring import wallet  # the wallet's services, built by its own wiring module

    wallet.forget()
    common.reset()
