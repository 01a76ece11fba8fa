"""Disputes end in a decision: rejected, or credited with a credit note in the same commit."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from invoicing.domain.access import Caller
from invoicing.domain.errors import DomainValidationError, InvalidTransitionError, NotFoundError
from invoicing.domain.invoice import InvoiceStatus
from invoicing.domain.numbering import IST
from invoicing.services.sweep import OverdueSweep
from tests.fakes.messaging import RecordingCounter, RecordingSweepQueue
from tests.services.corrections.conftest import World, invariant, request
from tests.unit.factories import NOW


def disputed_overdue(world: World):
    invoice = world.issued()
    dispute = world.invoices.dispute(
        Caller(account_id="acc_1"),
        invoice.id,
        reason="The VM was stopped half the month.",
        expected_correction=None,
    )
    world.save(invoice.id, lambda i: i.mark_overdue(date(2026, 11, 1), NOW))
    return world.invoice(invoice.id), dispute


def test_rejecting_the_only_open_dispute_resumes_reminders_and_suspension(world: World):
    invoice, dispute = disputed_overdue(world)
    assert invoice.disputed
    paused = invoice.next_sweep_on

    resolution = world.disputes.resolve(
        invoice.id, dispute.id, outcome="rejected", note="Usage logs show 720 h."
    )

    after = world.invoice(invoice.id)
    assert resolution.dispute.status == "resolved" and resolution.dispute.outcome == "rejected"
    assert resolution.dispute.note == "Usage logs show 720 h." and resolution.dispute.resolved_at is not None
    assert not after.disputed
    assert after.next_sweep_on is not None and (paused is None or after.next_sweep_on <= paused)
    assert after.next_sweep_on == after.due_date + timedelta(days=3)  # the first reminder is due again
    world.drain()
    [event] = [d for name, d, _ in world.events.published if name == "DisputeResolved"]
    assert event["dispute_id"] == dispute.id and event["outcome"] == "rejected" and event["disputed"] is False


def test_crediting_a_dispute_issues_the_note_and_resolves_it_in_one_commit(world: World):
    invoice, dispute = disputed_overdue(world)
    commits = world.store.commits

    resolution = world.disputes.resolve(
        invoice.id,
        dispute.id,
        outcome="credited",
        note="Half the VM hours credited.",
        credit=request((0, 45_000)),
    )

    assert world.store.commits == commits + 1
    after = world.invoice(invoice.id)
    assert after.version == invoice.version + 1
    assert resolution.dispute.outcome == "credited"
    assert resolution.dispute.credit_note_id == resolution.credit.note.id == after.credit_notes[0].id
    assert not after.disputed
    assert after.status is InvoiceStatus.OVERDUE
    invariant(after)
    world.drain()
    assert {"CreditNoteIssued", "DisputeResolved"} <= set(world.events.names)


def test_resolving_twice_is_refused(world: World):
    invoice, dispute = disputed_overdue(world)
    world.disputes.resolve(invoice.id, dispute.id, outcome="rejected", note="No error.")
    with pytest.raises(InvalidTransitionError):
        world.disputes.resolve(invoice.id, dispute.id, outcome="rejected", note="No error.")
    with pytest.raises(InvalidTransitionError):
        world.disputes.resolve(
            invoice.id, dispute.id, outcome="credited", note="x", credit=request(full=True)
        )
    assert not world.invoice(invoice.id).credit_notes


def test_a_credited_outcome_needs_a_credit_note_and_a_rejection_takes_none(world: World):
    invoice, dispute = disputed_overdue(world)
    with pytest.raises(DomainValidationError):
        world.disputes.resolve(invoice.id, dispute.id, outcome="credited", note="Credited.")
    with pytest.raises(DomainValidationError):
        world.disputes.resolve(
            invoice.id, dispute.id, outcome="rejected", note="No.", credit=request(full=True)
        )
    with pytest.raises(NotFoundError):
        world.disputes.resolve(invoice.id, "dsp_nope", outcome="rejected", note="No.")
    assert world.invoice(invoice.id).disputed


def test_disputes_are_listed_for_their_customer_and_hidden_from_others(world: World):
    invoice, dispute = disputed_overdue(world)
    assert [d.id for d in world.disputes.list(Caller(account_id="acc_1"), invoice.id)] == [dispute.id]
    with pytest.raises(NotFoundError):
        world.disputes.list(Caller(account_id="acc_2"), invoice.id)


def test_the_sweep_sends_no_reminder_while_disputed_and_resumes_once_resolved(world: World):
    def sweep(day):
        at = datetime.combine(day, time(6, 0), tzinfo=IST)
        OverdueSweep(
            invoices=world.store,
            transactions=world.store,
            queue=RecordingSweepQueue(),
            metrics=RecordingCounter(),
        ).run(at)
        world.drain()

    # Given an overdue invoice under dispute, four days past due (the day-3 reminder is due)
    invoice, dispute = disputed_overdue(world)
    day = invoice.due_date + timedelta(days=4)
    sweep(day)
    assert world.invoice(invoice.id).reminders_sent == ()
    assert "ServiceSuspensionRequested" not in world.events.names

    # When the dispute is rejected, the next sweep sends the reminder it held back
    world.disputes.resolve(invoice.id, dispute.id, outcome="rejected", note="No error found.")
    sweep(day)
    assert world.invoice(invoice.id).reminders_sent == (3,)

    # And after the grace period, suspension is requested again
    sweep(invoice.due_date + timedelta(days=8))
    assert world.invoice(invoice.id).suspension_requested_at is not None
    assert "ServiceSuspensionRequested" in world.events.names
