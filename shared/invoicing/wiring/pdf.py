"""The PDF renderer's object graph: settings, DynamoDB, S3 and the renderer for its assets."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from invoicing.adapters.aws import client
from invoicing.adapters.pdf import InvoicePdfRenderer
from invoicing.adapters.storage import DocumentStorage
from invoicing.config import PdfSettings, load
from invoicing.repository.documents import DocumentRepository
from invoicing.repository.downloads import DownloadRepository
from invoicing.services.rendering import ExportService, RenderService


@cache
def settings() -> PdfSettings:
    return load(PdfSettings)


@cache
def documents() -> DocumentRepository:
    return DocumentRepository(settings().invoices_table, client("dynamodb"))


@cache
def storage() -> DocumentStorage:
    return DocumentStorage(settings().pdf_bucket, client("s3"))


@cache
def renderer(assets: Path) -> InvoicePdfRenderer:
    return InvoicePdfRenderer(assets)


@cache
def render_service(assets: Path) -> RenderService:
    """``assets``: the folder holding ``templates/invoice.html`` and ``fonts/`` (the function's own)."""
    return RenderService(documents=documents(), renderer=renderer(assets), storage=storage())


@cache
def downloads() -> DownloadRepository:
    return DownloadRepository(settings().invoices_table, client("dynamodb"))


@cache
def export_service(assets: Path) -> ExportService:
    """Bulk downloads: ZIPs of the invoices' PDFs, rendering the missing ones with ``render_service``."""
    return ExportService(renders=render_service(assets), downloads=downloads(), storage=storage())


def reset() -> None:
    """Forget everything built (tests that change the environment between cases)."""
    from invoicing.adapters import aws

    for factory in (settings, documents, storage, renderer, render_service, downloads, export_service):
        factory.cache_clear()
    aws.reset()
