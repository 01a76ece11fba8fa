"""Jobs whose message ended in the render queue's dead-letter queue: they will never be done.

SQS moves a render-queue message to the dead-letter queue after five failed receives. The job it
named would stay ``pending`` forever — a customer polling ``GET /invoices/downloads/{id}`` or
``GET /statements/{id}`` would never hear. The dead-letter consumer turns such a job ``failed``
(only if it is still pending: a job that did finish stays as it is). An invoice PDF job marks the
version it names failed (unless that version, or a later one, was rendered meanwhile):
``GET /invoices/{id}/pdf`` then answers 409 instead of 202 forever, until the invoice changes; a
credit note's or receipt voucher's job likewise (``GET /credit-notes/{id}/pdf``, ``/receipts/…``).
"""

from __future__ import annotations

from dataclasses import dataclass

from invoicing.domain.documents import DownloadStatus
from invoicing.domain.statements import StatementStatus
from invoicing.services.ports import DocumentStore, DownloadStore, RenderRequests, StatementStore

REASON = "The job failed repeatedly and was given up; request it again."


@dataclass
class DeadLetters:
    downloads: DownloadStore
    statements: StatementStore
    documents: DocumentStore
    render_requests: RenderRequests

    def download_failed(self, download_id: str) -> bool:
        """``True`` when the download was still pending and is now ``failed``."""
        return self.downloads.finish(download_id, DownloadStatus.FAILED, reason=REASON)

    def statement_failed(self, statement_id: str) -> bool:
        return self.statements.finish(statement_id, StatementStatus.FAILED, reason=REASON)

    def invoice_pdf_failed(self, invoice_id: str, version: int) -> bool:
        """``True`` when the render of ``version`` is now recorded as failed for good."""
        return self.documents.mark_failed(invoice_id, version, REASON)

    def document_pdf_failed(self, document: str, document_id: str, version: int) -> bool:
        """A credit note's or receipt voucher's: ``GET …/pdf`` then answers 409 for that version."""
        return self.render_requests.mark_failed(document, document_id, version, REASON)
