"""E-invoicing's storage contract, run against DynamoDB (moto, the template's table) and against the
in-memory fakes the service tests use, so the fakes cannot drift: a credit note's revision (its
e-invoice moved) is conditional on the version read, and the sparse ``EInvoiceIndex`` lists invoices
and credit notes together, newest change first, a page per ``Query``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest

from invoicing.domain.changes import SaveInvoice
from invoicing.domain.credit_notes import ReviseCreditNote, SaveCreditNote
from invoicing.domain.einvoice import EInvoice, EInvoiceError, EInvoiceStatus, ErrorKind, Registration
from invoicing.domain.errors import ConflictError
from invoicing.domain.invoice import Invoice
from invoicing.repository.commit import DynamoTransactions
from invoicing.repository.credit_notes import DynamoCreditNoteStore
from invoicing.repository.einvoices import DynamoEInvoiceStore
from invoicing.repository.table import Table
from tests.fakes.credit_notes import InMemoryCreditNotes
from tests.fakes.einvoice import InMemoryEInvoiceListing
from tests.fakes.store import InMemoryStore
from tests.support.stack import CURSOR_KEY
from tests.unit.einvoice_factories import INTER_BUYER_GSTIN, NOW, credit_note_of, issued

ERROR = EInvoiceError(code="2172", message="Invalid INV-01 JSON", kind=ErrorKind.VALIDATION)
REGISTRATION = Registration(irn="c" * 64, ack_no="112600000000001", ack_date=NOW, signed_qr="q.r.s")


@dataclass
class Stores:
    transactions: Any
    notes: Any
    listing: Any


@pytest.fixture(params=["dynamodb", "memory"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        store = InMemoryStore()
        yield Stores(store, InMemoryCreditNotes(store), InMemoryEInvoiceListing(store))
        return
    env = request.getfixturevalue("resources")
    table = Table(env["INVOICES_TABLE"], boto3.client("dynamodb"))
    yield Stores(
        DynamoTransactions(table),
        DynamoCreditNoteStore(table, cursor_key=CURSOR_KEY),
        DynamoEInvoiceStore(table, CURSOR_KEY),
    )


def failed(state: EInvoice) -> EInvoice:
    return state.failed(ERROR)


def first_version(invoice: Invoice) -> Invoice:
    """The invoice as put new in the store (a new item starts at version 1)."""
    return invoice.model_copy(update={"version": 1})


def test_a_revised_note_reads_back_at_its_next_version_and_a_stale_revision_writes_nothing(stores):
    invoice = issued(gstin=INTER_BUYER_GSTIN)
    note = credit_note_of(invoice, [1_000])
    stores.transactions.commit([SaveCreditNote(note)])
    assert note.e_invoice is not None

    generated = note.record_e_invoice(note.e_invoice.generated(REGISTRATION), NOW + timedelta(minutes=1))
    stores.transactions.commit([ReviseCreditNote(note, generated)])

    stored = stores.notes.get(note.id)
    assert stored == generated and stored.version == 2
    assert not stores.notes.document(note.id).pdf_is_current
    with pytest.raises(ConflictError):
        stores.transactions.commit(
            [ReviseCreditNote(note, note.record_e_invoice(failed(note.e_invoice), NOW))]
        )
    assert stores.notes.get(note.id) == generated


def test_failed_invoices_and_credit_notes_are_listed_together_newest_change_first(stores):
    rows = []
    for minute in range(3):
        invoice = issued(
            gstin=INTER_BUYER_GSTIN,
            invoice_id=f"inv_einvlist{minute:05d}",
            number=f"INV/2627/00010{minute}",
        )
        assert invoice.e_invoice is not None
        invoice = invoice.record_e_invoice(failed(invoice.e_invoice), NOW + timedelta(minutes=2 * minute))
        stores.transactions.commit([SaveInvoice(None, first_version(invoice))])
        rows.append(("invoice", invoice.id))
        note = credit_note_of(
            invoice, [1_000], note_id=f"cn_einvlist{minute:05d}", number=f"CN/2627/00010{minute}"
        )
        assert note.e_invoice is not None
        stores.transactions.commit([SaveCreditNote(note)])
        revised = note.record_e_invoice(failed(note.e_invoice), NOW + timedelta(minutes=2 * minute + 1))
        stores.transactions.commit([ReviseCreditNote(note, revised)])
        rows.append(("credit_note", note.id))
    registered = issued(gstin=INTER_BUYER_GSTIN, invoice_id="inv_einvlistdone", number="INV/2627/000200")
    assert registered.e_invoice is not None
    generated = registered.record_e_invoice(registered.e_invoice.generated(REGISTRATION), NOW)
    stores.transactions.commit([SaveInvoice(None, first_version(generated))])  # not in the index

    listed, cursor = [], None
    for _ in range(4):
        page = stores.listing.e_invoice_page("failed", 4, cursor)
        listed += [(entry.document, entry.document_id) for entry in page.items]
        assert all(entry.e_invoice.status is EInvoiceStatus.FAILED for entry in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert listed == rows[::-1]
    assert stores.listing.e_invoice_page("pending", 10, None).items == []


@pytest.mark.parametrize("stores", ["dynamodb"], indirect=True)
def test_a_page_of_the_index_is_one_query(stores, aws_calls):
    invoice = issued(gstin=INTER_BUYER_GSTIN)
    assert invoice.e_invoice is not None
    stores.transactions.commit([SaveInvoice(None, first_version(invoice))])  # pending: listed
    aws_calls.clear()
    page = stores.listing.e_invoice_page("pending", 10, None)
    assert [entry.document_id for entry in page.items] == [invoice.id]
    assert aws_calls.of("dynamodb") == ["Query"]
