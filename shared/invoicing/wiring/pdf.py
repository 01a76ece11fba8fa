"""The PDF renderer's object graph: settings, DynamoDB, S3 and the renderer for its assets."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from invoicing.adapters.pdf import InvoicePdfRenderer
from invoicing.adapters.pdf_statement import StatementPdfRenderer
from invoicing.config import PdfSettings, StatementSettings
from invoicing.repository.documents import DynamoDocumentStore
from invoicing.repository.downloads import DynamoDownloadStore
from invoicing.repository.ledger import DynamoLedger
from invoicing.repository.ledger_rebuild import DynamoLedgerHistory
from invoicing.repository.statements import DynamoStatementStore
from invoicing.services.credit_note_documents import CreditNoteRenderService
from invoicing.services.ledger_backfill import LedgerBackfill
from invoicing.services.rendering import ExportService, RenderService
from invoicing.services.retry import Backoff
from invoicing.services.statements import StatementRenderService
from invoicing.wiring import common, wallet


def settings() -> PdfSettings:
    return common.settings(PdfSettings)


@cache
def renderer(assets: Path) -> InvoicePdfRenderer:
    return InvoicePdfRenderer(assets)


@cache
def render_service(assets: Path) -> RenderService:
    """``assets``: the folder holding ``templates/invoice.html`` and ``fonts/`` (the function's own)."""
    config = settings()
    return RenderService(
        documents=DynamoDocumentStore(common.table(config.invoices_table)),
        renderer=renderer(assets),
        storage=common.storage(config.pdf_bucket),
    )


@cache
def credit_note_render_service(assets: Path) -> CreditNoteRenderService:
    """Credit notes' PDFs, with the same renderer (its ``templates/credit_note.html``)."""
    config = settings()
    return CreditNoteRenderService(
        credit_notes=common.credit_note_store(config.invoices_table),
        renderer=renderer(assets),
        storage=common.storage(config.pdf_bucket),
        requests=common.render_requests(config.invoices_table),
    )


@cache
def export_service(assets: Path) -> ExportService:
    """Bulk downloads: ZIPs of the invoices' PDFs, rendering the missing ones with ``render_service``."""
    config = settings()
    return ExportService(
        renders=render_service(assets),
        downloads=DynamoDownloadStore(common.table(config.invoices_table)),
        storage=common.storage(config.pdf_bucket),
    )


@cache
def statement_service(assets: Path) -> StatementRenderService:
    """Statements of account: the ledger's range, printed with ``templates/statement.html``; an
    account whose ledger is incomplete is backfilled first."""
    config = common.settings(StatementSettings)
    table = common.table(config.invoices_table)
    return StatementRenderService(
        statements=DynamoStatementStore(table),
        ledger=DynamoLedger(table),
        backfill=LedgerBackfill(
            history=DynamoLedgerHistory(table), backoff=Backoff(attempts=4, cap_seconds=1.0)
        ),
        renderer=StatementPdfRenderer(assets, renderer(assets)),
        storage=common.storage(config.pdf_bucket),
        supplier=config.supplier_json,
        clock=common.clock(),
    )


def reset() -> None:
    """Forget everything built (tests that change the environment between cases)."""
    for factory in (renderer, render_service, credit_note_render_service, export_service, statement_service):
        factory.cache_clear()
    wallet.forget()
    common.reset()
