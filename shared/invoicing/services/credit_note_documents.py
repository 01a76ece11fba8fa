"""Credit-note PDFs: the API's link to one (``GET /credit-notes/{id}/pdf``, with the invoice PDF's
``200``/``202`` rules) and the renderer's job (``RenderDocument(document="credit_note")``).

A credit note's PDF is rendered at issue (version 1), from the outbox, and again only if that job
was lost: the link request finds no ``pdf_version`` and queues it. With e-invoicing, a note to a B2B
buyer is printed only once the IRP registered it: until then the link answers ``202`` (``409`` when
the registration failed) and nothing is rendered; the registrar queues the render of the version
that carries the IRN. Rendering is deterministic and keyed by version, so a repeated job writes the
same object, and a version the renderer fails on (or whose job was dead-lettered) is marked failed
for good (``render_and_store``): the link then answers ``409``, not ``202`` forever (``queue_render``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from invoicing.domain.access import Caller
from invoicing.domain.credit_notes import pdf_filename, pdf_key
from invoicing.domain.documents import PDF, DownloadLink, Rendering
from invoicing.domain.einvoice import AWAITING, EInvoiceStatus, printable
from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.services.documents import RENDER_AGAIN_AFTER, RenderFailedError
from invoicing.services.ports import (
    Clock,
    CreditNoteRenderer,
    CreditNoteStore,
    DocumentStorage,
    Links,
    RenderJobs,
    RenderRequests,
)

DOCUMENT = "credit_note"


@dataclass
class CreditNoteDocumentService:
    credit_notes: CreditNoteStore
    links: Links
    jobs: RenderJobs
    requests: RenderRequests  # one render job per version while a client polls
    clock: Clock

    def pdf_link(self, caller: Caller, credit_note_id: str) -> DownloadLink | Rendering:
        """A short-lived link to the PDF, or ``Rendering`` after queueing it."""
        try:
            document = self.credit_notes.document(credit_note_id)
        except NotFoundError:
            raise NotFoundError(f"No credit note {credit_note_id}.") from None
        note = document.note
        if not caller.owns(note.account_id):
            raise NotFoundError(f"No credit note {credit_note_id}.")
        if not printable(note.e_invoice, note.id, "issued"):
            return Rendering(note.id)  # e-invoicing: the PDF waits for the IRN (202)
        if not document.pdf_is_current:
            return queue_render(self.requests, self.jobs, self.clock, DOCUMENT, note.id, note.version)
        return self.links.download_link(
            pdf_key(note), filename=pdf_filename(note), content_type=PDF, now=self.clock()
        )


class RenderOutcome(StrEnum):
    RENDERED = "rendered"
    ALREADY_RENDERED = "already_rendered"
    AWAITING_IRN = "awaiting_irn"  # e-invoicing: nothing rendered until the IRN is there
    FAILED = "failed"  # the renderer failed on this version: recorded as failed for good


def queue_render(
    requests: RenderRequests, jobs: RenderJobs, clock: Clock, document: str, document_id: str, version: int
) -> Rendering:
    """The answer for a credit note's or receipt voucher's PDF that is not stored yet: ``Rendering``
    (202) after queueing one render job per version while clients poll, or ``RenderFailedError``
    (409, not 202 forever) when this version's render failed for good."""
    if requests.failed(document, document_id, version):
        raise RenderFailedError(document_id, document)
    if requests.request_render(document, document_id, version, clock(), again_after=RENDER_AGAIN_AFTER):
        jobs.enqueue(document, document_id, version)
    return Rendering(document_id)


def render_and_store(
    requests: RenderRequests,
    storage: DocumentStorage,
    document: str,
    document_id: str,
    version: int,
    render: Callable[[], bytes],
    *,
    key: str,
    filename: str,
    recorded: Callable[[], object],
) -> RenderOutcome:
    """Render a credit note's or receipt voucher's version, store it under ``key`` and record it
    (``recorded``). Rendering is deterministic, so a renderer that fails on a document fails on
    every retry: its failure marks the version failed for good (the invoices' rule,
    ``services.rendering``); storage and DynamoDB failures are not caught and are retried."""
    try:
        body = render()
    except Exception as exc:  # the renderer's own failure, whatever it is
        requests.mark_failed(document, document_id, version, f"{type(exc).__name__}: {exc}"[:500])
        return RenderOutcome.FAILED
    storage.put(key, body, filename=filename, content_type=PDF)
    recorded()
    return RenderOutcome.RENDERED


@dataclass
class CreditNoteRenderService:
    credit_notes: CreditNoteStore
    renderer: CreditNoteRenderer
    storage: DocumentStorage
    requests: RenderRequests  # where a version that cannot be rendered is marked failed

    def render(self, credit_note_id: str, version: int) -> RenderOutcome:
        """Make sure the PDF of the credit note is stored (``NotFoundError`` for an unknown one)."""
        document = self.credit_notes.document(credit_note_id)
        note = document.note
        if version > note.version:
            raise ConflictError(f"The render job names version {version} of credit note {note.id}.")
        if document.pdf_is_current:
            return RenderOutcome.ALREADY_RENDERED
        if note.e_invoice is not None and note.e_invoice.status in AWAITING | {EInvoiceStatus.FAILED}:
            return RenderOutcome.AWAITING_IRN  # rendered once its IRN is there (the registrar asks)
        return render_and_store(
            self.requests,
            self.storage,
            DOCUMENT,
            note.id,
            note.version,
            partial(self.renderer.render_credit_note, note),
            key=pdf_key(note),
            filename=pdf_filename(note),
            recorded=partial(self.credit_notes.mark_rendered, note.id, note.version),
        )
