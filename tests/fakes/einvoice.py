"""In-memory e-invoicing collaborators: the e-invoice queue, the listing of registrations (invoices
and credit notes, as the sparse ``EInvoiceIndex`` lists them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from invoicing.domain.einvoice import EInvoiceEntry, EInvoiceStatus
from invoicing.domain.queries import Page
from tests.fakes.credit_notes import NOTES
from tests.fakes.store import InMemoryStore


@dataclass
class RecordingEInvoiceJobs:
    jobs: list[tuple[str, str, int, int]] = field(default_factory=list)  # document, id, attempt, delay

    def enqueue(self, document: str, document_id: str, attempt: int, *, delay_seconds: int = 0) -> None:
        self.jobs.append((document, document_id, attempt, delay_seconds))


@dataclass
class InMemoryEInvoiceListing:
    """``EInvoiceStore`` over an :class:`InMemoryStore` (newest change first; cursor = an offset)."""

    store: InMemoryStore

    def e_invoice_page(self, status: str, limit: int, cursor: str | None) -> Page[EInvoiceEntry]:
        wanted = EInvoiceStatus(status)
        rows: list[tuple[datetime, EInvoiceEntry]] = [
            (i.updated_at, EInvoiceEntry("invoice", i.id, i.invoice_number, i.account_id, i.e_invoice))
            for i in self.store.invoices.values()
            if i.e_invoice and i.e_invoice.status is wanted
        ]
        rows += [
            (
                n.changed_at,
                EInvoiceEntry("credit_note", n.id, n.credit_note_number, n.account_id, n.e_invoice),
            )
            for n in self.store.collection(NOTES).values()
            if n.e_invoice and n.e_invoice.status is wanted
        ]
        matching = [entry for _, entry in sorted(rows, key=lambda r: (r[0], r[1].document_id), reverse=True)]
        start = int(cursor or 0)
        items = matching[start : start + limit]
        more = start + limit < len(matching)
        return Page(items=items, next_cursor=str(start + limit) if more else None)
