"""Receipt-voucher PDFs: the API's link to one (``GET /receipts/{id}/pdf``, with the invoice PDF's
``200``/``202`` rules) and the renderer's job (``RenderDocument(document="receipt")``).

A receipt voucher never changes once issued, so its PDF is rendered once (version 1), from the
outbox of the commit that issued it, and again only if that job was lost: the link request finds no
``pdf_version`` and queues it. Rendering is deterministic and keyed by version, so a repeated job
writes the same object; a voucher the renderer fails on is marked failed for good and its link
answers ``409`` (the credit notes' rules, ``queue_render`` and ``render_and_store``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from invoicing.domain.access import Caller
from invoicing.domain.documents import PDF, DownloadLink, Rendering
from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.domain.wallet import pdf_filename, pdf_key
from invoicing.services.credit_note_documents import RenderOutcome, queue_render, render_and_store
from invoicing.services.ports import (
    Clock,
    DocumentStorage,
    Links,
    ReceiptRenderer,
    RenderJobs,
    RenderRequests,
    WalletStore,
)

DOCUMENT = "receipt"


@dataclass
class ReceiptDocumentService:
    wallets: WalletStore
    links: Links
    jobs: RenderJobs
    requests: RenderRequests  # one render job per version while a client polls
    clock: Clock

    def pdf_link(self, caller: Caller, receipt_id: str) -> DownloadLink | Rendering:
        """A short-lived link to the PDF, or ``Rendering`` after queueing it; another
        tenant's voucher is not found."""
        try:
            document = self.wallets.receipt(receipt_id)
        except NotFoundError:
            raise NotFoundError(f"No receipt voucher {receipt_id}.") from None
        receipt = document.receipt
        if not caller.owns(receipt.account_id):
            raise NotFoundError(f"No receipt voucher {receipt_id}.")
        if not document.pdf_is_current:
            return queue_render(self.requests, self.jobs, self.clock, DOCUMENT, receipt.id, receipt.version)
        return self.links.download_link(
            pdf_key(receipt), filename=pdf_filename(receipt), content_type=PDF, now=self.clock()
        )


@dataclass
class ReceiptRenderService:
    wallets: WalletStore
    renderer: ReceiptRenderer
    storage: DocumentStorage
    requests: RenderRequests  # where a version that cannot be rendered is marked failed

    def render(self, receipt_id: str, version: int) -> RenderOutcome:
        """Make sure the voucher's PDF is stored (``NotFoundError`` for an unknown one)."""
        document = self.wallets.receipt(receipt_id)
        receipt = document.receipt
        if version > receipt.version:
            raise ConflictError(f"The render job names version {version} of receipt voucher {receipt.id}.")
        if document.pdf_is_current:
            return RenderOutcome.ALREADY_RENDERED
        return render_and_store(
            self.requests,
            self.storage,
            DOCUMENT,
            receipt.id,
            receipt.version,
            partial(self.renderer.render_receipt, receipt),
            key=pdf_key(receipt),
            filename=pdf_filename(receipt),
            recorded=partial(self.wallets.mark_receipt_rendered, receipt.id, receipt.version),
        )
