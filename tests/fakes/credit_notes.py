"""Credit notes in the in-memory store: the ``SaveCreditNote`` handler and a ``CreditNoteStore``.

Importing this module registers the handlers (``SaveCreditNote``, ``ReviseCreditNote``) with
``tests.fakes.store`` (as importing
``repository.credit_notes`` registers the DynamoDB writer). The notes live in the store's
``credit_notes`` collection, their PDF versions in ``credit_note_pdfs``.
"""

from __future__ import annotations

from collections.abc import Sequence

from invoicing.domain.credit_notes import CreditNote, CreditNoteDocument, ReviseCreditNote, SaveCreditNote
from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.domain.invoice import Refund
from invoicing.domain.queries import Page
from tests.fakes.pages import page_of
from tests.fakes.store import InMemoryStore, _ts, handles

NOTES = "credit_notes"
PDFS = "credit_note_pdfs"


def _check_new(store: InMemoryStore, change: SaveCreditNote) -> None:
    if change.note.id in store.collection(NOTES):
        raise ConflictError(f"Credit note {change.note.id} already exists.")


@handles(SaveCreditNote, _check_new)
def _save(store: InMemoryStore, change: SaveCreditNote) -> None:
    store.collection(NOTES)[change.note.id] = change.note


def _check_revision(store: InMemoryStore, change: ReviseCreditNote) -> None:
    current = store.collection(NOTES).get(change.before.id)
    if current is None or current.version != change.before.version:
        raise ConflictError(
            f"Credit note {change.before.id} was changed by someone else "
            f"(expected version {change.before.version}); read it again and retry."
        )


@handles(ReviseCreditNote, _check_revision)
def _revise(store: InMemoryStore, change: ReviseCreditNote) -> None:
    store.collection(NOTES)[change.after.id] = change.after


def _sort_key(note: CreditNote) -> str:
    return f"{note.date.isoformat()}#{_ts(note.created_at)}#{note.id}"


class InMemoryCreditNotes:
    """``services.ports.CreditNoteStore`` over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    @property
    def notes(self) -> dict[str, CreditNote]:
        return self.store.collection(NOTES)

    def get(self, credit_note_id: str) -> CreditNote:
        return self.document(credit_note_id).note

    def document(self, credit_note_id: str) -> CreditNoteDocument:
        note = self.notes.get(credit_note_id)
        if note is None:
            raise NotFoundError(f"No credit note {credit_note_id}.")
        return CreditNoteDocument(note=note, pdf_version=self.store.collection(PDFS).get(credit_note_id))

    def list_page(self, account_id: str, *, limit: int, cursor: str | None) -> Page[CreditNote]:
        return page_of(
            (n for n in self.notes.values() if n.account_id == account_id),
            account_id,
            key=_sort_key,
            limit=limit,
            cursor=cursor,
        )

    def refunds_of(self, invoice_ids: Sequence[str]) -> dict[str, tuple[Refund, ...]]:
        return {
            i: self.store.invoices[i].refunds for i in dict.fromkeys(invoice_ids) if i in self.store.invoices
        }

    def mark_rendered(self, credit_note_id: str, version: int) -> bool:
        note = self.notes.get(credit_note_id)
        pdfs = self.store.collection(PDFS)
        if note is None or note.version != version or pdfs.get(credit_note_id, 0) >= version:
            return False
        pdfs[credit_note_id] = version
        return True
