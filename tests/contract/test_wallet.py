"""The wallet store and the wallet's changes behave the same in memory and on DynamoDB: top-ups,
receipt vouchers with their advance and balance, conditional draws, reads that grow with the work."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from invoicing.domain.changes import LinkProvider, SaveInvoice
from invoicing.domain.errors import BadRequestError, ConflictError, DuplicateError, NotFoundError
from invoicing.domain.ledger import EntryType
from invoicing.domain.wallet import (
    AdvanceMovedError,
    Draw,
    DrawAdvances,
    DrawnReceipt,
    IssueReceipt,
    KeepUnapplied,
    ReceiptVoucher,
    RecordSettlement,
    SaveTopUp,
    SettlementRecord,
    TopUp,
    issue_receipt,
    number,
)
from invoicing.repository.ledger import DynamoLedger
from invoicing.repository.wallet import DynamoWalletStore
from tests.contract.conftest import CURSOR_KEY, Stores, counted, dynamo_only
from tests.fakes.store import Ledger
from tests.fakes.wallet import InMemoryWallets
from tests.unit.factories import NOW, customer, draft, payment, supplier

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def wallets(stores: Stores):
    if stores.is_dynamo:
        return DynamoWalletStore(stores.invoices._table, cursor_key=CURSOR_KEY)  # type: ignore[attr-defined]
    return InMemoryWallets(stores.invoices)  # type: ignore[arg-type]


def ledger(stores: Stores):
    if stores.is_dynamo:
        return DynamoLedger(stores.invoices._table)  # type: ignore[attr-defined]
    return Ledger(stores.invoices)  # type: ignore[arg-type]


def top_up(n: int = 1, account: str = "acc_1", *, amount: int = 100_000, minutes: int = 0) -> TopUp:
    created = TopUp.create(
        top_up_id=f"top_{n:014d}",
        account_id=account,
        amount=amount,
        supplier=supplier(),
        customer=customer(),
        now=NOW + timedelta(minutes=minutes),
    )
    return created.with_link(f"plink_{n:014d}", f"https://rzp.io/l/{n}")


def created(stores: Stores, n: int = 1, account: str = "acc_1", **kw) -> TopUp:
    made = top_up(n, account, **kw)
    stores.transactions.commit(
        [
            SaveTopUp(None, made),
            LinkProvider(made.razorpay_payment_link_id, made.id, account, "razorpay_payment_link"),
        ]
    )
    return made


def paid(stores: Stores, made: TopUp, sequence: int, *, day: date = date(2026, 10, 1)) -> ReceiptVoucher:
    paid_by = payment(made.total, f"pay_{made.id[4:]}")
    receipt = issue_receipt(
        made,
        paid_by,
        receipt_id=f"rcv_{made.id[4:]}",
        receipt_number=number(day, sequence),
        today=day,
        now=LATER,
    )
    stores.transactions.commit(
        [SaveTopUp(made, made.pay(paid_by, receipt.ref(), LATER)), IssueReceipt(receipt)]
    )
    return receipt


# -------------------------------------------------------------------------------------- top-ups
def test_a_top_up_is_stored_once_and_changed_only_from_the_version_read(stores, wallets):
    made = created(stores)

    assert wallets.top_up(made.id) == made
    assert wallets.top_up_by_link(made.razorpay_payment_link_id) == made
    with pytest.raises(ConflictError):
        stores.transactions.commit([SaveTopUp(None, made)])
    expired = made.expire(LATER)
    stores.transactions.commit([SaveTopUp(made, expired)])
    with pytest.raises(ConflictError):
        stores.transactions.commit([SaveTopUp(made, made.expire(LATER))])
    assert wallets.top_up(made.id) == expired


def test_unknown_top_ups_and_an_invoice_s_pointer_are_not_found(stores, wallets):
    invoice = draft()
    stores.transactions.commit([SaveInvoice(None, invoice), LinkProvider("inv_Rzp1", invoice.id, "acc_1")])
    for find in (lambda: wallets.top_up("top_nope"), lambda: wallets.top_up_by_link("inv_Rzp1")):
        with pytest.raises(NotFoundError):
            find()


def test_top_ups_are_listed_newest_first_a_page_at_a_time(stores, wallets):
    made = [created(stores, n, minutes=n) for n in range(1, 6)]
    created(stores, 9, "acc_2")

    first = wallets.list_top_ups("acc_1", limit=2, cursor=None)
    second = wallets.list_top_ups("acc_1", limit=2, cursor=first.next_cursor)
    last = wallets.list_top_ups("acc_1", limit=2, cursor=second.next_cursor)

    assert [t.id for t in (*first.items, *second.items, *last.items)] == [t.id for t in reversed(made)]
    assert last.next_cursor is None
    with pytest.raises(BadRequestError):
        wallets.list_top_ups("acc_2", limit=2, cursor=first.next_cursor)


# ---------------------------------------------------------------------------- receipt vouchers
def test_a_receipt_voucher_grows_the_balance_opens_its_advance_and_books_the_payment(stores, wallets):
    made = created(stores, amount=500_000)

    receipt = paid(stores, made, 1)

    assert wallets.receipt(receipt.id).receipt == receipt and wallets.receipt(receipt.id).pdf_version is None
    assert wallets.balance("acc_1") == 500_000 and wallets.balance("acc_2") == 0
    (advance,) = wallets.open_advances("acc_1", covering=1, limit=10)
    assert (advance.receipt_id, advance.receipt_number, advance.remaining) == (
        receipt.id,
        "RV/2627/000001",
        500_000,
    )
    entries = ledger(stores).entries("acc_1", date(2026, 10, 1), date(2026, 10, 31)).items
    assert [(e.type, e.credit, e.reference, e.source) for e in entries] == [
        (EntryType.PAYMENT, 590_000, "RV/2627/000001", made.id)
    ]
    assert wallets.top_up(made.id).receipt == receipt.ref()


def test_a_receipt_voucher_is_rendered_once_per_version(stores, wallets):
    receipt = paid(stores, created(stores), 1)
    assert wallets.mark_receipt_rendered(receipt.id, 1) is True
    assert wallets.mark_receipt_rendered(receipt.id, 1) is False
    assert wallets.receipt(receipt.id).pdf_is_current


def test_open_advances_come_oldest_first_and_only_as_many_as_cover_the_need(stores, wallets):
    for n, day in ((1, date(2026, 10, 3)), (2, date(2026, 10, 1)), (3, date(2026, 10, 2))):
        paid(stores, created(stores, n), n, day=day)

    assert [a.receipt_number for a in wallets.open_advances("acc_1", covering=10**9, limit=10)] == [
        "RV/2627/000002",
        "RV/2627/000003",
        "RV/2627/000001",
    ]
    assert len(wallets.open_advances("acc_1", covering=150_000, limit=10)) == 2
    assert len(wallets.open_advances("acc_1", covering=10**9, limit=1)) == 1


# --------------------------------------------------------------------------------------- draws
def test_draws_lower_each_advance_and_the_balance_and_close_emptied_advances(stores, wallets):
    first, second = paid(stores, created(stores, 1), 1), paid(stores, created(stores, 2), 2)
    older, newer = wallets.open_advances("acc_1", covering=10**9, limit=10)

    stores.transactions.commit([DrawAdvances("acc_1", (Draw(older, 100_000), Draw(newer, 30_000)))])

    (left,) = wallets.open_advances("acc_1", covering=10**9, limit=10)
    assert (left.receipt_id, left.remaining, left.amount) == (second.id, 70_000, 100_000)
    assert wallets.balance("acc_1") == 70_000
    assert first.id not in {a.receipt_id for a in wallets.open_advances("acc_1", covering=10**9, limit=10)}


def test_a_draw_from_what_was_read_before_another_draw_changes_nothing(stores, wallets):
    paid(stores, created(stores, 1), 1)
    (advance,) = wallets.open_advances("acc_1", covering=1, limit=10)
    stores.transactions.commit([DrawAdvances("acc_1", (Draw(advance, 40_000),))])

    with pytest.raises(AdvanceMovedError):  # the same advance, as it was read before
        stores.transactions.commit([DrawAdvances("acc_1", (Draw(advance, 40_000),))])
    with pytest.raises(AdvanceMovedError):  # emptying it, as read before
        stores.transactions.commit([DrawAdvances("acc_1", (Draw(advance, 100_000),))])

    (left,) = wallets.open_advances("acc_1", covering=1, limit=10)
    assert (left.remaining, wallets.balance("acc_1")) == (60_000, 60_000)


def test_the_balance_never_goes_below_zero(stores, wallets):
    paid(stores, created(stores, 1), 1)
    (advance,) = wallets.open_advances("acc_1", covering=1, limit=10)
    invented = type(advance)(**{**vars(advance), "receipt_id": "rcv_x", "receipt_number": "RV/2627/000009"})
    stores.transactions.commit([DrawAdvances("acc_1", (Draw(advance, 100_000),))])

    with pytest.raises(AdvanceMovedError):
        stores.transactions.commit([DrawAdvances("acc_1", (Draw(invented, 1),))])
    assert wallets.balance("acc_1") == 0


def test_a_draw_commits_with_its_invoice_or_not_at_all(stores, wallets):
    paid(stores, created(stores, 1), 1)
    (advance,) = wallets.open_advances("acc_1", covering=1, limit=10)
    invoice = draft()
    stores.transactions.commit([SaveInvoice(None, invoice)])

    with pytest.raises(ConflictError):  # the invoice is not new: the whole commit fails
        stores.transactions.commit([SaveInvoice(None, invoice), DrawAdvances("acc_1", (Draw(advance, 1),))])
    assert wallets.balance("acc_1") == 100_000


def settlement_of(invoice_id: str, *draws: Draw, amount: int) -> SettlementRecord:
    return SettlementRecord(
        account_id="acc_1",
        invoice_id=invoice_id,
        invoice_number="INV/2627/000001",
        payment_id=f"adv_{invoice_id}",
        amount=amount,
        draws=tuple(DrawnReceipt(d.advance.receipt_id, d.advance.receipt_number, d.taken) for d in draws),
        settled_at=LATER,
    )


def test_a_settlement_is_recorded_once_per_invoice_with_what_it_took_from_each_receipt(stores, wallets):
    first, second = paid(stores, created(stores, 1), 1), paid(stores, created(stores, 2), 2)
    older, newer = wallets.open_advances("acc_1", covering=10**9, limit=10)
    draws = (Draw(older, 100_000), Draw(newer, 30_000))
    record = settlement_of("inv_1", *draws, amount=153_400)
    assert wallets.settlement("acc_1", "inv_1") is None

    stores.transactions.commit([DrawAdvances("acc_1", draws), RecordSettlement(record)])

    kept = wallets.settlement("acc_1", "inv_1")
    assert kept == record and (kept.drawn, kept.amount) == (130_000, 153_400)
    assert [(d.receipt_id, d.receipt_number, d.taken) for d in kept.draws] == [
        (first.id, first.receipt_number, 100_000),
        (second.id, second.receipt_number, 30_000),
    ]
    (left,) = wallets.open_advances("acc_1", covering=10**9, limit=10)
    again = (Draw(left, 10_000),)
    with pytest.raises(ConflictError):  # the same invoice again: nothing is drawn
        stores.transactions.commit(
            [DrawAdvances("acc_1", again), RecordSettlement(settlement_of("inv_1", *again, amount=11_800))]
        )
    assert wallets.balance("acc_1") == 70_000 and wallets.settlement("acc_1", "inv_1") == record
    assert wallets.settlement("acc_2", "inv_1") is None


def test_a_settlement_record_commits_with_its_draws_or_not_at_all(stores, wallets):
    paid(stores, created(stores, 1), 1)
    (advance,) = wallets.open_advances("acc_1", covering=1, limit=10)
    stores.transactions.commit([DrawAdvances("acc_1", (Draw(advance, 40_000),))])

    with pytest.raises(AdvanceMovedError):  # drawn from what was read before: no record either
        stores.transactions.commit(
            [
                DrawAdvances("acc_1", (Draw(advance, 40_000),)),
                RecordSettlement(settlement_of("inv_2", Draw(advance, 40_000), amount=47_200)),
            ]
        )
    assert wallets.settlement("acc_1", "inv_2") is None and wallets.balance("acc_1") == 60_000


def test_an_unapplied_payment_is_kept_once(stores):
    stores.transactions.commit([KeepUnapplied("pay_1", "acc_1", "top_1", "amount_mismatch")])
    with pytest.raises(DuplicateError):
        stores.transactions.commit([KeepUnapplied("pay_1", "acc_1", "top_1", "amount_mismatch")])


# ---------------------------------------------------------------------------------- call counts
@dynamo_only
def test_wallet_reads_grow_with_the_work_never_with_the_table(stores, wallets):
    for n in range(1, 8):
        paid(stores, created(stores, n), n)
    paid(stores, created(stores, 20, "acc_2"), 20)

    with counted(stores) as balance:
        wallets.balance("acc_1")
    with counted(stores) as by_link:
        wallets.top_up_by_link("plink_00000000000001")
    with counted(stores) as advances:
        wallets.open_advances("acc_1", covering=150_000, limit=90)
    with counted(stores) as page:
        wallets.list_top_ups("acc_1", limit=5, cursor=None)
    with counted(stores) as settlement:
        wallets.settlement("acc_1", "inv_1")

    assert (balance, by_link, advances, page, settlement) == (
        ["GetItem"],
        ["GetItem", "GetItem"],
        ["Query"],
        ["Query"],
        ["GetItem"],
    )


def test_a_settlement_drawing_on_its_most_receipts_fits_one_transaction(stores, wallets):
    # Given 95 receipts of ₹100 each (more than one settlement may draw on) and an issued invoice
    # owing more than all of them
    from invoicing.domain.changes import SaveInvoice
    from invoicing.domain.wallet import MAX_DRAWS
    from invoicing.services.retry import NO_WAIT
    from invoicing.services.wallet import AdvanceSettlementService
    from tests.unit.factories import issued, line

    for n in range(1, MAX_DRAWS + 6):
        paid(stores, created(stores, n, amount=10_000, minutes=n), n)
    made = draft(line_items=[line(quantity="1", unit_rate="20000")])
    invoice = issued(made)
    stores.transactions.commit([SaveInvoice(None, made)])
    stores.transactions.commit([SaveInvoice(made, invoice)])
    settle = AdvanceSettlementService(
        invoices=stores.invoices, wallets=wallets, transactions=stores.transactions, clock=stores.clock,
        backoff=NO_WAIT,
    )  # fmt: skip

    # When
    settled = settle.settle(invoice.id)

    # Then the oldest 90 are drawn in one commit (invoice, draws, balance, record, outbox), 5 remain
    record = wallets.settlement("acc_1", invoice.id)
    assert len(record.draws) == MAX_DRAWS and record.drawn == MAX_DRAWS * 10_000
    assert [d.receipt_number for d in record.draws] == [number(date(2026, 10, 1), n) for n in range(1, 91)]
    assert settled.amount_paid == record.amount and settled.amount_due > 0
    assert wallets.balance("acc_1") == 5 * 10_000
    assert len(wallets.open_advances("acc_1", covering=10**9, limit=100)) == 5
