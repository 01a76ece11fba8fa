"""In-memory e-invoicing collaborators: the e-invoice queue, the listing of registrations."""

from __future__ import annotations

from dataclasses import dataclass, field

from invoicing.domain.einvoice import EInvoiceStatus
from invoicing.domain.invoice import Invoice
from invoicing.domain.queries import Page
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

    def e_invoice_page(self, status: str, limit: int, cursor: str | None) -> Page[Invoice]:
        wanted = EInvoiceStatus(status)
        matching = sorted(
            (i for i in self.store.invoices.values() if i.e_invoice and i.e_invoice.status is wanted),
            key=lambda i: (i.updated_at, i.id),
            reverse=True,
        )
        start = int(cursor or 0)
        items = matching[start : start + limit]
        more = start + limit < len(matching)
        return Page(items=items, next_cursor=str(start + limit) if more else None)
