"""Invoice documents for the API: the PDF link of one invoice, and bulk-download jobs (ZIPs).

Who may see what is ``Caller.can_see`` — the same rule ``InvoiceService.get`` applies: another
account's invoice (or download) is not found, and customers never see drafts. Reading an invoice
for its PDF is one ``GetItem`` (the invoice with its ``pdf_version``); when the PDF of the current
version is not stored yet, a render job is queued (at-least-once: rendering twice writes the same
object) and the caller is told to come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from invoicing.adapters.storage import PDF, ZIP, DownloadLink
from invoicing.domain.errors import DomainValidationError, InvalidTransitionError, NotFoundError
from invoicing.domain.invoice import Invoice, InvoiceStatus, new_id
from invoicing.repository.documents import InvoiceDocument
from invoicing.repository.downloads import Download, DownloadStatus, InvoiceOwner
from invoicing.services.invoices import Caller
from invoicing.services.rendering import export_key, filename, pdf_key, zip_filename

DOWNLOAD_RETENTION = timedelta(days=7)  # the bucket's lifecycle rule expires exports/ after 7 days
RETRY_AFTER_SECONDS = 2


class Documents(Protocol):
    def get(self, invoice_id: str) -> InvoiceDocument: ...


class Downloads(Protocol):
    def owners(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceOwner]: ...

    def create(self, download: Download) -> Download: ...

    def get(self, download_id: str) -> Download: ...


class Links(Protocol):
    def download_link(
        self, key: str, *, filename: str, content_type: str = ..., now: datetime | None = None
    ) -> DownloadLink: ...


class Jobs(Protocol):
    def enqueue(self, invoice: Invoice) -> None: ...

    def enqueue_download(self, download_id: str) -> None: ...


@dataclass(frozen=True)
class Rendering:
    """The PDF of the invoice as it is now is not stored yet; a render job is queued."""

    invoice_id: str
    retry_after_seconds: int = RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class DownloadState:
    download: Download
    link: DownloadLink | None  # only when ready


@dataclass
class DocumentService:
    documents: Documents
    downloads: Downloads
    storage: Links
    jobs: Jobs

    def pdf_link(self, caller: Caller, invoice_id: str, now: datetime) -> DownloadLink | Rendering:
        """A short-lived link to the current version's PDF, or ``Rendering`` after queueing it."""
        try:
            document = self.documents.get(invoice_id)
        except NotFoundError:
            raise NotFoundError(f"No invoice {invoice_id}.") from None
        invoice = document.invoice
        if not caller.can_see(invoice):
            raise NotFoundError(f"No invoice {invoice_id}.")
        if invoice.status is InvoiceStatus.DRAFT:
            raise InvalidTransitionError(
                "download", invoice.status, f"Invoice {invoice_id} is a draft; drafts have no PDF."
            )
        if not document.pdf_is_current:
            self.jobs.enqueue(invoice)
            return Rendering(invoice.id)
        return self.storage.download_link(
            pdf_key(invoice), filename=filename(invoice), content_type=PDF, now=now
        )

    def request_download(self, caller: Caller, invoice_ids: Sequence[str], now: datetime) -> Download:
        """Store a pending ZIP job for ``invoice_ids`` and queue it. Nothing is stored on a refusal."""
        owners = self.downloads.owners(invoice_ids)
        for index, invoice_id in enumerate(invoice_ids):
            owner = owners.get(invoice_id)
            if owner is None or not caller.can_see(owner):
                raise NotFoundError(
                    f"No invoice {invoice_id}.",
                    [{"loc": ["body", "invoice_ids", index], "msg": f"no invoice {invoice_id}"}],
                )
            if owner.status is InvoiceStatus.DRAFT:
                raise InvalidTransitionError(
                    "download", owner.status, f"Invoice {invoice_id} is a draft; drafts have no PDF."
                )
        accounts = sorted({owners[invoice_id].account_id for invoice_id in invoice_ids})
        if len(accounts) != 1:
            raise DomainValidationError(
                "invoice_ids: name invoices of one account.",
                [{"loc": ["body", "invoice_ids"], "msg": "name invoices of one account"}],
            )
        download_id = new_id("dl")
        download = self.downloads.create(
            Download(
                id=download_id,
                account_id=accounts[0],
                invoice_ids=tuple(invoice_ids),
                status=DownloadStatus.PENDING,
                key=export_key(accounts[0], download_id),
                created_at=now,
                expires_at=now + DOWNLOAD_RETENTION,
            )
        )
        self.jobs.enqueue_download(download.id)
        return download

    def download(self, caller: Caller, download_id: str, now: datetime) -> DownloadState:
        """The job if this caller may see it, with a short-lived link to its ZIP once ready."""
        try:
            download = self.downloads.get(download_id)
        except NotFoundError:
            raise NotFoundError(f"No download {download_id}.") from None
        if not caller.is_operator and download.account_id != caller.account_id:
            raise NotFoundError(f"No download {download_id}.")
        if download.status is not DownloadStatus.READY:
            return DownloadState(download, None)
        link = self.storage.download_link(
            download.key, filename=zip_filename(download.id), content_type=ZIP, now=now
        )
        return DownloadState(download, link)
