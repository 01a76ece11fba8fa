"""The sweep's per-invoice plan (domain/sweep.py): which transitions, in which order, which e-mail."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.numbering import IST, ist_date
from invoicing.domain.sweep import Reminder, SweepAction, SweepStep, plan
from tests.unit.factories import NOW, dispute, issued, payment

DUE = date(2026, 10, 16)  # issued at NOW with 15-day terms
MARK = SweepStep(SweepAction.MARK_OVERDUE, notify=True)
SUSPEND = SweepStep(SweepAction.REQUEST_SUSPENSION)


def at(day: date) -> datetime:
    return datetime.combine(day, time(6, 0), tzinfo=IST)


def late(n: int) -> tuple[date, datetime]:
    day = DUE + timedelta(days=n)
    return day, at(day)


def reminder(day: int, notify: bool) -> SweepStep:
    return SweepStep(SweepAction.RECORD_REMINDER, reminder_day=day, notify=notify)


def run(invoice: Invoice, n: int) -> Invoice:
    """Apply the whole plan for day ``n`` past due."""
    today, now = late(n)
    for step in plan(invoice, today, now):
        invoice = step.apply(invoice, today, now)
    return invoice


def test_nothing_is_due_on_or_before_the_due_date():
    invoice = issued()
    assert invoice.due_date == DUE
    assert plan(invoice, *late(0)) == ()
    assert plan(invoice, *late(-3)) == ()


def test_the_day_after_the_due_date_marks_overdue_with_the_overdue_notice():
    assert plan(issued(), *late(1)) == (MARK,)


def test_reminder_days_each_notify_once():
    overdue = run(issued(), 1)
    assert plan(overdue, *late(2)) == ()
    assert plan(overdue, *late(3)) == (reminder(3, notify=True),)
    after_3 = run(overdue, 3)
    assert plan(after_3, *late(3)) == ()
    assert plan(after_3, *late(7)) == (reminder(7, notify=True), SUSPEND)
    assert plan(run(after_3, 7), *late(7)) == ()


def test_catch_up_records_every_missed_reminder_but_notifies_only_the_latest():
    overdue = run(issued(), 1)
    assert plan(overdue, *late(9)) == (reminder(3, notify=False), reminder(7, notify=True), SUSPEND)


def test_first_seen_long_past_due_the_overdue_notice_gives_way_to_the_reminder():
    assert plan(issued(), *late(4)) == (
        SweepStep(SweepAction.MARK_OVERDUE, notify=False),
        reminder(3, notify=True),
    )


def test_grace_period_requests_suspension_once_even_without_reminders():
    invoice = run(issued(reminder_days=(), grace_period_days=5), 1)
    assert plan(invoice, *late(4)) == ()
    assert plan(invoice, *late(5)) == (SUSPEND,)
    assert plan(run(invoice, 5), *late(12)) == ()


def test_an_open_dispute_allows_the_status_change_but_no_reminder_or_suspension():
    disputed = issued().open_dispute(dispute(), NOW)
    assert plan(disputed, *late(1)) == (SweepStep(SweepAction.MARK_OVERDUE, notify=False),)
    overdue = run(disputed, 1)
    assert plan(overdue, *late(10)) == ()


def test_expire_by_passed_expires_and_does_nothing_else():
    invoice = issued(expire_by=at(DUE + timedelta(days=2)))
    assert plan(invoice, *late(1)) == (MARK,)
    assert plan(invoice, *late(9)) == (SweepStep(SweepAction.EXPIRE),)
    assert plan(run(invoice, 9), *late(10)) == ()


def test_final_invoices_have_no_plan():
    invoice = issued()
    paid = invoice.apply_payment(payment(invoice.amount), NOW)
    assert paid.status is InvoiceStatus.PAID
    assert plan(paid, *late(9)) == ()
    assert plan(invoice.cancel(NOW), *late(9)) == ()


@pytest.mark.parametrize(
    ("action", "event"),
    [
        (SweepAction.MARK_OVERDUE, "InvoiceOverdue"),
        (SweepAction.EXPIRE, "InvoiceExpired"),
        (SweepAction.REQUEST_SUSPENSION, "ServiceSuspensionRequested"),
        (SweepAction.RECORD_REMINDER, None),
    ],
)
def test_each_action_publishes_its_domain_event(action, event):
    assert SweepStep(action, reminder_day=3 if action is SweepAction.RECORD_REMINDER else None).event == event


# ----------------------------------------------------------------------------------- properties

days = st.integers(min_value=-3, max_value=40)


@st.composite
def swept_invoices(draw: st.DrawFn) -> Invoice:
    """An invoice in any state the sweep can meet: reminders, grace, partial pay, dispute, expiry."""
    reminder_days = draw(st.lists(st.integers(0, 30), max_size=4, unique=True))
    grace = draw(st.integers(0, 30))
    expire_in = draw(st.none() | st.integers(1, 40))
    invoice = issued(
        reminder_days=reminder_days,
        grace_period_days=grace,
        partial_payment=True,
        expire_by=None
        if expire_in is None
        else NOW + timedelta(days=expire_in, hours=draw(st.integers(0, 23))),
    )
    if draw(st.booleans()):
        invoice = invoice.apply_payment(payment(draw(st.integers(1, invoice.amount - 1))), NOW)
    if draw(st.booleans()):
        invoice = invoice.open_dispute(dispute(invoice_id=invoice.id), NOW)
    for n in draw(st.lists(days, max_size=3)):  # earlier sweeps (maybe none, maybe out of order)
        if ist_date(at(DUE + timedelta(days=n))) >= DUE:
            invoice = run(invoice, n)
    return invoice


@settings(max_examples=300, deadline=None)
@given(invoice=swept_invoices(), n=days)
def test_a_plan_applies_cleanly_and_leaves_the_day_s_window(invoice, n):
    today, now = late(n)
    steps = plan(invoice, today, now)

    # At most one e-mail per invoice per run, never while disputed
    assert sum(step.notify for step in steps) <= 1
    assert not (invoice.disputed and any(step.notify for step in steps))
    after = invoice
    for step in steps:
        after = step.apply(after, today, now)  # every step is legal, in this order
    # Afterwards the sweep index no longer holds it for today
    assert after.next_sweep_on is None or after.next_sweep_on > today
    # And something due per the index is always acted on (no item stuck in the window)
    if invoice.next_sweep_on is not None and invoice.next_sweep_on <= today:
        assert steps


@settings(max_examples=300, deadline=None)
@given(invoice=swept_invoices(), n=days)
def test_the_plan_is_stable_so_re_planning_after_a_lost_race_changes_nothing(invoice, n):
    today, now = late(n)
    steps = plan(invoice, today, now)
    if steps:
        assert plan(steps[0].apply(invoice, today, now), today, now) == steps[1:]


def test_a_reminder_knows_how_late_the_invoice_is():
    invoice = run(issued(), 1)
    assert Reminder(invoice=invoice, today=DUE + timedelta(days=7), first_notice=False).days_past_due == 7
    assert Reminder(invoice=invoice, today=DUE + timedelta(days=1), first_notice=True).days_past_due == 1
