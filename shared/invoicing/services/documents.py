"""Invoice documents for the API: the PDF link of one invoice, and bulk-download jobs (ZIPs).

Who may see what is ``Caller.can_see`` — the same rule ``InvoiceService.get`` applies: another
account's invoice (or download) is not found, and customers never see drafts. Reading an invoice
for its PDF is one read (the invoice with its render state); when the PDF of the current version
is not stored yet, a render job is queued (at-least-once: rendering twice writes the same object)
and the caller is told to come back. Polling queues one job per version, not one per request (a
request older than ``RENDER_AGAIN_AFTER`` is taken as lost and queued again); a version whose
render failed for good is a 409 (``invalid_state``) until the invoice changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from invoicing.domain.access import Caller
from invoicing.domain.documents import (
    PDF,
    ZIP,
    Download,
    DownloadLink,
    DownloadStatus,
    Rendering,
    export_key,
    pdf_filename,
    pdf_key,
    zip_filename,
)
from invoicing.domain.einvoice import printable
from invoicing.domain.errors import DomainValidationError, InvalidTransitionError, NotFoundError
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import InvoiceStatus
from invoicing.services.ports import Clock, DocumentStore, DownloadStore, InvoiceStore, Links, RenderJobs

DOWNLOAD_RETENTION = timedelta(days=7)  # the bucket's lifecycle rule expires exports/ after 7 days
# A render request older than this is queued again: the render queue retries a job for about
# five visibility timeouts (the template's 6 minutes each) before it dead-letters it.
RENDER_AGAIN_AFTER = timedelta(minutes=35)


_DOCUMENT_NAMES = {"invoice": "invoice", "credit_note": "credit note", "receipt": "receipt voucher"}


class RenderFailedError(InvalidTransitionError):
    """The PDF of a document as it is now could not be rendered, and will not be retried."""

    def __init__(self, document_id: str, document: str = "invoice") -> None:
        again = "it is rendered again when the invoice changes. " if document == "invoice" else ""
        super().__init__(
            "download",
            "render_failed",
            f"The PDF of {_DOCUMENT_NAMES[document]} {document_id} could not be rendered; {again}"
            "Contact support if this persists.",
        )


@dataclass(frozen=True)
class DownloadState:
    download: Download
    link: DownloadLink | None  # only when ready


@dataclass
class DocumentService:
    documents: DocumentStore
    invoices: InvoiceStore
    downloads: DownloadStore
    links: Links
    jobs: RenderJobs
    clock: Clock

    def pdf_link(self, caller: Caller, invoice_id: str) -> DownloadLink | Rendering:
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
        if not printable(invoice.e_invoice, invoice.id, invoice.status):
            return Rendering(invoice.id)  # e-invoicing: the PDF waits for the IRN (202)
        if document.pdf_failed and not document.pdf_is_current:
            raise RenderFailedError(invoice.id)
        if not document.pdf_is_current:
            if self.documents.request_render(
                invoice.id, invoice.version, self.clock(), again_after=RENDER_AGAIN_AFTER
            ):
                self.jobs.enqueue("invoice", invoice.id, invoice.version)
            return Rendering(invoice.id)
        return self.links.download_link(
            pdf_key(invoice), filename=pdf_filename(invoice), content_type=PDF, now=self.clock()
        )

    def request_download(self, caller: Caller, invoice_ids: Sequence[str]) -> Download:
        """Store a pending ZIP job for ``invoice_ids`` and queue it. Nothing is stored on a refusal."""
        now = self.clock()
        owners = self.invoices.owners(invoice_ids)
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

    def download(self, caller: Caller, download_id: str) -> DownloadState:
        """The job if this caller may see it, with a short-lived link to its ZIP once ready."""
        try:
            download = self.downloads.get(download_id)
        except NotFoundError:
            raise NotFoundError(f"No download {download_id}.") from None
        if not caller.owns(download.account_id):
            raise NotFoundError(f"No download {download_id}.")
        if download.status is not DownloadStatus.READY:
            return DownloadState(download, None)
        link = self.links.download_link(
            download.key, filename=zip_filename(download.id), content_type=ZIP, now=self.clock()
        )
        return DownloadState(download, link)
