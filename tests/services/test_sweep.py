"""OverdueSweep and the outbox dispatcher against the fakes: what a daily run commits, what it
e-mails (once), fan-out, lost races, and at-least-once dispatch of the effects."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from invoicing.domain.changes import Emit, SaveInvoice
from invoicing.domain.credit_notes import CreditReason, CreditRequest
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.numbering import IST
from invoicing.domain.outbox import OutboxMessage, PublishEvent, RenderDocument, SendReminder
from invoicing.domain.summary import AccountSummary
from invoicing.domain.sweep import SWEEP_SHARDS, SweepWork
from invoicing.services.outbox import FIRST_RETRY, LAST_RETRY
from invoicing.services.sweep import SweepReport
from tests.services.conftest import World
from tests.unit.factories import NOW, dispute, payment

DUE = date(2026, 10, 16)  # issued on 1 October with 15-day terms


def run_at(day: date) -> datetime:
    """The schedule's time: 06:00 in India on ``day``."""
    return datetime.combine(day, time(6, 0), tzinfo=IST).astimezone(UTC)


def late(days: int) -> datetime:
    return run_at(DUE + timedelta(days=days))


def sweep_and_dispatch(world: World, when: datetime, **options: Any) -> SweepReport:
    world.clock.set(when)
    report = world.sweep(**options).run(when)
    world.drain()
    return report


def mails(world: World) -> list[tuple[str, date, bool]]:
    return [(r.invoice.id, r.today, r.first_notice) for r in world.mailer.sent]


def issued_quietly(world: World, **fields: Any) -> Invoice:
    """An issued invoice whose own effects (InvoiceIssued, its PDF) are dispatched and forgotten."""
    invoice = world.issued(**fields)
    world.drain()
    world.events.published.clear()
    return invoice


# ------------------------------------------------------------------------------------------ a run


def test_the_day_after_the_due_date_an_invoice_goes_overdue_and_the_customer_gets_one_notice(
    world: World,
) -> None:
    invoice = issued_quietly(world)

    report = sweep_and_dispatch(world, late(1))

    overdue = world.get(invoice.id)
    assert overdue.status is InvoiceStatus.OVERDUE
    assert (report.read, report.overdue, report.reminders_sent) == (1, 1, 1)
    assert mails(world) == [(invoice.id, DUE + timedelta(days=1), True)]
    assert world.events.names == ["InvoiceOverdue"]
    # the overdue version's PDF is rendered on its first download, not ahead (Invoice.renders_ahead)
    assert not any(job[1] == invoice.id and job[2] == overdue.version for job in world.render_jobs.jobs)
    assert world.metrics.counts["InvoiceOverdue"] == 1 and world.metrics.counts["ReminderSent"] == 1
    assert world.store.outbox == {}
    assert world.store.summary("acc_1").count_overdue == 1


def test_nothing_is_read_or_sent_before_anything_is_due(world):
    world.issued()
    world.drain()

    report = sweep_and_dispatch(world, late(0))

    assert (report.read, world.mailer.sent) == (0, [])


def test_running_again_the_same_day_never_e_mails_twice(world):
    world.issued()
    sweep_and_dispatch(world, late(1))

    again = sweep_and_dispatch(world, late(1))
    delivered_twice = sweep_and_dispatch(world, late(1))  # an EventBridge double delivery

    assert (again.read, delivered_twice.read) == (0, 0)
    assert len(world.mailer.sent) == 1


def test_reminders_go_out_on_days_3_and_7_once_each_and_suspension_once_after_the_grace_period(
    world: World,
) -> None:
    # Given an unpaid invoice and a sweep every day (twice a day: a retried run) for two weeks
    invoice = issued_quietly(world)
    for day in range(15):
        sweep_and_dispatch(world, late(day))
        sweep_and_dispatch(world, late(day))

    # Then the overdue notice on day 1 and reminders on days 3 and 7, each exactly once
    assert mails(world) == [
        (invoice.id, DUE + timedelta(days=1), True),
        (invoice.id, DUE + timedelta(days=3), False),
        (invoice.id, DUE + timedelta(days=7), False),
    ]
    # And one InvoiceOverdue, then one ServiceSuspensionRequested when the grace period (7 days) ended
    assert world.events.names == ["InvoiceOverdue", "ServiceSuspensionRequested"]
    after = world.get(invoice.id)
    assert after.reminders_sent == (3, 7) and after.suspension_requested_at == late(7)
    # And with nothing left to do, the invoice left the sweep's index
    assert after.next_sweep_on is None


def test_after_missed_days_the_sweep_catches_up_with_one_e_mail_not_a_burst(world: World) -> None:
    # Given an invoice the sweep last saw on day 1, and no sweep on days 2-9
    invoice = issued_quietly(world)
    sweep_and_dispatch(world, late(1))

    # When it runs again on day 10
    report = sweep_and_dispatch(world, late(10))

    # Then reminders 3 and 7 are both recorded, but one e-mail (the latest) is sent, and suspension
    # is requested once
    after = world.get(invoice.id)
    assert after.reminders_sent == (3, 7) and after.suspension_requested_at == late(10)
    assert (report.reminders_sent, report.reminders_skipped, report.suspensions_requested) == (1, 1, 1)
    assert mails(world)[1:] == [(invoice.id, DUE + timedelta(days=10), False)]
    assert world.events.names == ["InvoiceOverdue", "ServiceSuspensionRequested"]


def test_an_invoice_first_seen_a_week_past_due_gets_one_e_mail_with_every_step(world: World) -> None:
    invoice = issued_quietly(world)

    report = sweep_and_dispatch(world, late(9))

    assert report == SweepReport(
        read=1,
        overdue=1,
        reminders_sent=1,
        reminders_skipped=1,
        suspensions_requested=1,
        shards_done=SWEEP_SHARDS,
    )
    after = world.get(invoice.id)
    assert after.status is InvoiceStatus.OVERDUE and after.reminders_sent == (3, 7)
    assert mails(world) == [(invoice.id, DUE + timedelta(days=9), False)]
    assert world.events.names == ["InvoiceOverdue", "ServiceSuspensionRequested"]
    assert world.store.summary("acc_1") == AccountSummary(total_overdue=after.amount_due, count_overdue=1)


def test_a_partially_paid_invoice_past_due_goes_overdue_for_what_is_left(world: World) -> None:
    invoice = world.issued(partial_payment=True)
    world.pay(invoice, 62_00)

    sweep_and_dispatch(world, late(1))

    after = world.get(invoice.id)
    assert after.status is InvoiceStatus.OVERDUE and after.amount_due == invoice.amount - 62_00
    assert world.store.summary("acc_1") == AccountSummary(
        total_paid=62_00, total_overdue=after.amount_due, count_overdue=1
    )
    # the notice is rendered from the invoice as it is now: what is left to pay
    [notice] = world.mailer.sent
    assert notice.invoice.amount_due == after.amount_due


def test_an_open_dispute_holds_reminders_and_suspension_but_not_the_status(world: World) -> None:
    # Given an invoice disputed before it fell due
    invoice = issued_quietly(world)
    disputed = invoice.open_dispute(dispute(invoice_id=invoice.id), NOW)
    world.store.commit([SaveInvoice(invoice, disputed)])

    # When the sweep runs every day for two weeks
    reports = [sweep_and_dispatch(world, late(day)) for day in range(1, 15)]

    # Then it becomes overdue (and the event says so), but no e-mail and no suspension follow
    after = world.get(invoice.id)
    assert after.status is InvoiceStatus.OVERDUE and after.version == disputed.version + 1
    assert after.reminders_sent == () and after.suspension_requested_at is None
    assert world.mailer.sent == []
    assert world.events.names == ["InvoiceOverdue"]
    # And after day 1 the disputed invoice is not even read
    assert [report.read for report in reports] == [1] + [0] * 13


def test_a_paid_invoice_leaves_the_index_and_gets_nothing_further(world: World) -> None:
    invoice = world.issued()
    sweep_and_dispatch(world, late(1))
    assert len(world.mailer.sent) == 1
    world.pay(world.get(invoice.id))
    world.drain()
    world.events.published.clear()

    reports = [sweep_and_dispatch(world, late(day)) for day in range(2, 12)]

    assert reports == [SweepReport(shards_done=SWEEP_SHARDS)] * 10
    assert world.get(invoice.id).status is InvoiceStatus.PAID
    assert len(world.mailer.sent) == 1 and world.events.names == []
    assert world.store.summary("acc_1") == AccountSummary(total_paid=invoice.amount, count_paid=1)


def test_an_invoice_past_expire_by_expires_before_it_is_due(world: World) -> None:
    invoice = issued_quietly(world, expire_by=NOW + timedelta(days=3))

    report = sweep_and_dispatch(world, run_at(date(2026, 10, 5)))

    assert (report.expired, world.get(invoice.id).status) == (1, InvoiceStatus.EXPIRED)
    assert world.events.names == ["InvoiceExpired"]
    assert world.mailer.sent == []
    assert world.store.summary("acc_1") == AccountSummary()


def test_an_overdue_invoice_past_expire_by_expires_and_nothing_else_follows(world: World) -> None:
    # Given an invoice that may be paid until 20 Oct 2026, noon IST, overdue since day 1
    expire_by = datetime(2026, 10, 20, 12, 0, tzinfo=IST)
    invoice = issued_quietly(world, expire_by=expire_by)
    sweep_and_dispatch(world, late(1))
    assert len(world.mailer.sent) == 1

    # When the sweep runs the next morning after expire_by (day 5)
    report = sweep_and_dispatch(world, late(5))

    # Then it is expired and nothing else happens (no reminder for day 3, no suspension)
    after = world.get(invoice.id)
    assert after.status is InvoiceStatus.EXPIRED and after.expired_at == late(5)
    assert after.payment_url is None
    assert report == SweepReport(read=1, expired=1, shards_done=SWEEP_SHARDS)
    assert world.events.names == ["InvoiceOverdue", "InvoiceExpired"]
    assert len(world.mailer.sent) == 1
    assert world.store.summary("acc_1") == AccountSummary()
    # And it never comes back
    assert sweep_and_dispatch(world, late(6)) == SweepReport(shards_done=SWEEP_SHARDS)


def test_a_run_time_without_a_zone_is_refused_rather_than_guessed(world):
    with pytest.raises(ValueError, match="timezone"):
        world.sweep().run(datetime(2026, 10, 17, 0, 30))


# ---------------------------------------------------------------------------------------- fan-out


def test_a_run_over_budget_fans_the_rest_out_and_each_message_finishes_it_once(world):
    invoices = [world.issued() for _ in range(7)]
    when = late(1)
    world.clock.set(when)

    report = world.sweep(fanout_threshold=3, page_size=2).run(when)

    assert report.read == 3 and report.fanned_out == len(world.sweep_queue.works) >= 1
    works = list(world.sweep_queue.works)
    world.sweep_queue.works.clear()
    for work in works:  # the SQS event; each with its own budget, fanning out again if it must
        world.sweep(fanout_threshold=3, page_size=2).process(work.to_message())
    while world.sweep_queue.works:
        work = world.sweep_queue.works.pop(0)
        world.sweep(fanout_threshold=3, page_size=2).process(work.to_message())
    for work in works:  # SQS redelivers: harmless
        world.sweep(fanout_threshold=3, page_size=2).process(work.model_dump(mode="json"))
    world.drain()

    assert {world.get(i.id).status for i in invoices} == {InvoiceStatus.OVERDUE}
    assert sorted(r.invoice.id for r in world.mailer.sent) == sorted(i.id for i in invoices)


def test_fanned_out_work_carries_the_run_s_now_not_the_wall_clock(world):
    world.issued()
    world.issued()
    when = late(1)

    world.sweep(fanout_threshold=1).run(when)

    assert {w.now for w in world.sweep_queue.works} == {when}
    assert {w.through for w in world.sweep_queue.works} == {DUE + timedelta(days=1)}


def test_a_malformed_work_message_raises(world):
    with pytest.raises(Exception, match="sweep work"):
        world.sweep().process('{"kind": "render"}')


# ------------------------------------------------------------------------------------------ races


def test_a_payment_landing_before_the_sweep_s_write_wins_and_nobody_is_e_mailed(world):
    invoice = world.issued()
    paid = invoice.apply_payment(payment(invoice.amount), NOW)
    world.before_commit(lambda _: world.store.commit([SaveInvoice(invoice, paid)]))

    report = sweep_and_dispatch(world, late(1))

    assert (report.conflicts, report.overdue, report.unchanged) == (1, 0, 1)
    assert world.get(invoice.id).status is InvoiceStatus.PAID
    assert world.mailer.sent == []


def test_two_sweeps_racing_send_one_notice(world):
    invoice = world.issued()
    when = late(1)
    world.clock.set(when)
    world.before_commit(lambda _: world.sweep().run(when))

    report = world.sweep().run(when)
    world.drain()

    assert report.conflicts == 1
    assert mails(world) == [(invoice.id, DUE + timedelta(days=1), True)]


# ----------------------------------------------------------------------------------- dispatcher


def test_a_crash_between_the_commit_and_the_e_mail_delays_it_and_it_is_sent_exactly_once(world):
    invoice = world.issued()
    when = late(1)
    world.clock.set(when)
    world.sweep().run(when)  # committed; the function died before anything was dispatched

    assert world.mailer.sent == [] and len(world.store.outbox) == 2  # the issue's and the sweep's

    world.later(minutes=5)
    world.drain()  # the poller (the stream's retry, in AWS)
    world.drain()

    assert mails(world) == [(invoice.id, DUE + timedelta(days=1), True)]


def test_a_failed_effect_is_retried_later_with_growing_backoff_and_then_sent_once(world):
    world.issued()
    world.drain()
    world.mailer.fail_next(2)
    when = late(1)
    world.clock.set(when)
    world.sweep().run(when)

    world.drain()  # fails: tried again in 5 s
    (waiting,) = world.store.outbox.values()
    assert (waiting.due, waiting.message.attempts) == (when + FIRST_RETRY, 1)
    assert "injected failure" in waiting.last_error
    world.later(seconds=4)
    world.drain()  # not due yet
    assert world.store.outbox[waiting.message.id].message.attempts == 1
    world.later(seconds=1)
    world.drain()  # fails again: 10 s
    assert world.store.outbox[waiting.message.id].due == world.clock.now + 2 * FIRST_RETRY
    world.later(seconds=10)
    world.drain()

    assert len(world.mailer.sent) == 1 and world.store.outbox == {}
    assert world.metrics.counts["OutboxEffectFailed"] == 2
    # every attempt published the same event id: consumers drop the repeats
    overdue_ids = {event_id for name, _, event_id in world.events.published if name == "InvoiceOverdue"}
    assert len(overdue_ids) == 1
    assert world.events.names.count("InvoiceOverdue") == 3


def test_the_backoff_is_capped(world):
    message = OutboxMessage(
        account_id="acc_1",
        created_at=NOW,
        effects=(PublishEvent(detail_type="X", detail={}),),
        attempts=30,
    )
    world.store.commit([Emit(message)])
    world.store.outbox[message.id].message = message
    world.events.fail_next()

    assert world.dispatcher.dispatch(message) is False
    assert world.store.outbox[message.id].due == NOW + LAST_RETRY


def test_a_reminder_is_dropped_when_the_invoice_was_paid_before_dispatch(world):
    invoice = world.issued()
    when = late(1)
    world.clock.set(when)
    world.sweep().run(when)
    world.pay(world.get(invoice.id))

    world.drain()

    assert world.mailer.sent == []
    assert world.metrics.counts["ReminderSent"] == 0
    assert world.store.outbox == {}


def test_a_reminder_for_an_invoice_that_is_gone_is_dropped(world):
    message = OutboxMessage(
        account_id="acc_1",
        created_at=NOW,
        effects=(SendReminder(invoice_id="inv_gone", today=DUE, first_notice=True),),
    )
    assert world.dispatcher.dispatch(message) is True
    assert world.mailer.sent == []


def test_the_dispatcher_performs_each_kind_of_effect(world):
    issued = world.issued()
    world.pay(issued)  # through the stand-in: a captured payment it can refund
    payment_id = world.get(issued.id).payments[0].id
    credit = CreditRequest(
        reason=CreditReason.DISCOUNT, description="Goodwill on a paid invoice.", lines=((0, 500),), full=False
    )
    world.credits.issue(issued.id, credit)  # beyond what is due (nothing): refunded

    world.drain()

    assert world.store.outbox == {}
    assert "InvoiceIssued" in world.events.names and "InvoicePaid" in world.events.names
    assert ("invoice", issued.id, issued.version) in world.render_jobs.jobs
    ((refunded_payment, amount, refund_id),) = world.razorpay.refund_requests
    assert refunded_payment == payment_id and amount == world.get(issued.id).amount_credited
    assert refund_id.startswith("rfd_")


def test_a_render_effect_goes_to_the_render_queue(world):
    message = OutboxMessage(
        account_id="acc_1", created_at=NOW, effects=(RenderDocument(document_id="inv_1", version=4),)
    )
    world.dispatcher.dispatch(message)
    assert world.render_jobs.jobs == [("invoice", "inv_1", 4)]


def test_a_work_message_round_trips(world):
    work = SweepWork(shard=1, through=DUE, now=late(1))
    assert SweepWork.from_message(work.to_message()) == work
