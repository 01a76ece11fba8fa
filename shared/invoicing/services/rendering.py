"""Render invoice PDFs: the render queue's use case.

A job names an invoice and the version that asked for a PDF. The PDF is always of the invoice *as
it is now*: a job for an older version renders the current one, unless that is already stored,
in which case there is nothing to do. The object is keyed by account, invoice and version, and
rendering is deterministic, so a repeated job (SQS delivers at least once) writes the same bytes
to the same key. After the upload the invoice records which version has its PDF
(``pdf_version``), which is what ``GET /invoices/{id}/pdf`` reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from invoicing.domain.errors import ConflictError, InvalidTransitionError
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.repository.documents import InvoiceDocument


class InvoiceRenderJob(BaseModel):
    """The render queue's message for one invoice PDF (``adapters.render_queue`` writes it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["invoice"] = "invoice"
    invoice_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)

    @classmethod
    def parse(cls, body: str) -> InvoiceRenderJob:
        """Parse a message body; anything else (bad JSON, another kind, extra fields) raises."""
        return cls.model_validate(json.loads(body))


class Outcome(StrEnum):
    RENDERED = "rendered"  # uploaded and recorded as the invoice's current PDF
    ALREADY_RENDERED = "already_rendered"  # the current version's PDF was already stored
    SUPERSEDED = "superseded"  # uploaded but not recorded: the invoice changed meanwhile (or a
    # concurrent job recorded the same version first)


@dataclass(frozen=True)
class Rendition:
    invoice_id: str
    version: int
    key: str
    outcome: Outcome


class Documents(Protocol):
    def get(self, invoice_id: str) -> InvoiceDocument: ...

    def mark_rendered(self, invoice_id: str, version: int) -> bool: ...


class Renderer(Protocol):
    def render(self, invoice: Invoice) -> bytes: ...


class Storage(Protocol):
    def put(self, key: str, body: bytes, *, filename: str, content_type: str = ...) -> None: ...


def pdf_key(invoice: Invoice) -> str:
    """``pdfs/{account_id}/{invoice_id}/v{version}.pdf``: one object per printed version."""
    return f"pdfs/{invoice.account_id}/{invoice.id}/v{invoice.version}.pdf"


def filename(invoice: Invoice) -> str:
    """The name a customer saves it under: ``INV/2627/000042`` → ``INV-2627-000042.pdf``."""
    return f"{(invoice.invoice_number or invoice.id).replace('/', '-')}.pdf"


@dataclass
class RenderService:
    documents: Documents
    renderer: Renderer
    storage: Storage

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
        key = pdf_key(invoice)
        if document.pdf_is_current:
            return Rendition(invoice.id, invoice.version, key, Outcome.ALREADY_RENDERED)
        self.storage.put(key, self.renderer.render(invoice), filename=filename(invoice))
        recorded = self.documents.mark_rendered(invoice.id, invoice.version)
        return Rendition(
            invoice.id, invoice.version, key, Outcome.RENDERED if recorded else Outcome.SUPERSEDED
        )
