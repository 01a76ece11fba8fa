"""Documents of invoices: which version has its PDF, bulk-download jobs and presigned links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from invoicing.domain.invoice import Invoice, InvoiceStatus


@dataclass(frozen=True)
class InvoiceDocument:
    """An invoice and the version of it whose PDF is stored (``None``: none yet)."""

    invoice: Invoice
    pdf_version: int | None
    pdf_failed_version: int | None = None  # a render of this version failed for good

    @property
    def pdf_is_current(self) -> bool:
        return self.pdf_version == self.invoice.version

    @property
    def pdf_failed(self) -> bool:
        return self.pdf_failed_version == self.invoice.version


RETRY_AFTER_SECONDS = 2  # what a 202 for a PDF not stored yet tells the client to wait


@dataclass(frozen=True)
class Rendering:
    """A document's PDF is not stored yet (being rendered, or waiting for its IRN): ask again later.
    The answer of every document's ``pdf_link`` besides the link itself."""

    document_id: str
    retry_after_seconds: int = RETRY_AFTER_SECONDS


class DownloadStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class Download:
    """A bulk download (a ZIP of up to 100 invoices' PDFs), built in the background."""

    id: str
    account_id: str
    invoice_ids: tuple[str, ...]
    status: DownloadStatus
    key: str
    created_at: datetime
    expires_at: datetime  # when the job (and its ZIP) is removed

    @property
    def count(self) -> int:
        return len(self.invoice_ids)


@dataclass(frozen=True)
class InvoiceOwner:
    """What deciding whether a caller may download an invoice needs: its account and status."""

    invoice_id: str
    account_id: str
    status: InvoiceStatus


@dataclass(frozen=True)
class DownloadLink:
    """A short-lived presigned GET that saves the object under ``filename``."""

    url: str
    expires_at: datetime
    filename: str


PDF = "application/pdf"
ZIP = "application/zip"
CSV = "text/csv"


def pdf_key(invoice: Invoice) -> str:
    """``pdfs/{account_id}/{invoice_id}/v{version}.pdf``: one object per printed version."""
    return f"pdfs/{invoice.account_id}/{invoice.id}/v{invoice.version}.pdf"


def pdf_filename(invoice: Invoice) -> str:
    """The name a customer saves it under: ``INV/2627/000042`` → ``INV-2627-000042.pdf``."""
    return f"{(invoice.invoice_number or invoice.id).replace('/', '-')}.pdf"


def export_key(account_id: str, download_id: str) -> str:
    """``exports/{account}/{download_id}.zip``: under the prefix the bucket's lifecycle expires."""
    return f"exports/{account_id}/{download_id}.zip"


def zip_filename(download_id: str) -> str:
    return f"invoices-{download_id}.zip"
