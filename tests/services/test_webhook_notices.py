"""PaymentService fed Razorpay's own payloads, read by the webhook adapter's ``parse_notice`` as the
handler reads them: which state, summary, events, render jobs and refunds each delivery results in,
in any order and however often.

The payloads are the handler tests' (``tests/support/webhook_payloads.py``: Razorpay's samples
with our invoice's ids); what only the handler shows (signatures, the idempotency records, the
answers' shapes, the DynamoDB calls) stays in ``tests/integration/webhook``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from invoicing.adapters.razorpay_webhooks import parse_notice
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.reviews import ReviewItem
from invoicing.services.payments import Outcome, OutcomeStatus
from tests.services.conftest import World
from tests.support.webhook_payloads import (
    invoice_expired,
    invoice_paid,
    payment_captured,
)
from tests.unit.factories import NOW

PROCESSED, DUPLICATE, IGNORED = OutcomeStatus.PROCESSED, OutcomeStatus.DUPLICATE, OutcomeStatus.IGNORED

Issue = Callable[..., Invoice]


def deliver(world: World, document: dict[str, Any], event_id: str | None = None) -> Outcome:
    """One webhook: the body read by the adapter, the notice handled by the service."""
    notice = parse_notice(json.dumps(document).encode(), event_id or new_id("evt"))
    return world.payments.handle(notice)


def statuses(outcomes: list[Outcome]) -> list[OutcomeStatus]:
    return [outcome.status for outcome in outcomes]


def published(world: World) -> list[str]:
    """The events on the bus once the outbox is dispatched."""
    world.drain()
    return world.events.names


def reviews(world: World) -> list[ReviewItem]:
    return list(world.store.reviews.values())


@pytest.fixture
def issue(world: World) -> Issue:
    """An issued invoice (collected by a Razorpay invoice of the stand-in), its issue's effects
    dispatched and forgotten: what a test sees on the bus is what its deliveries set off."""

    def make(**fields: Any) -> Invoice:
        invoice = world.issued(**fields)
        world.drain()
        world.events.published.clear()
        world.render_jobs.jobs.clear()
        return invoice

    return make


# ------------------------------------------------------------------------------------ payments
@pytest.mark.parametrize("method", ["upi", "card", "netbanking", "wallet", "emi", "cardless_emi", "paylater"])
def test_the_payment_method_is_recorded_as_razorpay_names_it(world: World, issue: Issue, method: str) -> None:
    invoice = issue()

    deliver(world, invoice_paid(invoice, "pay_Method00000001", invoice.amount, method=method))

    assert [p.method for p in world.get(invoice.id).payments] == [method]


def test_a_payment_naming_our_invoice_is_recorded_there_whichever_razorpay_invoice_took_it(
    world: World, issue: Issue
) -> None:
    ours, other = issue(), issue()
    document = invoice_paid(other, "pay_Crossed0000001", ours.amount)
    document["payload"]["invoice"]["entity"]["notes"] = {"invoice_id": ours.id}

    outcome = deliver(world, document)

    assert outcome.status is PROCESSED  # money is never stranded on a mismatch of provider ids
    assert [p.id for p in world.get(ours.id).payments] == ["pay_Crossed0000001"]
    assert world.get(other.id) == other


# ----------------------------------------------------------------------------- partial payments
def test_partial_payments_add_up_to_paid_with_the_summary_in_step(world: World, issue: Issue) -> None:
    invoice = issue(partial_payment=True)
    first, rest = 30000, invoice.amount - 30000

    outcomes = [
        deliver(world, payment_captured(invoice, "pay_PartA00000001", first, method="upi")),
        deliver(world, invoice_paid(invoice, "pay_PartA00000001", first, partially=True)),
    ]
    halfway, halfway_summary = world.get(invoice.id), world.store.summary(invoice.account_id)
    outcomes += [
        deliver(world, payment_captured(invoice, "pay_PartB00000001", rest, method="netbanking")),
        deliver(world, invoice_paid(invoice, "pay_PartB00000001", rest)),
    ]

    assert statuses(outcomes) == [PROCESSED, DUPLICATE, PROCESSED, DUPLICATE]
    assert (halfway.status, halfway.amount_paid, halfway.amount_due) == (
        InvoiceStatus.PARTIALLY_PAID,
        first,
        rest,
    )
    assert (halfway_summary.total_paid, halfway_summary.total_pending, halfway_summary.count_pending) == (
        first,
        rest,
        1,
    )
    stored = world.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    assert stored.amount_paid == sum(p.amount for p in stored.payments) == invoice.amount
    assert [(p.id, p.method) for p in stored.payments] == [
        ("pay_PartA00000001", "upi"),
        ("pay_PartB00000001", "netbanking"),
    ]
    summary = world.store.summary(invoice.account_id)
    assert (summary.total_paid, summary.count_paid, summary.total_pending, summary.count_pending) == (
        invoice.amount,
        1,
        0,
        0,
    )
    assert published(world) == ["InvoicePartiallyPaid", "InvoicePaid"]
    # the part-paid version's PDF waits for its first download; the paid one is rendered ahead
    assert world.render_jobs.jobs == [("invoice", invoice.id, stored.version)]


def test_the_amount_paid_is_never_copied_from_the_event(world: World, issue: Issue) -> None:
    # invoice.paid says the Razorpay invoice is fully paid, but it carries one partial payment:
    # only that payment counts.
    invoice = issue(partial_payment=True)
    document = invoice_paid(invoice, "pay_OnlyPart000001", 40000)
    document["payload"]["invoice"]["entity"].update(amount_paid=invoice.amount, amount_due=0, status="paid")

    outcome = deliver(world, document)

    assert outcome.status is PROCESSED
    stored = world.get(invoice.id)
    assert (stored.status, stored.amount_paid) == (InvoiceStatus.PARTIALLY_PAID, 40000)


def test_invoice_paid_before_the_earlier_partial_payment_ends_paid(world: World, issue: Issue) -> None:
    invoice = issue(partial_payment=True)
    first, rest = 30000, invoice.amount - 30000

    outcomes = [
        deliver(world, invoice_paid(invoice, "pay_LateB00000001", rest)),
        deliver(world, invoice_paid(invoice, "pay_LateA00000001", first, partially=True)),
    ]

    assert statuses(outcomes) == [PROCESSED, PROCESSED]
    stored = world.get(invoice.id)
    assert (stored.status, stored.amount_paid) == (InvoiceStatus.PAID, invoice.amount)
    assert published(world) == ["InvoicePartiallyPaid", "InvoicePaid"]


def test_a_late_partially_paid_event_leaves_a_paid_invoice_paid(world: World, issue: Issue) -> None:
    invoice = issue(partial_payment=True)
    first, rest = 30000, invoice.amount - 30000
    deliver(world, payment_captured(invoice, "pay_SeqA000000001", first))
    deliver(world, payment_captured(invoice, "pay_SeqB000000001", rest))
    deliver(world, invoice_paid(invoice, "pay_SeqB000000001", rest))
    paid = world.get(invoice.id)

    late = deliver(world, invoice_paid(invoice, "pay_SeqA000000001", first, partially=True))

    assert late.status is DUPLICATE
    assert paid.status is InvoiceStatus.PAID
    assert world.get(invoice.id) == paid
    assert published(world) == ["InvoicePartiallyPaid", "InvoicePaid"]


# -------------------------------------------------------------------------------------- expiry
def test_invoice_expired_expires_the_invoice_once_found_with_or_without_our_id(
    world: World, issue: Issue
) -> None:
    invoice = issue()

    first = deliver(world, invoice_expired(invoice))
    expired = world.get(invoice.id)
    again = deliver(world, invoice_expired(invoice, with_notes=False))

    assert [(o.status, o.effect) for o in (first, again)] == [
        (PROCESSED, "InvoiceExpired"),
        (DUPLICATE, None),
    ]
    assert expired.status is InvoiceStatus.EXPIRED
    assert expired.expired_at is not None and expired.payment_url is None
    assert world.get(invoice.id) == expired
    summary = world.store.summary(invoice.account_id)
    assert (summary.total_pending, summary.count_pending) == (0, 0)
    assert published(world) == ["InvoiceExpired"]
    assert world.render_jobs.jobs == []  # an expired invoice's PDF is rendered on its first download


# ------------------------------------------------------------------------- what is kept for review
def test_a_handled_event_with_an_unreadable_payload_is_kept_for_review(world: World, issue: Issue) -> None:
    invoice = issue()
    document = invoice_paid(invoice, "pay_Unreadable0001", invoice.amount)
    document["payload"]["payment"]["entity"]["amount"] = "106200.00"

    outcome = deliver(world, document)

    assert outcome.status is IGNORED
    assert world.get(invoice.id) == invoice
    [item] = reviews(world)
    assert item.reason == "unreadable_payload"
    assert "payment.entity.amount" in item.message
    assert "106200" not in item.message


def test_an_event_created_outside_2000_to_2100_is_ignored(world: World, issue: Issue) -> None:
    invoice = issue()
    document = invoice_paid(invoice, "pay_FarFuture00001", invoice.amount)
    document["created_at"] = 99_999_999_999

    outcome = deliver(world, document)

    assert outcome.status is IGNORED
    assert world.get(invoice.id) == invoice
    assert [item.reason for item in reviews(world)] == ["unreadable_payload"]


# ------------------------------------------------------------------------- overdue and suspension
def overdue(world: World, invoice: Invoice, *, suspended: bool) -> Invoice:
    """``invoice`` as the sweep leaves it when it is ten days late (and its account suspended)."""
    later = NOW + timedelta(days=invoice.payment_terms_days + 10)
    after = invoice.mark_overdue(later.date(), later)
    world.store.commit([SaveInvoice(invoice, after)])
    if suspended:
        before, after = after, after.request_suspension(later)
        world.store.commit([SaveInvoice(before, after)])
    return after


def test_paying_a_suspended_accounts_invoice_requests_restoration(world: World, issue: Issue) -> None:
    invoice = overdue(world, issue(), suspended=True)

    outcome = deliver(world, payment_captured(invoice, "pay_Restore0000001", invoice.amount))

    assert outcome.status is PROCESSED
    assert world.get(invoice.id).status is InvoiceStatus.PAID
    summary = world.store.summary(invoice.account_id)
    assert (summary.total_overdue, summary.count_overdue, summary.count_paid) == (0, 0, 1)
    assert published(world) == ["InvoicePaid", "ServiceRestorationRequested"]
    _, restoration, _ = world.events.published[1]
    assert (restoration["invoice_id"], restoration["status"]) == (invoice.id, "paid")


def test_paying_an_overdue_invoice_without_suspension_requests_no_restoration(
    world: World, issue: Issue
) -> None:
    invoice = overdue(world, issue(), suspended=False)

    deliver(world, payment_captured(invoice, "pay_NoSuspend000001", invoice.amount))

    assert world.get(invoice.id).status is InvoiceStatus.PAID
    assert published(world) == ["InvoicePaid"]


def test_a_partial_payment_keeps_an_overdue_invoice_overdue(world: World, issue: Issue) -> None:
    invoice = overdue(world, issue(partial_payment=True), suspended=True)

    deliver(world, payment_captured(invoice, "pay_OverduePart001", 20000))

    stored = world.get(invoice.id)
    assert (stored.status, stored.amount_paid) == (InvoiceStatus.OVERDUE, 20000)
    summary = world.store.summary(invoice.account_id)
    assert (summary.total_overdue, summary.total_paid) == (invoice.amount - 20000, 20000)
    assert published(world) == ["InvoicePartiallyPaid"]


# ------------------------------------------------------------------------------ after the commit
def test_an_event_the_bus_refuses_after_the_commit_is_published_later_not_lost(
    world: World, issue: Issue
) -> None:
    invoice = issue()
    outcome = deliver(world, payment_captured(invoice, "pay_BusDown0000001", invoice.amount))
    world.events.fail_next()

    report = world.dispatcher.drain()

    assert outcome.status is PROCESSED
    assert world.get(invoice.id).status is InvoiceStatus.PAID
    assert (report.failed, world.events.names) == (1, [])  # the message waits for its next attempt
    world.later(minutes=1)
    assert published(world) == ["InvoicePaid"]
