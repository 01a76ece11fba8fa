"""Render invoice PDFs: the render queue's use case.

A job names an invoice and the version that asked for a PDF. The PDF is always of the invoice *as
it is now*: a job for an older version renders the current one, unless that is already stored,
in which case there is nothing to do. The object is keyed by account, invoice and version, and
rendering is deterministic, so a repeated job (SQS delivers at least once) writes the same bytes
to the same key. After the upload the invoice records which version has its PDF
(``pdf_version``), which is what ``GET /invoices/{id}/pdf`` reads.

A download job (``POST /invoices/downloads``) names a stored job: its ZIP is streamed to S3 (a
multipart upload, one part in memory at a time), one PDF per invoice named by invoice number. A
stored PDF of the current version is copied in chunks; a missing one is rendered, stored and
recorded exactly as a single job would, then written into the ZIP. The job then turns ``ready``;
a permanent problem (an invoice gone, a draft, another account's) turns it ``failed`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from invoicing.domain.documents import (
    PDF,
    Download,
    DownloadStatus,
    InvoiceDocument,
    pdf_filename,
    pdf_key,
    zip_filename,
)
from invoicing.domain.einvoice import AWAITING, EInvoiceStatus
from invoicing.domain.errors import ConflictError, InvalidTransitionError, NotFoundError
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.services.ports import DocumentStorage, DocumentStore, DownloadStore, Renderer


class Outcome(StrEnum):
    RENDERED = "rendered"  # uploaded and recorded as the invoice's current PDF
    ALREADY_RENDERED = "already_rendered"  # the current version's PDF was already stored
    SUPERSEDED = "superseded"  # uploaded but not recorded: a concurrent job recorded the same
    # version (or a later one) first
    AWAITING_IRN = "awaiting_irn"  # e-invoicing: nothing rendered until the IRN is there
    FAILED = "failed"  # the renderer failed on this version: recorded as failed for good


class UnrenderableError(Exception):
    """The renderer failed on this invoice: it would fail the same way on every attempt."""

    def __init__(self, invoice_id: str, reason: str) -> None:
        super().__init__(f"Invoice {invoice_id} cannot be rendered: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Rendition:
    invoice_id: str
    version: int
    key: str
    outcome: Outcome


@dataclass
class RenderService:
    documents: DocumentStore
    renderer: Renderer
    storage: DocumentStorage

    def render(self, invoice_id: str, version: int) -> Rendition:
        """Make sure the PDF of the invoice as it is now is stored (the job named ``version``).

        Raises ``NotFoundError`` for an unknown invoice, ``InvalidTransitionError`` for a draft
        (drafts have no PDF) and ``ConflictError`` for a job newer than the stored invoice (a
        consistent read never sees that, so it is retried and ends in the dead-letter queue).
        """
        document = self.documents.get(invoice_id)
        invoice = document.invoice
        if invoice.status is InvoiceStatus.DRAFT:
            raise InvalidTransitionError(
                "render", invoice.status, f"Invoice {invoice_id} is a draft; drafts have no PDF."
            )
        if version > invoice.version:
            raise ConflictError(
                f"The render job names version {version} of invoice {invoice_id}, "
                f"but the stored invoice is at version {invoice.version}."
            )
        if document.pdf_is_current:
            return Rendition(invoice.id, invoice.version, pdf_key(invoice), Outcome.ALREADY_RENDERED)
        if invoice.e_invoice is not None and invoice.e_invoice.status in AWAITING | {EInvoiceStatus.FAILED}:
            return Rendition(invoice.id, invoice.version, pdf_key(invoice), Outcome.AWAITING_IRN)
        try:
            _, rendition = self.store(invoice)
        except UnrenderableError as exc:
            # The same invoice fails the same way every time: retrying cannot help.
            self.documents.mark_failed(invoice.id, invoice.version, exc.reason)
            return Rendition(invoice.id, invoice.version, pdf_key(invoice), Outcome.FAILED)
        return rendition

    def store(self, invoice: Invoice) -> tuple[bytes, Rendition]:
        """Render ``invoice``, upload it at its versioned key and record it; the bytes too.

        ``UnrenderableError`` when the renderer (the invoice, the template and the fonts in, bytes
        out) fails on it other than by an ``OSError`` (a file or the network: may pass); errors of
        the upload or the table are raised as they are.
        """
        key = pdf_key(invoice)
        try:
            body = self.renderer.render(invoice)
        except OSError:
            raise
        except Exception as exc:  # the same invoice fails the same way on every attempt
            raise UnrenderableError(invoice.id, f"{type(exc).__name__}: {exc}"[:500]) from exc
        self.storage.put(key, body, filename=pdf_filename(invoice), content_type=PDF)
        recorded = self.documents.mark_rendered(invoice.id, invoice.version)
        outcome = Outcome.RENDERED if recorded else Outcome.SUPERSEDED
        return body, Rendition(invoice.id, invoice.version, key, outcome)


class ExportOutcome(StrEnum):
    READY = "ready"
    FAILED = "failed"
    ALREADY_DONE = "already_done"  # a repeated message for a finished job


@dataclass(frozen=True)
class Export:
    download_id: str
    outcome: ExportOutcome
    count: int
    rendered: int  # PDFs that had to be rendered on the way


class DownloadUnavailableError(InvalidTransitionError):
    """An invoice of the job can no longer go into it (gone, a draft, another account's)."""

    def __init__(self, message: str) -> None:
        super().__init__("download", "unavailable", message)


@dataclass
class ExportService:
    """Builds a bulk download's ZIP, streamed straight to S3."""

    renders: RenderService
    downloads: DownloadStore
    storage: DocumentStorage

    def export(self, download_id: str) -> Export:
        """Write the job's ZIP and mark it ready (or failed on a permanent error).

        Transient failures (S3, DynamoDB) raise: the multipart upload is aborted, the job stays
        pending, and the message returns to the queue.
        """
        download = self.downloads.get(download_id)
        if download.status is not DownloadStatus.PENDING:
            return Export(download.id, ExportOutcome.ALREADY_DONE, download.count, 0)
        import zipfile  # only download jobs need it

        rendered = 0
        try:
            with (
                self.storage.upload_stream(download.key, filename=zip_filename(download.id)) as out,
                zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED) as archive,
            ):
                for invoice_id in download.invoice_ids:
                    document = self._document(download, invoice_id)
                    with archive.open(pdf_filename(document.invoice), mode="w") as entry:
                        for chunk in self._pdf(document):
                            entry.write(chunk)
                    rendered += not document.pdf_is_current
        except DownloadUnavailableError as exc:
            self.downloads.finish(download.id, DownloadStatus.FAILED, reason=exc.message)
            return Export(download.id, ExportOutcome.FAILED, download.count, rendered)
        self.downloads.finish(download.id, DownloadStatus.READY)
        return Export(download.id, ExportOutcome.READY, download.count, rendered)

    def _document(self, download: Download, invoice_id: str) -> InvoiceDocument:
        try:
            document = self.renders.documents.get(invoice_id)
        except NotFoundError:
            raise DownloadUnavailableError(f"Invoice {invoice_id} no longer exists.") from None
        invoice = document.invoice
        if invoice.account_id != download.account_id or invoice.status is InvoiceStatus.DRAFT:
            raise DownloadUnavailableError(f"Invoice {invoice_id} cannot be downloaded.")
        if invoice.e_invoice is not None and invoice.e_invoice.status in AWAITING | {EInvoiceStatus.FAILED}:
            raise DownloadUnavailableError(f"Invoice {invoice_id} has no IRN yet; its PDF cannot be printed.")
        return document

    def _pdf(self, document: InvoiceDocument) -> Iterator[bytes]:
        """The stored PDF of the current version in chunks, or, if there is none, a fresh one."""
        if document.pdf_is_current:
            yield from self.storage.stream(pdf_key(document.invoice))
        else:
            body, _ = self.renders.store(document.invoice)
            yield body
