"""Billing runs against the in-memory fakes: one invoice per account and month, every record billed
once, failures isolated. Races are proved by injecting the conflicting write just before ours."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from invoicing.domain.billing import ClaimPeriod, SaveUsagePeriod
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.errors import InvalidTransitionError
from invoicing.domain.invoice import InvoiceStatus
from invoicing.domain.outbox import PublishEvent
from tests.billing.conftest import NOVEMBER, OPERATOR, hourly, record

DECEMBER = NOVEMBER.replace(month=12)


def _ready(world, *accounts: str, hours: int = 3):
    world.price()
    for account in accounts:
        world.profile(account)
        world.post(*hourly(account, "pod-1", hours))


def test_a_run_issues_one_invoice_per_account_with_the_summary_lines_and_the_profile_terms(world):
    # Given
    world.price()
    world.price(
        "storage.ssd.gb_month", rate="8.40", resource_type="storage", unit="GB-month", description="SSD"
    )
    world.profile("acc_1", payment_terms_days=30, partial_payment=True)
    world.post(
        *hourly("acc_1", "pod-1", 5),
        record("vol", sku="storage.ssd.gb_month", resource="vol-1", quantity="512.5"),
    )
    summary = world.service.summary(OPERATOR, "2026-11", "acc_1")
    # When
    run = world.run("2026-11")
    # Then
    (invoice,) = world.invoices_of("acc_1")
    assert (run.status, run.accounts, run.invoices_created, run.skipped, run.failed) == (
        "completed",
        1,
        1,
        (),
        (),
    )
    assert invoice.status is InvoiceStatus.ISSUED and invoice.origin == "billing_run"
    assert invoice.description == "GPU cloud usage — November 2026"
    assert (invoice.billing_period.start, invoice.billing_period.end) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert invoice.payment_terms_days == 30 and invoice.partial_payment
    assert invoice.due_date == invoice.date + timedelta(days=30)
    assert invoice.payment_url and invoice.razorpay_invoice_id
    assert [line.to_line_item() for line in summary.lines] == list(invoice.line_items)
    assert invoice.taxable_amount == summary.taxable_amount
    after = world.service.summary(OPERATOR, "2026-11", "acc_1")
    assert after.invoice_id == invoice.id and after.lines == summary.lines


def test_a_second_run_a_retried_schedule_and_a_redelivery_never_make_a_second_invoice(world):
    _ready(world, "acc_1")
    first = world.run()
    # a second operator run of the same month: the account has nothing unbilled, it is not even considered
    second = world.run()
    # the same account named explicitly, and a redelivered message of the first run
    third = world.run(account_ids=["acc_1"])
    outcome = world.runs.bill(first.id, "2026-11", "acc_1")
    assert len(world.invoices_of("acc_1")) == 1
    assert (first.invoices_created, second.accounts, third.skipped[0].reason) == (1, 0, "already_invoiced")
    assert outcome.kind == "created" and world.billing.run(first.id).done == 1  # counted once


def test_a_scheduled_event_delivered_twice_resumes_the_same_run(world):
    _ready(world, "acc_1")
    one = world.runs.run_scheduled(DECEMBER, "evt-1")
    two = world.runs.run_scheduled(DECEMBER, "evt-1")
    world.deliver()
    assert one.id == two.id and one.period == "2026-11"
    assert world.billing.run(one.id).invoices_created == 1 and len(world.invoices_of("acc_1")) == 1


def test_two_runs_at_once_make_one_invoice(world, monkeypatch):
    # Given run A reading the account while run B bills it and commits first
    _ready(world, "acc_1")
    a = world.runs._start("2026-11", "operator", ("acc_1",), "run_A")
    b = world.runs._start("2026-11", "operator", ("acc_1",), "run_B")
    commit = world.store.commit
    injected = []

    def racing(changes):
        if not injected and any(isinstance(c, ClaimPeriod) and c.claim.run_id == "run_A" for c in changes):
            injected.append(world.runs.bill_account(b.id, "2026-11", "acc_1"))  # B wins the race
        return commit(changes)

    monkeypatch.setattr(world.store, "commit", racing)
    # When
    outcome_a = world.runs.bill_account(a.id, "2026-11", "acc_1")
    # Then
    (invoice,) = world.invoices_of("acc_1")
    assert injected[0].kind == "created" and injected[0].invoice_id == invoice.id
    assert (outcome_a.kind, outcome_a.reason, outcome_a.invoice_id) == (
        "skipped",
        "already_invoiced",
        invoice.id,
    )
    assert invoice.status is InvoiceStatus.ISSUED


def test_a_crash_between_creating_and_issuing_is_resumed_with_the_same_draft(world, monkeypatch):
    # Given the first attempt dies after the draft's commit, before Razorpay
    _ready(world, "acc_1")
    run = world.runs._start("2026-11", "operator", ("acc_1",), "run_C")
    world.runs.plan(run.id)
    issue = world.invoices.issue
    monkeypatch.setattr(
        world.invoices, "issue", lambda invoice_id: (_ for _ in ()).throw(RuntimeError("crash"))
    )
    with pytest.raises(RuntimeError):
        world.runs.bill(run.id, "2026-11", "acc_1", last_attempt=False)
    (draft,) = world.invoices_of("acc_1")
    assert draft.status is InvoiceStatus.DRAFT
    # When SQS delivers the message again
    monkeypatch.setattr(world.invoices, "issue", issue)
    world.deliver()
    # Then the same invoice is issued; no second one
    (invoice,) = world.invoices_of("acc_1")
    assert invoice.id == draft.id and invoice.status is InvoiceStatus.ISSUED
    assert world.billing.run(run.id).status == "completed"


def test_a_record_accepted_after_its_month_was_invoiced_goes_on_the_next_invoice_with_its_own_dates(world):
    _ready(world, "acc_1")
    world.run("2026-11")
    late = record("late-1", start=NOVEMBER + timedelta(days=20), quantity="4")
    december = record("dec-1", start=DECEMBER, quantity="1")
    world.post(late, december)
    november = world.service.summary(OPERATOR, "2026-11", "acc_1")
    assert november.records == 4 and len(november.lines) == 2  # the late line shows in its own month
    world.clock.set(world.clock.now + timedelta(days=31))
    world.run("2026-12")
    first, second = world.invoices_of("acc_1")
    assert [(line.usage_start, line.quantity) for line in second.line_items] == [
        (late.start, Decimal(4)),
        (december.start, Decimal(1)),
    ]
    assert second.billing_period.start == date(2026, 12, 1)
    assert sum(line.quantity for i in (first, second) for line in i.line_items) == 3 + 4 + 1


def test_a_record_accepted_while_the_run_reads_the_account_is_on_this_invoice(world, monkeypatch):
    _ready(world, "acc_1")
    commit = world.store.commit
    sneaky = record("sneaky", start=NOVEMBER + timedelta(hours=10), quantity="7")

    def racing(changes):
        if any(isinstance(c, SaveInvoice) for c in changes) and (
            "acc_1",
            "sneaky",
        ) not in world.store.collection("records"):
            world.post(sneaky)  # accepted between the run's reads and its commit
        return commit(changes)

    monkeypatch.setattr(world.store, "commit", racing)
    world.run()
    (invoice,) = world.invoices_of("acc_1")
    assert invoice.line_items[0].quantity == 3 + 7
    assert world.billing.open_periods("acc_1", "2026-12") == []  # nothing left for the next invoice


def test_a_record_whose_batch_read_the_month_before_the_run_committed_goes_on_the_next_invoice(
    world, monkeypatch
):
    _ready(world, "acc_1")
    commit = world.store.commit
    done = []

    def racing(changes):
        if not done and any(isinstance(c, SaveUsagePeriod) and c.after.records and c.before for c in changes):
            done.append(world.run())  # the run commits between the batch's reads and its commit
        return commit(changes)

    monkeypatch.setattr(world.store, "commit", racing)
    world.post(record("racing", start=NOVEMBER + timedelta(hours=20), quantity="2"))
    monkeypatch.setattr(world.store, "commit", commit)
    (invoice,) = world.invoices_of("acc_1")
    assert sum(line.quantity for line in invoice.line_items) == 3  # not on this one ...
    world.clock.set(world.clock.now + timedelta(days=31))
    world.run("2026-12")
    _, nxt = world.invoices_of("acc_1")
    assert [line.quantity for line in nxt.line_items] == [Decimal(2)]  # ... on the next, once


def test_razorpay_down_for_one_account_fails_it_alone_and_running_again_finishes_it(world):
    # Given
    _ready(world, "acc_1", "acc_2", "acc_3")
    world.payments.down_for = {"acc_2"}
    # When
    first = world.run()
    # Then
    assert first.status == "completed_with_errors" and first.invoices_created == 2
    assert [f.account_id for f in first.failed] == ["acc_2"] and "Razorpay" in first.failed[0].message
    others = {a: world.invoices_of(a)[0] for a in ("acc_1", "acc_3")}
    # When Razorpay is back and the month is run again
    world.payments.down_for = set()
    again = world.run()
    (invoice,) = world.invoices_of("acc_2")
    assert invoice.status is InvoiceStatus.ISSUED
    assert (again.accounts, again.invoices_created, again.status) == (1, 1, "completed")
    assert {a: world.invoices_of(a)[0] for a in ("acc_1", "acc_3")} == others  # untouched


def test_accounts_without_profile_or_billable_usage_are_skipped(world):
    world.price()
    world.price("free.tier", rate="0", description="Free tier")
    world.post(*hourly("acc_noprofile", "pod-1", 2))
    world.profile("acc_zero")
    world.post(record("z", "acc_zero", quantity="0"), record("f", "acc_zero", sku="free.tier"))
    run = world.run()
    assert {(s.account_id, s.reason) for s in run.skipped} == {
        ("acc_noprofile", "no_profile"),
        ("acc_zero", "no_usage"),
    }
    assert run.invoices_created == 0 and run.status == "completed"
    assert world.store.invoices == {}
    assert world.run().accounts == 1  # worthless usage is closed; the account without a profile stays


def test_auto_issue_off_leaves_a_draft_that_cannot_be_deleted(world):
    world.price()
    world.profile("acc_1", auto_issue=False)
    world.post(*hourly("acc_1", "pod-1", 2))
    run = world.run()
    (draft,) = world.invoices_of("acc_1")
    assert draft.status is InvoiceStatus.DRAFT and run.invoices_created == 1
    with pytest.raises(InvalidTransitionError):
        world.invoices.delete(draft.id)
    assert world.run().accounts == 0  # nothing left for a run to do


def test_customer_fields_come_from_the_profile_when_the_invoice_is_created(world):
    from tests.unit.factories import customer

    _ready(world, "acc_1")
    world.run()
    world.profile("acc_1", customer=customer(name="Renamed LLP"))
    world.post(record("dec", start=DECEMBER))
    world.clock.set(world.clock.now + timedelta(days=31))
    world.run("2026-12")
    old, new = world.invoices_of("acc_1")
    assert old.customer.name == "Acme Analytics LLP" and new.customer.name == "Renamed LLP"


def test_the_run_completes_once_and_announces_it_through_the_outbox(world):
    _ready(world, "acc_1", "acc_2")
    run = world.run()
    world.runs.finish_if_done(run.id)
    events = [
        e
        for o in world.store.outbox.values()
        for e in o.message.effects
        if isinstance(e, PublishEvent) and e.detail_type == "BillingRunCompleted"
    ]
    assert [e.detail for e in events] == [
        {"run_id": run.id, "period": "2026-11", "invoices_created": 2, "failed": 0}
    ]
    assert run.finished_at is not None


def test_an_empty_month_completes_at_once(world):
    world.price()
    run = world.run()
    assert (run.status, run.accounts) == ("completed", 0)


def test_an_operator_run_needs_a_month_that_has_ended(world):
    from invoicing.domain.errors import DomainValidationError

    with pytest.raises(DomainValidationError):
        world.runs.request("2026-12", None)  # the clock is in December 2026 (IST)
    run = world.runs.request("2026-11", ["acc_1", "acc_1"])
    assert run.account_ids == ("acc_1",) and world.queue.plans == [run.id]


def test_billing_reads_grow_with_lines_not_records(world):
    world.price()
    world.profile("acc_1")
    world.profile("acc_2")
    for account, hours in (("acc_1", 10), ("acc_2", 400)):
        for r in range(20):
            world.post(*hourly(account, f"pod-{r}", hours))
    counts = []
    for account in ("acc_1", "acc_2"):
        world.billing.reads.clear()
        world.runs.bill_account("run_x", "2026-11", account)
        counts.append(len(world.billing.reads))
    assert counts[0] == counts[1] <= 5


def test_the_next_months_run_issues_a_draft_an_earlier_run_could_not(world):
    # Given October's run left acc_1's invoice a draft (Razorpay down) and nobody ran October again
    world.price()
    world.profile("acc_1")
    world.post(record("oct", start=NOVEMBER - timedelta(days=10)))
    world.payments.down_for = {"acc_1"}
    october = world.run("2026-10")
    assert october.failed_count == 1
    world.payments.down_for = set()
    world.post(record("nov", start=NOVEMBER))
    # When November is run
    november = world.run("2026-11")
    # Then October's draft is issued first, November gets its own invoice, nothing is left to do
    oct_invoice, nov_invoice = world.invoices_of("acc_1")
    assert oct_invoice.status is nov_invoice.status is InvoiceStatus.ISSUED
    assert oct_invoice.billing_period.start == date(2026, 10, 1)
    assert (november.invoices_created, november.status) == (1, "completed")
    assert list(world.billing.unbilled_entries(16, "2026-12")) == []
