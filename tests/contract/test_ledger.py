"""The ledger, booked by commits, read the same way from the fake and from DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from invoicing.domain.changes import SaveInvoice
from invoicing.domain.invoice import CreditNoteRef, Invoice, RefundStatus
from invoicing.domain.ledger import EntryType
from invoicing.repository.commit import DynamoTransactions
from invoicing.repository.ledger import HEAD_FIELDS, DynamoLedger, head_key, legacy_head_key
from invoicing.repository.table import Table, serialize
from tests.fakes.store import InMemoryStore, Ledger
from tests.support.ledger import forget_head
from tests.unit.factories import NOW, draft, issued, payment


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    if request.param == "fake":
        store = InMemoryStore(clock=lambda: NOW)
        yield store, Ledger(store)
        return
    resources = request.getfixturevalue("resources")
    table = Table(resources["INVOICES_TABLE"], boto3.client("dynamodb"))
    yield DynamoTransactions(table, clock=lambda: NOW.timestamp()), DynamoLedger(table)


def _save(transactions: Any, before: Invoice | None, after: Invoice) -> Invoice:
    transactions.commit([SaveInvoice(before, after)])
    return after


def test_balances_follow_invoices_payments_credit_notes_and_processed_refunds(
    stores: tuple[Any, Any],
) -> None:
    transactions, ledger = stores
    # Given an invoice of 106,200 paise issued on 1 Oct
    created = draft()
    _save(transactions, None, created)
    invoice = _save(transactions, created, issued(created))
    # When 50,000 is paid on 2 Oct, a credit note of 10,000 is issued on 3 Oct, the rest (46,200)
    # plus 5,000 too much is paid on 4 Oct and that excess is refunded on 5 Oct
    invoice = _save(
        transactions,
        invoice,
        invoice.apply_payment(payment(50_000, "pay_a", paid_at=NOW + timedelta(days=1)), NOW),
    )
    note = CreditNoteRef(
        id="cn_1",
        credit_note_number="CN/2627/000001",
        date=date(2026, 10, 3),
        amount=10_000,
        taxable_amount=8475,
        cgst=763,
        sgst=762,
        igst=0,
    )
    credited = invoice.model_copy(update={"credit_notes": (note,), "version": invoice.version + 1})
    invoice = _save(transactions, invoice, credited)
    invoice = _save(
        transactions,
        invoice,
        invoice.apply_payment(payment(51_200, "pay_b", paid_at=NOW + timedelta(days=3)), NOW),
    )
    refund = invoice.refunds[0]
    invoice = _save(
        transactions,
        invoice,
        invoice.settle_refund(
            refund.id, RefundStatus.PROCESSED, NOW + timedelta(days=4), razorpay_refund_id="rfnd_1"
        ),
    )
    # Then the ledger reads, by hand: +106200, -50000, -10000, -51200, +5000 → 0
    entries = ledger.entries("acc_1", date(2026, 10, 1), date(2026, 10, 31)).items
    assert [(e.type, e.debit, e.credit, e.balance) for e in entries] == [
        (EntryType.INVOICE, 106_200, 0, 106_200),
        (EntryType.PAYMENT, 0, 50_000, 56_200),
        (EntryType.CREDIT_NOTE, 0, 10_000, 46_200),
        (EntryType.PAYMENT, 0, 51_200, -5_000),
        (EntryType.REFUND, 5_000, 0, 0),
    ]
    assert [e.date.day for e in entries] == [1, 2, 3, 4, 5]
    assert ledger.balance_before("acc_1", date(2026, 10, 3)) == 56_200
    assert ledger.balance_before("acc_1", date(2026, 10, 1)) == 0
    assert ledger.head("acc_1").balance == 0 and ledger.head("acc_1").seq == 5


def test_a_late_payment_is_booked_on_the_latest_date_already_in_the_ledger(stores: tuple[Any, Any]) -> None:
    transactions, ledger = stores
    created = draft()
    _save(transactions, None, created)
    invoice = _save(transactions, created, issued(created, now=NOW + timedelta(days=5)))
    # paid "before" the invoice date (a back-dated report): booked on the invoice's date
    invoice = _save(
        transactions, invoice, invoice.apply_payment(payment(1_000, "pay_early", paid_at=NOW), NOW)
    )
    entries = ledger.entries("acc_1", date(2026, 10, 1), date(2026, 10, 31)).items
    assert [e.date for e in entries] == [date(2026, 10, 6), date(2026, 10, 6)]


def test_pages_of_a_range_come_in_booking_order(stores: tuple[Any, Any]) -> None:
    transactions, ledger = stores
    created = draft(account_id="acc_p")
    _save(transactions, None, created)
    invoice = _save(transactions, created, issued(created))
    for n in range(5):
        invoice = _save(
            transactions,
            invoice,
            invoice.apply_payment(payment(100, f"pay_{n}", paid_at=NOW + timedelta(days=n)), NOW),
        )
    seen, cursor = [], None
    while True:
        page = ledger.entries("acc_p", date(2026, 10, 1), date(2026, 10, 31), cursor=cursor, limit=2)
        seen += [e.seq for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [1, 2, 3, 4, 5, 6]


def test_a_commit_that_finds_the_ledger_moved_books_after_the_other(resources: dict[str, str]) -> None:
    # Given a commit about to book entry 2 of acc_1 when another commit books it first
    table = Table(resources["INVOICES_TABLE"], boto3.client("dynamodb"))
    transactions = DynamoTransactions(table, clock=lambda: NOW.timestamp())
    created = draft()
    _save(transactions, None, created)
    invoice = _save(transactions, created, issued(created))
    other = draft()
    _save(transactions, None, other)
    real_get = table.get
    raced = {"done": False}

    def get(key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
        found = real_get(key, consistent=consistent)
        if key == head_key("acc_1") and not raced["done"]:
            raced["done"] = True
            _save(transactions, other, issued(other, invoice_number="INV/2627/000002"))
        return found

    table.get = get  # type: ignore[method-assign]
    # When the first commit goes ahead
    _save(transactions, invoice, invoice.apply_payment(payment(1_000, "pay_x"), NOW))
    # Then both are booked, numbered in order, with a consistent running balance
    entries = DynamoLedger(table).entries("acc_1", date(2026, 10, 1), date(2026, 12, 31)).items
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[-1].balance == 106_200 * 2 - 1_000
    stored = boto3.client("dynamodb").get_item(
        TableName=resources["INVOICES_TABLE"], Key=serialize(head_key("acc_1"))
    )
    assert stored["Item"]["seq"]["N"] == "3"


def test_a_head_of_the_old_shape_is_read_and_moved_onto_the_summary_by_the_next_booking(
    resources: dict[str, str],
) -> None:
    # Given an account whose head is still its own item (ACCOUNT#acc_1 / LEDGER), as written before
    # heads moved onto the summary
    table = Table(resources["INVOICES_TABLE"], boto3.client("dynamodb"))
    transactions, ledger = DynamoTransactions(table, clock=lambda: NOW.timestamp()), DynamoLedger(table)
    created = draft()
    _save(transactions, None, created)
    invoice = _save(transactions, created, issued(created))
    head = ledger.head("acc_1")
    summary = table.get(head_key("acc_1")) or {}
    table.call(
        "put_item",
        Item=serialize(
            {**legacy_head_key("acc_1"), "entity": "ledger_head"} | {f: summary[f] for f in HEAD_FIELDS}
        ),
    )
    forget_head(table, "acc_1")
    assert ledger.head("acc_1") == head
    # When a payment is booked
    _save(transactions, invoice, invoice.apply_payment(payment(1_000, "pay_x"), NOW))
    # Then it is numbered after the old head, the head is on the summary (its totals kept), and the
    # old item is gone
    assert [e.seq for e in ledger.entries("acc_1", date(2026, 10, 1), date(2026, 12, 31)).items] == [1, 2]
    assert (ledger.head("acc_1").seq, ledger.head("acc_1").balance) == (2, 106_200 - 1_000)
    moved = table.get(head_key("acc_1")) or {}
    assert (moved["seq"], moved["total_paid"]) == (2, 1_000)
    assert table.get(legacy_head_key("acc_1")) is None


def test_a_commit_that_books_and_totals_writes_the_summary_once(resources: dict[str, str]) -> None:
    table = Table(resources["INVOICES_TABLE"], boto3.client("dynamodb"))
    transactions = DynamoTransactions(table, clock=lambda: NOW.timestamp())
    created = draft()
    _save(transactions, None, created)
    sent: list[dict[str, Any]] = []
    real_transact = table.transact
    table.transact = lambda items: (sent.extend(items), real_transact(items))[1]  # type: ignore[method-assign]
    _save(transactions, created, issued(created))
    # The invoice, its ledger entry, and the summary's totals with the head: three items, not four.
    written = [(kind, spec.get("Key", spec.get("Item"))["sk"]["S"]) for i in sent for kind, spec in i.items()]
    assert sorted(written) == [("Put", "2026-10-01#000000000001"), ("Put", "INVOICE"), ("Update", "SUMMARY")]
    (update,) = [spec for i in sent for kind, spec in i.items() if kind == "Update"]
    assert update["UpdateExpression"].startswith("SET #seq = :seq") and " ADD " in update["UpdateExpression"]
