"""The credit-note store's contract, run against DynamoDB (moto, the template's table) and against
the in-memory fake the service tests use, so the fake cannot drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from invoicing.domain import credit_notes as rules
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.credit_notes import CreditNote, CreditReason, CreditRequest, SaveCreditNote
from invoicing.domain.errors import BadRequestError, ConflictError, NotFoundError
from invoicing.domain.numbering import ist_date
from invoicing.repository.commit import DynamoTransactions
from invoicing.repository.credit_notes import DynamoCreditNoteStore
from invoicing.repository.table import Table
from tests.fakes.credit_notes import InMemoryCreditNotes
from tests.fakes.store import InMemoryStore
from tests.support.stack import CURSOR_KEY
from tests.unit.factories import NOW, issued, payment


@pytest.fixture(params=["dynamodb", "memory"])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """(transactions, credit-note store) of one kind."""
    if request.param == "memory":
        store = InMemoryStore()
        yield store, InMemoryCreditNotes(store)
        return
    env = request.getfixturevalue("resources")
    table = Table(env["INVOICES_TABLE"], boto3.client("dynamodb"))
    yield DynamoTransactions(table), DynamoCreditNoteStore(table, cursor_key=CURSOR_KEY)


def credited(account_id: str = "acc_1", *, minutes: int = 0, note_id: str = "cn_1", paid: bool = False):
    """A credit note planned on a fresh invoice (paid: refunded in full), and that invoice."""
    invoice = issued(account_id=account_id)
    if paid:
        invoice = invoice.apply_payment(payment(invoice.amount), NOW)
    now = NOW + timedelta(minutes=minutes)
    request = CreditRequest(reason=CreditReason.DISCOUNT, description="Discount.", lines=((0, 1_000),))
    credit = rules.plan_credit(
        invoice,
        request,
        note_id=note_id,
        credit_note_number=f"CN/2627/{minutes + 1:06d}",
        today=ist_date(now),
        now=now,
    )
    return credit.note, credit.invoice.model_copy(update={"version": 1})


def save(transactions: Any, note: CreditNote, invoice=None) -> None:
    changes: list = [SaveCreditNote(note)]
    if invoice is not None:
        changes.append(SaveInvoice(None, invoice))
    transactions.commit(changes)


def test_a_saved_note_reads_back_as_it_was(stores):
    transactions, notes = stores
    note, _ = credited()
    save(transactions, note)
    assert notes.get(note.id) == note
    document = notes.document(note.id)
    assert (document.note, document.pdf_version, document.pdf_is_current) == (note, None, False)
    with pytest.raises(NotFoundError):
        notes.get("cn_missing")


def test_a_note_is_never_overwritten(stores):
    transactions, _ = stores
    note, _ = credited()
    save(transactions, note)
    with pytest.raises(ConflictError):
        save(transactions, note)


def test_an_account_s_notes_list_newest_first_page_by_page(stores):
    transactions, notes = stores
    saved = []
    for minute in range(5):
        note, _ = credited(minutes=minute, note_id=f"cn_{minute}")
        save(transactions, note)
        saved.append(note.id)
    save(transactions, credited("acc_2", note_id="cn_other")[0])

    first = notes.list_page("acc_1", limit=2, cursor=None)
    second = notes.list_page("acc_1", limit=2, cursor=first.next_cursor)
    third = notes.list_page("acc_1", limit=2, cursor=second.next_cursor)
    listed = [n.id for page in (first, second, third) for n in page.items]
    assert listed == saved[::-1]
    assert third.next_cursor is None
    with pytest.raises(BadRequestError):
        notes.list_page("acc_2", limit=2, cursor=first.next_cursor)


def test_the_refunds_of_invoices_are_read_with_them(stores):
    transactions, notes = stores
    note, invoice = credited(paid=True)
    save(transactions, note, invoice)
    refunds = notes.refunds_of([invoice.id, "inv_missing"])
    assert set(refunds) == {invoice.id}
    assert [r.id for r in refunds[invoice.id]] == list(note.refund_ids)


def test_a_pdf_is_recorded_once(stores):
    transactions, notes = stores
    note, _ = credited()
    save(transactions, note)
    assert notes.mark_rendered(note.id, 1) is True
    assert notes.mark_rendered(note.id, 1) is False
    assert notes.document(note.id).pdf_is_current
    assert notes.mark_rendered("cn_missing", 1) is False
