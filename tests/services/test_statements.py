"""Statements of account against the fakes: balances worked out by hand, ranges that start mid-history,
who may ask and see, accounts older than the ledger (backfilled on first use), dead letters."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from invoicing.domain.access import Caller
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.documents import Download, DownloadStatus
from invoicing.domain.errors import DomainValidationError, ForbiddenError, NotFoundError
from invoicing.domain.invoice import CreditNoteRef, Invoice, RefundStatus
from invoicing.domain.ledger import EntryType
from invoicing.domain.statements import StatementStatus
from invoicing.services.dead_letters import DeadLetters
from invoicing.services.ledger_backfill import BackfillOutcome, LedgerBackfill
from invoicing.services.retry import NO_WAIT
from invoicing.services.statements import StatementOutcome, StatementRenderService, StatementService
from tests.fakes.backfill import LedgerHistory, forget_ledger
from tests.fakes.statements import RecordingStatementJobs, RecordingStatementRenderer, Statements
from tests.fakes.store import Documents, Downloads, Ledger, RenderRequests
from tests.services.conftest import World
from tests.unit.factories import NOW, draft, issued, payment, supplier

OPERATOR = Caller(account_id=None, is_operator=True)
OCT = date(2026, 10, 1)


def day(n: int) -> datetime:
    """Noon IST on ``n`` October 2026."""
    return datetime(2026, 10, n, 6, 30, tzinfo=UTC)


@dataclass
class Statements_:
    """The statement services over the world's store, with their recorders."""

    world: World
    jobs: RecordingStatementJobs
    renderer: RecordingStatementRenderer
    history: LedgerHistory

    @property
    def store(self) -> Statements:
        return Statements(self.world.store)

    @property
    def api(self) -> StatementService:
        return StatementService(
            statements=self.store,
            invoices=self.world.store,
            ledger=Ledger(self.world.store),
            jobs=self.jobs,
            links=self.world.storage,
            clock=self.world.clock,
        )

    @property
    def backfill(self) -> LedgerBackfill:
        return LedgerBackfill(history=self.history, backoff=NO_WAIT)

    @property
    def renders(self) -> StatementRenderService:
        return StatementRenderService(
            statements=self.store,
            ledger=Ledger(self.world.store),
            backfill=self.backfill,
            renderer=self.renderer,
            storage=self.world.storage,
            supplier=supplier(),
            clock=self.world.clock,
        )

    def made(self, caller: Caller, account_id: str, start: date, end: date):  # type: ignore[no-untyped-def]
        """Request a statement and run its job; the view ``GET /statements/{id}`` answers."""
        statement = self.api.request(caller, account_id, start, end)
        assert self.renders.render(statement.id).outcome is StatementOutcome.READY
        return self.api.get(caller, statement.id)


@pytest.fixture
def st(world: World) -> Statements_:
    world.clock.set(day(31))
    return Statements_(
        world, RecordingStatementJobs(), RecordingStatementRenderer(), LedgerHistory(world.store)
    )


class Book:
    """Money events on one invoice, committed as the services would (SaveInvoice before → after)."""

    def __init__(self, world: World, invoice: Invoice) -> None:
        self.world, self.invoice = world, invoice

    def save(self, after: Invoice) -> Book:
        self.world.store.commit([SaveInvoice(self.invoice, after)])
        self.invoice = after
        return self

    @classmethod
    def issue(
        cls, world: World, on: int, *, account_id: str = "acc_1", number: str = "INV/2627/000001"
    ) -> Book:
        created = draft(account_id=account_id, now=day(on))
        world.store.commit([SaveInvoice(None, created)])
        book = cls(world, created)
        return book.save(issued(created, now=day(on), invoice_number=number))

    def pay(self, amount: int, on: int, payment_id: str) -> Book:
        return self.save(self.invoice.apply_payment(payment(amount, payment_id, paid_at=day(on)), day(on)))

    def credit(self, amount: int, on: int, note_id: str, number: str) -> Book:
        note = CreditNoteRef(
            id=note_id,
            credit_note_number=number,
            date=date(2026, 10, on),
            amount=amount,
            taxable_amount=amount * 100 // 118,
            cgst=0,
            sgst=0,
            igst=0,
        )
        credited = (*self.invoice.credit_notes, note)
        return self.save(
            self.invoice.model_copy(update={"credit_notes": credited, "version": self.invoice.version + 1})
        )

    def refund_processed(self, on: int, razorpay_id: str) -> Book:
        refund = next(r for r in self.invoice.refunds if r.status is RefundStatus.PENDING)
        return self.save(
            self.invoice.settle_refund(
                refund.id, RefundStatus.PROCESSED, day(on), razorpay_refund_id=razorpay_id
            )
        )


def october(world: World) -> tuple[Book, Book]:
    """Two invoices of 1,062.00 and their money, by hand (paise; balance = what acc_1 owes):

    01 Oct  invoice  INV/2627/000001  +106200   106200
    02 Oct  payment  pay_a             −50000    56200
    03 Oct  invoice  INV/2627/000002  +106200   162400
    04 Oct  credit   CN/2627/000001    −10000   152400
    05 Oct  payment  pay_b (A's rest + 5,000 too much)  −51200   101200
    06 Oct  refund   rfnd_1 (the 5,000)  +5000   106200
    07 Oct  payment  pay_c (B, part)   −30000    76200
    """
    a = Book.issue(world, 1)
    a.pay(50_000, 2, "pay_a")
    b = Book.issue(world, 3, number="INV/2627/000002")
    a.credit(10_000, 4, "cn_1", "CN/2627/000001")
    a.pay(51_200, 5, "pay_b")
    a.refund_processed(6, "rfnd_1")
    b.pay(30_000, 7, "pay_c")
    return a, b


BY_HAND = [
    ("2026-10-01", EntryType.INVOICE, "INV/2627/000001", 106_200, 0, 106_200),
    ("2026-10-02", EntryType.PAYMENT, "pay_a", 0, 50_000, 56_200),
    ("2026-10-03", EntryType.INVOICE, "INV/2627/000002", 106_200, 0, 162_400),
    ("2026-10-04", EntryType.CREDIT_NOTE, "CN/2627/000001", 0, 10_000, 152_400),
    ("2026-10-05", EntryType.PAYMENT, "pay_b", 0, 51_200, 101_200),
    ("2026-10-06", EntryType.REFUND, "rfnd_1", 5_000, 0, 106_200),
    ("2026-10-07", EntryType.PAYMENT, "pay_c", 0, 30_000, 76_200),
]


def rows(entries) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(e.date.isoformat(), e.type, e.reference, e.debit, e.credit, e.balance) for e in entries]


# ------------------------------------------------------------------------------------ balances
def test_a_statement_lists_every_money_event_with_balances_worked_out_by_hand(st: Statements_) -> None:
    # Given invoices, part payments, a credit note, an overpayment and its refund in October
    october(st.world)

    # When the customer asks for October's statement and the renderer builds it
    view = st.made(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))

    # Then every entry, its running balance and the figures are the ones worked out by hand
    assert view.statement.status is StatementStatus.READY
    assert rows(view.entries) == BY_HAND
    figures = view.statement.figures
    assert figures.opening_balance == 0
    assert (figures.totals.invoiced, figures.totals.paid) == (212_400, 131_200)
    assert (figures.totals.credited, figures.totals.refunded) == (10_000, 5_000)
    assert figures.closing_balance == 0 + 212_400 + 5_000 - 131_200 - 10_000 == 76_200
    # the CSV in the bucket says the same, in rupees
    body, filename = st.world.storage.objects[view.statement.csv_key]
    lines = body.decode().split("\r\n")
    assert lines[0] == "date,type,reference,description,debit,credit,balance"
    assert lines[2] == "2026-10-02,payment,pay_a,Payment for INV/2627/000001 (upi),0.00,500.00,562.00"
    assert lines[6].startswith("2026-10-06,refund,rfnd_1,Refund on INV/2627/000001,50.00,0.00,1062.00")
    assert filename == "statement-acc_1-2026-10-01-2026-10-31.csv"
    # the PDF printed all of them, with the same figures; both links are handed out
    (printed,) = st.renderer.printed
    assert [e.reference for e in printed.entries] == [row[2] for row in BY_HAND]
    assert printed.figures == figures
    assert view.pdf.url.endswith(f"{view.statement.pdf_key}?sig=x") and view.csv.filename.endswith(".csv")


def test_a_range_that_starts_mid_history_opens_with_the_balance_before_it(st: Statements_) -> None:
    october(st.world)

    view = st.made(OPERATOR, "acc_1", date(2026, 10, 4), date(2026, 10, 6))

    assert view.statement.figures.opening_balance == 162_400  # after 03 Oct, by hand
    assert rows(view.entries) == BY_HAND[3:6]
    assert view.statement.figures.closing_balance == 106_200
    assert view.statement.figures.entry_count == 3


def test_a_range_with_no_entries_carries_the_balance_through(st: Statements_) -> None:
    october(st.world)
    st.world.clock.set(datetime(2026, 12, 1, 6, 30, tzinfo=UTC))

    view = st.made(OPERATOR, "acc_1", date(2026, 11, 1), date(2026, 11, 30))

    assert view.entries == []
    assert view.statement.figures.opening_balance == view.statement.figures.closing_balance == 76_200


def test_get_answers_the_entries_the_statement_printed_even_after_later_bookings(st: Statements_) -> None:
    a, _ = october(st.world)
    view = st.made(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))

    # a payment reported later is booked on the latest date in the ledger (07 Oct, inside the range)
    a.pay(1_000, 2, "pay_late")

    again = st.api.get(Caller("acc_1"), view.statement.id)
    assert rows(again.entries) == BY_HAND
    assert again.statement.figures.closing_balance == 76_200


def test_a_pending_statement_has_no_figures_entries_or_links(st: Statements_) -> None:
    october(st.world)
    statement = st.api.request(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))

    view = st.api.get(Caller("acc_1"), statement.id)

    assert view.statement.status is StatementStatus.PENDING
    assert (view.entries, view.pdf, view.csv, view.statement.figures) == ([], None, None, None)
    assert st.jobs.queued == [statement.id]
    assert statement.id.startswith("st_")
    assert statement.customer.name == "Acme Analytics LLP"  # as on the account's latest invoice


def test_a_repeated_job_changes_nothing(st: Statements_) -> None:
    october(st.world)
    view = st.made(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))

    again = st.renders.render(view.statement.id)

    assert again.outcome is StatementOutcome.ALREADY_DONE
    assert len(st.renderer.printed) == 1


def test_a_ledger_whose_balances_do_not_add_up_fails_the_statement_instead_of_printing_it(
    st: Statements_,
) -> None:
    october(st.world)
    entries = st.world.store.ledger_entries["acc_1"]
    entries[3] = replace(entries[3], balance=entries[3].balance + 1)
    statement = st.api.request(OPERATOR, "acc_1", OCT, date(2026, 10, 31))

    rendition = st.renders.render(statement.id)

    assert rendition.outcome is StatementOutcome.FAILED
    failed = st.store.get(statement.id)
    assert failed.status is StatementStatus.FAILED and "balance" in failed.failure_reason
    assert st.renderer.printed == [] and statement.csv_key not in st.world.storage.objects


# ------------------------------------------------------------------------------ who may ask
def test_a_customer_may_only_ask_for_its_own_account(st: Statements_) -> None:
    with pytest.raises(ForbiddenError):
        st.api.request(Caller("acc_2"), "acc_1", OCT, date(2026, 10, 31))
    assert st.store.items == {} and st.jobs.queued == []


def test_another_tenants_statement_is_not_found_and_the_operator_sees_every_one(st: Statements_) -> None:
    october(st.world)
    Book.issue(st.world, 2, account_id="acc_2", number="INV/2627/000003")
    mine = st.made(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))
    theirs = st.made(Caller("acc_2"), "acc_2", OCT, date(2026, 10, 31))

    with pytest.raises(NotFoundError):
        st.api.get(Caller("acc_2"), mine.statement.id)
    with pytest.raises(NotFoundError):
        st.api.get(Caller("acc_1"), "st_Missing0000001")
    # tenants never see each other's entries
    assert [e.reference for e in theirs.entries] == ["INV/2627/000003"]
    assert st.api.get(OPERATOR, mine.statement.id).entries == mine.entries


@pytest.mark.parametrize(
    ("start", "end", "where"),
    [
        (date(2026, 10, 5), date(2026, 10, 4), "before from"),
        (date(2026, 10, 1), date(2026, 11, 1), "future"),
        (date(2025, 10, 29), date(2026, 10, 30), "367 days"),
    ],
)
def test_ranges_are_refused_when_backwards_in_the_future_or_longer_than_366_days(
    st: Statements_, start: date, end: date, where: str
) -> None:
    with pytest.raises(DomainValidationError) as refused:
        st.api.request(Caller("acc_1"), "acc_1", start, end)
    assert refused.value.details[0]["loc"] == ["body", "to"]
    assert st.jobs.queued == []


def test_a_leap_year_s_366_days_and_today_are_allowed(st: Statements_) -> None:
    st.world.clock.set(datetime(2028, 12, 31, 6, 30, tzinfo=UTC))
    statement = st.api.request(Caller("acc_1"), "acc_1", date(2028, 1, 1), date(2028, 12, 31))
    assert statement.status is StatementStatus.PENDING


def test_a_job_that_cannot_be_queued_is_marked_failed(st: Statements_) -> None:
    st.jobs.failures = 1
    with pytest.raises(RuntimeError):
        st.api.request(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))
    (statement,) = st.store.items.values()
    assert statement.status is StatementStatus.FAILED


# --------------------------------------------------------------------- accounts older than the ledger
def test_an_account_older_than_the_ledger_is_backfilled_on_first_use(st: Statements_) -> None:
    # Given October's history, but from before the ledger existed: invoices, no ledger at all
    october(st.world)
    forget_ledger(st.world.store, "acc_1")
    assert not Ledger(st.world.store).head("acc_1").complete

    # When a statement of the middle of it is made
    statement = st.api.request(OPERATOR, "acc_1", date(2026, 10, 4), date(2026, 10, 6))
    rendition = st.renders.render(statement.id)

    # Then the ledger was rebuilt from the invoices first, and the statement is right
    assert rendition.backfilled
    view = st.api.get(OPERATOR, statement.id)
    assert view.statement.figures.opening_balance == 162_400
    assert rows(view.entries) == BY_HAND[3:6]
    assert Ledger(st.world.store).head("acc_1").complete


def test_an_incomplete_ledger_with_entries_booked_since_is_rebuilt_without_duplicates(
    st: Statements_,
) -> None:
    # Given invoices from before the ledger, then (once the ledger existed) more money events booked
    # after an incomplete head, as commits book them
    a = Book.issue(st.world, 1)
    a.pay(50_000, 2, "pay_a")
    b = Book.issue(st.world, 3, number="INV/2627/000002")
    forget_ledger(st.world.store, "acc_1")
    a.credit(10_000, 4, "cn_1", "CN/2627/000001")  # books seq 1 after a missing (incomplete) head
    a.pay(51_200, 5, "pay_b")
    a.refund_processed(6, "rfnd_1")
    b.pay(30_000, 7, "pay_c")
    head = Ledger(st.world.store).head("acc_1")
    assert (head.seq, head.balance, head.complete) == (4, -86_200, False)  # balances are off

    result = st.backfill.run("acc_1")

    assert result.outcome is BackfillOutcome.REBUILT and result.entries == 7
    view = st.made(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))
    assert rows(view.entries) == BY_HAND
    assert [e.seq for e in view.entries] == list(range(1, 8))


def test_running_the_backfill_twice_changes_nothing(st: Statements_) -> None:
    october(st.world)
    forget_ledger(st.world.store, "acc_1")
    first = st.backfill.run("acc_1")
    ledger = list(st.world.store.ledger_entries["acc_1"])

    second = st.backfill.run("acc_1")

    assert first.outcome is BackfillOutcome.REBUILT
    assert second.outcome is BackfillOutcome.ALREADY_COMPLETE and second.attempts == 0
    assert st.world.store.ledger_entries["acc_1"] == ledger
    assert st.history.replaced == 1


def test_a_commit_during_the_backfill_is_neither_lost_nor_booked_twice(st: Statements_) -> None:
    # Given an account from before the ledger
    _, b = october(st.world)
    forget_ledger(st.world.store, "acc_1")

    # When a payment is committed while the backfill is rebuilding (just before it switches)
    st.history.before_replace = lambda: b.pay(20_000, 8, "pay_d")
    result = st.backfill.run("acc_1")

    # Then the switch was refused once, and the next attempt's ledger includes the payment once
    assert st.history.refused == 1 and result.attempts == 2
    entries = st.world.store.ledger_entries["acc_1"]
    assert [e.reference for e in entries].count("pay_d") == 1
    assert rows(entries)[:7] == BY_HAND
    assert entries[-1].balance == 76_200 - 20_000 == Ledger(st.world.store).head("acc_1").balance


def test_a_new_account_s_ledger_is_complete_from_its_first_invoice(st: Statements_) -> None:
    Book.issue(st.world, 1, account_id="acc_new")
    assert Ledger(st.world.store).head("acc_new").complete
    assert Ledger(st.world.store).head("acc_nothing").complete


# ----------------------------------------------------------------------------------- dead letters
def dead_letters(st: Statements_, *, downloads: Downloads | None = None) -> DeadLetters:
    return DeadLetters(
        downloads=downloads or Downloads(st.world.store),
        statements=st.store,
        documents=Documents(st.world.store),
        render_requests=RenderRequests(st.world.store),
    )


def test_a_dead_lettered_download_or_statement_is_marked_failed_once(st: Statements_) -> None:
    downloads = Downloads(st.world.store)
    downloads.create(
        Download("dl_1", "acc_1", ("inv_1",), DownloadStatus.PENDING, "exports/acc_1/dl_1.zip", NOW, NOW)
    )
    statement = st.api.request(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))
    dead = dead_letters(st, downloads=downloads)

    assert dead.download_failed("dl_1") and dead.statement_failed(statement.id)
    assert not dead.download_failed("dl_1") and not dead.statement_failed(statement.id)
    assert downloads.get("dl_1").status is DownloadStatus.FAILED
    assert st.store.get(statement.id).status is StatementStatus.FAILED


def test_a_dead_lettered_invoice_render_marks_that_version_failed_once(st: Statements_) -> None:
    invoice = Book.issue(st.world, 1).invoice
    documents = Documents(st.world.store)
    dead = dead_letters(st)

    assert dead.invoice_pdf_failed(invoice.id, invoice.version)
    assert not dead.invoice_pdf_failed(invoice.id, invoice.version)
    assert documents.get(invoice.id).pdf_failed


def test_a_dead_lettered_credit_note_or_receipt_render_marks_that_version_failed_once(
    st: Statements_,
) -> None:
    dead, requests = dead_letters(st), RenderRequests(st.world.store)

    assert dead.document_pdf_failed("credit_note", "cn_1", 1)
    assert not dead.document_pdf_failed("credit_note", "cn_1", 1)
    assert requests.failed("credit_note", "cn_1", 1)
    assert not requests.failed("receipt", "cn_1", 1) and not requests.failed("credit_note", "cn_1", 2)


def test_a_dead_letter_for_a_job_that_did_finish_leaves_it_as_it_is(st: Statements_) -> None:
    october(st.world)
    view = st.made(Caller("acc_1"), "acc_1", OCT, date(2026, 10, 31))
    dead = dead_letters(st)

    assert not dead.statement_failed(view.statement.id)
    assert st.store.get(view.statement.id).status is StatementStatus.READY
    assert timedelta(0) < view.statement.expires_at - view.statement.created_at <= timedelta(days=7)
