"""The ledger of accounts older than it, the same on the fakes and on DynamoDB: which ledgers are
complete, and backfills (from the invoices, idempotent, safe against a concurrent commit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from invoicing.domain.backfill import rebuild
from invoicing.domain.ledger import LedgerHead
from invoicing.repository.ledger import DynamoLedger, head_key, ledger_partition
from invoicing.repository.ledger_rebuild import DynamoLedgerHistory
from invoicing.repository.table import serialize
from invoicing.services.ledger_backfill import BackfillOutcome, LedgerBackfill
from invoicing.services.retry import NO_WAIT
from tests.contract.builders import issue, save
from tests.contract.conftest import Stores, dynamo_only
from tests.fakes.backfill import LedgerHistory, forget_ledger
from tests.fakes.store import Ledger
from tests.support.ledger import forget_head
from tests.unit.factories import payment


@dataclass
class Books:
    stores: Stores
    history: Any  # LedgerHistory
    ledger: Any  # Ledger

    @property
    def backfill(self) -> LedgerBackfill:
        return LedgerBackfill(history=self.history, backoff=NO_WAIT)

    def forget(self, account_id: str) -> None:
        """The account as before the ledger existed: its invoices and summary, no head, no entries."""
        if not self.stores.is_dynamo:
            forget_ledger(self.stores.invoices, account_id)  # type: ignore[arg-type]
            return
        table = self.stores.invoices._table  # type: ignore[attr-defined]
        generation = self.ledger.head(account_id).generation
        for entry in self.history.booked(account_id, generation):
            key = {"pk": ledger_partition(account_id, generation), "sk": f"{entry.date}#{entry.seq:012d}"}
            table.call("delete_item", Key=serialize(key))
        forget_head(table, account_id)

    def entries(self, account_id: str) -> list[Any]:
        head = self.ledger.head(account_id)
        page = self.ledger.entries(
            account_id, date(2000, 1, 1), date(2100, 1, 1), generation=head.generation, limit=10_000
        )
        return list(page.items)


@pytest.fixture
def books(stores: Stores) -> Books:
    if stores.is_dynamo:
        table = stores.invoices._table  # type: ignore[attr-defined]
        return Books(
            stores,
            DynamoLedgerHistory(table, sleep=lambda _: None),
            DynamoLedger(table),
        )
    store = stores.invoices
    return Books(stores, LedgerHistory(store), Ledger(store))  # type: ignore[arg-type]


def history(books: Books, account_id: str = "acc_1") -> list[tuple[str, int, int, int]]:
    return [(e.type.value, e.debit, e.credit, e.balance) for e in books.entries(account_id)]


def later(books: Books) -> Stores:
    """The stores, a minute later (events happen one after the other, as they do)."""
    books.stores.clock.set(books.stores.clock.now + timedelta(minutes=1))
    return books.stores


def pay(stores: Stores, invoice: Any, amount: int, payment_id: str) -> Any:
    """A payment made now (by the stores' clock)."""
    now = stores.clock.now
    return save(stores, invoice, invoice.apply_payment(payment(amount, payment_id, paid_at=now), now))


def three_invoices(books: Books) -> None:
    """106,200 each; the first paid in full, the second in part: owed 106,200 + 56,200."""
    first = issue(later(books))
    pay(later(books), first, first.amount, "pay_full")
    second = issue(later(books))
    pay(later(books), second, 50_000, "pay_part")
    issue(later(books), account_id="acc_other")


BOOKED = [
    ("invoice", 106_200, 0, 106_200),
    ("payment", 0, 106_200, 0),
    ("invoice", 106_200, 0, 106_200),
    ("payment", 0, 50_000, 56_200),
]


# --------------------------------------------------------------------------------- completeness
def test_a_ledger_booked_from_the_first_invoice_is_complete(books: Books) -> None:
    three_invoices(books)
    head = books.ledger.head("acc_1")
    assert (head.seq, head.balance, head.complete, head.generation) == (4, 56_200, True, "")
    assert books.ledger.head("acc_nobody").complete


def test_an_account_with_invoices_but_no_ledger_is_incomplete_and_so_are_entries_booked_after(
    books: Books,
) -> None:
    three_invoices(books)
    books.forget("acc_1")
    assert not books.ledger.head("acc_1").complete

    # a commit after that books after an incomplete head, which stays incomplete
    pay(later(books), issue(later(books)), 1_000, "pay_new")

    head = books.ledger.head("acc_1")
    assert (head.seq, head.complete) == (2, False)


@dynamo_only
def test_a_head_written_before_the_flag_existed_is_incomplete(books: Books) -> None:
    three_invoices(books)
    table = books.stores.invoices._table  # type: ignore[attr-defined]
    table.call(
        "update_item", Key=serialize(head_key("acc_1")), UpdateExpression="REMOVE complete, generation"
    )
    head = books.ledger.head("acc_1")
    assert (head.seq, head.complete, head.generation) == (4, False, "")


# ------------------------------------------------------------------------------------ backfills
def test_a_backfill_rebuilds_the_ledger_from_the_invoices_and_a_second_run_changes_nothing(
    books: Books,
) -> None:
    three_invoices(books)
    books.forget("acc_1")

    first = books.backfill.run("acc_1")
    second = books.backfill.run("acc_1")

    assert (first.outcome, first.entries) == (BackfillOutcome.REBUILT, 4)
    assert history(books) == BOOKED
    assert second.outcome is BackfillOutcome.ALREADY_COMPLETE and second.head == first.head
    head = books.ledger.head("acc_1")
    assert (head.seq, head.balance, head.complete) == (4, 56_200, True) and head.generation
    assert history(books, "acc_other") == [("invoice", 106_200, 0, 106_200)]  # untouched


def test_commits_after_a_backfill_book_into_the_new_generation(books: Books) -> None:
    three_invoices(books)
    books.forget("acc_1")
    books.backfill.run("acc_1")

    pay(later(books), issue(later(books)), 6_200, "pay_after")

    assert history(books)[4:] == [("invoice", 106_200, 0, 162_400), ("payment", 0, 6_200, 156_200)]
    assert books.ledger.head("acc_1").complete


def test_a_commit_during_a_backfill_makes_it_start_over_and_is_booked_once(books: Books) -> None:
    three_invoices(books)
    books.forget("acc_1")
    late = issue(later(books))
    real = books.history.replace
    calls: list[bool] = []

    def replace(*args: Any) -> bool:
        if not calls:  # the first switch: a payment is committed between the reads and the switch
            pay(later(books), late, 6_200, "pay_during")
        calls.append(real(*args))
        return calls[-1]

    books.history.replace = replace

    result = books.backfill.run("acc_1")

    assert calls == [False, True] and result.attempts == 2
    assert history(books) == [
        *BOOKED,
        ("invoice", 106_200, 0, 162_400),
        ("payment", 0, 6_200, 156_200),
    ]


@dynamo_only
def test_a_refused_switch_leaves_no_entries_behind_and_a_done_one_removes_the_old_generation(
    books: Books,
) -> None:
    three_invoices(books)
    head = books.ledger.head("acc_1")
    stale = LedgerHead(seq=head.seq - 1, balance=0, complete=False)  # a head that has moved since
    old = list(books.history.booked("acc_1", ""))
    entries, rebuilt = rebuild("acc_1", [], old, generation="g_refused")

    assert not books.history.replace("acc_1", stale, entries, rebuilt)
    assert list(books.history.booked("acc_1", "g_refused")) == []
    assert books.ledger.head("acc_1") == head

    entries, rebuilt = rebuild("acc_1", [], old, generation="g_done")
    assert books.history.replace("acc_1", head, entries, rebuilt)
    assert list(books.history.booked("acc_1", "")) == []
    assert [e.seq for e in books.history.booked("acc_1", "g_done")] == [1, 2, 3, 4]


@dynamo_only
def test_a_commit_that_read_the_head_before_a_backfill_switched_books_after_the_new_one(books: Books) -> None:
    # Given an account from before the ledger, and a payment being committed right when the
    # backfill switches the head (the commit has read the old head)
    three_invoices(books)
    books.forget("acc_1")
    invoice = issue(later(books))
    table = books.stores.invoices._table  # type: ignore[attr-defined]
    real_get = table.get
    raced = {"done": False}

    def get(key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
        found = real_get(key, consistent=consistent)
        if key == head_key("acc_1") and not raced["done"] and found is not None:
            raced["done"] = True
            books.backfill.run("acc_1")
        return found

    table.get = get  # type: ignore[method-assign]
    try:
        pay(later(books), invoice, 6_200, "pay_racing")
    finally:
        table.get = real_get  # type: ignore[method-assign]

    assert history(books) == [*BOOKED, ("invoice", 106_200, 0, 162_400), ("payment", 0, 6_200, 156_200)]
    assert books.ledger.head("acc_1").complete
