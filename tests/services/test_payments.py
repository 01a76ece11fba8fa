"""PaymentService against the fakes: payments as Razorpay's stand-in reports them (duplicates, out of
order), money that cannot settle anything (refunded, kept for review), expiry, failed payments,
refund settlement and lost races."""

from __future__ import annotations

import json
from typing import Any

import pytest

from invoicing.adapters.razorpay_webhooks import parse_notice
from invoicing.domain.changes import Change, SaveInvoice
from invoicing.domain.errors import ConflictError
from invoicing.domain.invoice import Invoice, InvoiceStatus, RefundStatus
from invoicing.domain.notices import NoticeKind, PaymentNotice, RefundNotice
from invoicing.domain.outbox import PublishEvent, RequestRefund
from invoicing.domain.reviews import ReviewReason
from invoicing.domain.summary import summarize
from invoicing.services.payments import OutcomeStatus
from tests.services.builders import LATER, paid_notice
from tests.services.conftest import World
from tests.support.razorpay import RecordingStandIn
from tests.support.webhook_payloads import invoice_paid
from tests.unit.factories import NOW, payment


def effects(world: World) -> list[Any]:
    return world.store.waiting_effects()


def events(world: World) -> list[str]:
    return [e.detail_type for e in effects(world) if isinstance(e, PublishEvent)]


def refunds_requested(world: World) -> list[tuple[str, int]]:
    return [(e.payment_id, e.amount) for e in effects(world) if isinstance(e, RequestRefund)]


def reviews(world: World) -> list[str]:
    return [item.reason for item in world.store.reviews.values()]


def refunds_sent(world: World) -> list[tuple[str, int, str]]:
    """The refunds Razorpay was asked for, as the SDK sent them: path, amount, idempotency key."""
    assert isinstance(world.standin, RecordingStandIn)
    return [
        (call.path, call.body["amount"], call.headers["X-Refund-Idempotency"])
        for call in world.standin.calls
        if call.operation == "refund"
    ]


# ---------------------------------------------------------------------------------------- payments


def test_a_full_payment_pays_the_invoice_once_however_often_it_is_reported(world: World) -> None:
    issued = world.issued()
    world.store.outbox.clear()

    outcomes = world.pay(issued)

    assert [(o.status, o.effect) for o in outcomes] == [
        (OutcomeStatus.PROCESSED, "PaymentRecorded"),  # payment.captured
        (OutcomeStatus.DUPLICATE, None),  # invoice.paid: the same payment
    ]
    paid = world.get(issued.id)
    assert (paid.status, paid.amount_due, len(paid.payments)) == (InvoiceStatus.PAID, 0, 1)
    assert events(world) == ["InvoicePaid"]
    assert world.store.summary("acc_1") == summarize([paid])


def test_webhooks_out_of_order_and_redelivered_change_nothing_more(world: World) -> None:
    issued = world.issued(partial_payment=True)
    assert issued.razorpay_invoice_id is not None
    captured, partially_paid = world.notices(world.standin.pay(issued.razorpay_invoice_id, 6200))
    world.store.outbox.clear()

    outcomes = [world.payments.handle(n) for n in (partially_paid, captured, partially_paid, captured)]

    assert [o.status for o in outcomes] == [OutcomeStatus.PROCESSED] + [OutcomeStatus.DUPLICATE] * 3
    part = world.get(issued.id)
    assert (part.status, part.amount_paid) == (InvoiceStatus.PARTIALLY_PAID, 6200)
    assert events(world) == ["InvoicePartiallyPaid"]


def test_a_part_payment_without_partial_payment_is_applied_not_refused(world: World) -> None:
    issued = world.issued(partial_payment=False)  # an older link, say, collected part of it

    outcome = world.payments.handle(paid_notice(issued, 6200))

    assert outcome.effect == "PaymentRecorded"
    assert world.get(issued.id).status is InvoiceStatus.PARTIALLY_PAID
    assert refunds_requested(world) == []


def test_an_overpayment_is_recorded_and_its_excess_refunded_after_the_commit(world: World) -> None:
    issued = world.issued()

    outcome = world.payments.handle(paid_notice(issued, issued.amount + 900))

    paid = world.get(issued.id)
    assert (outcome.effect, paid.status, paid.amount_refunded) == ("PaymentRecorded", InvoiceStatus.PAID, 900)
    assert (paid.amount_paid, paid.amount_due) == (issued.amount + 900, 0)
    assert [(r.payment_id, r.amount, r.reason, r.status) for r in paid.refunds] == [
        ("pay_Late0001", 900, "overpayment", RefundStatus.PENDING)
    ]
    assert refunds_requested(world) == [("pay_Late0001", 900)]
    assert "InvoicePaid" in events(world)
    assert world.store.summary("acc_1").total_paid == issued.amount

    world.drain()

    (refund,) = paid.refunds
    assert world.razorpay.refund_requests == [("pay_Late0001", 900, refund.id)]


@pytest.mark.parametrize("final", ["paid", "cancelled"])
def test_money_for_a_closed_invoice_is_recorded_refunded_in_full_and_kept_for_review(
    world: World, final: str
) -> None:
    issued = world.issued()
    if final == "paid":
        world.pay(issued)
    else:
        world.credits.cancel(issued.id)
    world.store.outbox.clear()

    outcome = world.payments.handle(paid_notice(issued, 5000))

    after = world.get(issued.id)
    assert (outcome.status, outcome.effect, after.status.value) == (
        OutcomeStatus.PROCESSED,
        "PaymentRefunded",
        final,
    )
    assert after.payment("pay_Late0001") is not None and after.amount_refunded == 5000
    assert refunds_requested(world) == [("pay_Late0001", 5000)]
    assert "PaymentUnapplied" in events(world)
    assert reviews(world) == [ReviewReason.PAYMENT_REFUNDED]


def test_money_for_an_expired_invoice_settles_what_it_still_owes(world: World) -> None:
    issued = world.issued(partial_payment=True)
    assert issued.razorpay_invoice_id is not None
    (notice,) = world.notices(world.standin.expire(issued.razorpay_invoice_id))
    world.payments.handle(notice)
    world.store.outbox.clear()

    outcome = world.payments.handle(paid_notice(issued, 1000))

    after = world.get(issued.id)
    assert (outcome.effect, after.status, after.amount_due) == (
        "PaymentRecorded",
        InvoiceStatus.EXPIRED,
        issued.amount - 1000,
    )
    assert after.refunds == ()
    assert "InvoicePartiallyPaid" not in events(world)  # an expired invoice is not part paid


def test_a_payment_for_a_provider_invoice_we_do_not_know_is_ignored_and_kept_for_review(world: World) -> None:
    notice = PaymentNotice(
        event_id="evt_x",
        event_type="payment.captured",
        kind=NoticeKind.PAYMENT,
        occurred_at=LATER,
        provider_invoice_id="inv_Unknown",
        payment=payment(100, "pay_Stray0001"),
    )

    first, again = world.payments.handle(notice), world.payments.handle(notice)

    assert (first.status, first.reason) == (OutcomeStatus.IGNORED, ReviewReason.UNKNOWN_INVOICE)
    assert again.status is OutcomeStatus.DUPLICATE
    assert reviews(world) == ["unknown_invoice"] and world.store.outbox == {}


def test_money_for_an_invoice_of_ours_that_no_longer_exists_is_refunded_in_full(world: World) -> None:
    issued = world.issued()
    del world.store.invoices[issued.id]  # gone (an operator's repair, say)
    world.store.outbox.clear()

    outcome = world.payments.handle(paid_notice(issued, 7000))

    assert (outcome.effect, outcome.reason) == ("PaymentRefunded", ReviewReason.UNKNOWN_INVOICE)
    assert refunds_requested(world) == [("pay_Late0001", 7000)]
    assert events(world) == ["PaymentUnapplied"]
    assert reviews(world) == ["unknown_invoice"]
    # a redelivery refunds nothing more: the refund id is the payment's
    world.payments.handle(paid_notice(issued, 7000))
    world.drain()
    assert {refund_id for _, _, refund_id in world.razorpay.refund_requests} == {"rfd_Late0001"}
    assert refunds_sent(world)[0] == ("/v1/payments/pay_Late0001/refund", 7000, "rfd_Late0001")


@pytest.mark.parametrize(
    ("case", "reason"),
    [("currency", ReviewReason.CURRENCY_MISMATCH), ("unlinked_draft", ReviewReason.INVOICE_NOT_PAYABLE)],
)
def test_money_no_invoice_can_record_is_refunded_in_full(
    world: World, case: str, reason: ReviewReason
) -> None:
    if case == "currency":
        invoice = world.issued()
        notice = paid_notice(invoice, 100, currency="USD")
    else:
        invoice = world.create()  # never issued: no payment link to collect by
        notice = paid_notice(invoice, 100)

    outcome = world.payments.handle(notice)

    assert (outcome.effect, outcome.reason) == ("PaymentRefunded", reason)
    assert refunds_requested(world) == [("pay_Late0001", 100)]
    assert world.get(invoice.id) == invoice
    [item] = world.store.reviews.values()
    assert (item.reason, item.currency, item.razorpay_invoice_id) == (
        reason,
        "USD" if case == "currency" else "INR",
        invoice.razorpay_invoice_id,
    )
    world.drain()
    assert [amount for _, amount, _ in refunds_sent(world)] == [100]


def test_a_payment_not_captured_is_ignored_and_kept_for_review(world: World) -> None:
    issued = world.issued()
    document = invoice_paid(issued, "pay_Authorized0001", issued.amount)
    document["payload"]["payment"]["entity"].update(status="authorized", captured=False)

    outcome = world.payments.handle(parse_notice(json.dumps(document).encode(), "evt_authorized"))

    assert (outcome.status, outcome.reason) == (OutcomeStatus.IGNORED, ReviewReason.PAYMENT_NOT_CAPTURED)
    assert world.get(issued.id) == issued
    assert reviews(world) == ["payment_not_captured"]


# ------------------------------------------------------------------------------------------ expiry


def test_a_late_expiry_never_moves_a_paid_invoice_backwards(world: World) -> None:
    issued = world.issued()
    world.pay(issued)
    notice = PaymentNotice(
        event_id="evt_exp",
        event_type="invoice.expired",
        kind=NoticeKind.EXPIRY,
        occurred_at=LATER,
        invoice_id=issued.id,
        provider_invoice_id=issued.razorpay_invoice_id,
    )

    paid = world.get(issued.id)
    world.store.outbox.clear()

    outcome = world.payments.handle(notice)

    assert (outcome.status, outcome.reason) == (OutcomeStatus.IGNORED, ReviewReason.LATE_EXPIRY)
    assert world.get(issued.id) == paid
    assert world.store.outbox == {}
    [item] = world.store.reviews.values()
    assert (item.reason, item.event_id, item.invoice_id) == ("late_expiry", "evt_exp", issued.id)


def test_an_expiry_naming_another_provider_invoice_is_kept_for_review(world: World) -> None:
    issued = world.issued()
    notice = PaymentNotice(
        event_id="evt_exp",
        event_type="invoice.expired",
        kind=NoticeKind.EXPIRY,
        occurred_at=LATER,
        invoice_id=issued.id,
        provider_invoice_id="inv_SomeOldOne",
    )

    assert world.payments.handle(notice).reason is ReviewReason.PROVIDER_INVOICE_MISMATCH
    assert world.get(issued.id).status is InvoiceStatus.ISSUED


# -------------------------------------------------------------------------------- failed, refunds


def test_a_failed_payment_is_recorded_once_and_changes_no_invoice(world: World) -> None:
    from invoicing.domain.notices import FailedPaymentAttempt

    issued = world.issued()
    notice = PaymentNotice(
        event_id="evt_f",
        event_type="payment.failed",
        kind=NoticeKind.FAILED_PAYMENT,
        occurred_at=LATER,
        provider_invoice_id=issued.razorpay_invoice_id,
        failed_payment=FailedPaymentAttempt(
            id="pay_F1",
            amount=100,
            currency="INR",
            method="card",
            error_code="BAD_REQUEST_ERROR",
            attempted_at=LATER,
        ),
    )

    first, again = world.payments.handle(notice), world.payments.handle(notice)

    assert (first.effect, again.status) == ("PaymentFailed", OutcomeStatus.DUPLICATE)
    assert list(world.store.failed_payments) == [(issued.id, "pay_F1")]
    assert world.get(issued.id) == issued


def refund_notice(
    invoice: Invoice, refund_id: str | None, status: str, event_id: str = "evt_r"
) -> PaymentNotice:
    return PaymentNotice(
        event_id=event_id,
        event_type=f"refund.{status}",
        kind=NoticeKind.REFUND,
        occurred_at=LATER,
        refund=RefundNotice(
            provider_refund_id="rfnd_1",
            payment_id="pay_Late0001",
            amount=900,
            status=status,
            refund_id=refund_id,
            invoice_id=invoice.id,
        ),
    )


@pytest.mark.parametrize(("status", "event"), [("processed", "RefundProcessed"), ("failed", "RefundFailed")])
def test_a_refund_is_settled_once_with_what_razorpay_said(world: World, status: str, event: str) -> None:
    issued = world.issued()
    world.payments.handle(paid_notice(issued, issued.amount + 900))
    (refund,) = world.get(issued.id).refunds

    first = world.payments.handle(refund_notice(issued, refund.id, status))
    again = world.payments.handle(refund_notice(issued, refund.id, status, "evt_r2"))

    (settled,) = world.get(issued.id).refunds
    assert (first.effect, again.status) == (event, OutcomeStatus.DUPLICATE)
    assert (settled.status, settled.razorpay_refund_id) == (RefundStatus(status), "rfnd_1")
    assert events(world).count(event) == 1


def test_a_refund_naming_nothing_of_ours_is_kept_for_review(world: World) -> None:
    issued = world.issued()
    for notice in (
        refund_notice(issued, "rfd_nope", "processed"),
        refund_notice(issued, None, "processed", "e2"),
    ):
        assert world.payments.handle(notice).reason is ReviewReason.UNKNOWN_REFUND


def test_unhandled_and_unreadable_events_are_kept_for_review(world: World) -> None:
    for kind in (
        NoticeKind.UNHANDLED,
        NoticeKind.UNREADABLE,
    ):
        notice = PaymentNotice(event_id=f"evt_{kind}", event_type="order.paid", kind=kind, occurred_at=LATER)
        assert world.payments.handle(notice).status is OutcomeStatus.IGNORED
    assert reviews(world) == ["unhandled_event", "unreadable_payload"]


# ------------------------------------------------------------------------------------------- races


def test_a_payment_that_loses_a_race_re_reads_and_keeps_both_changes(world: World) -> None:
    issued = world.issued(partial_payment=True)
    rival = issued.revise({"notes": "written meanwhile"}, NOW)
    world.before_commit(lambda _: world.store.commit([SaveInvoice(issued, rival)]))

    outcome = world.payments.handle(paid_notice(issued, 6200))

    after = world.get(issued.id)
    assert outcome.effect == "PaymentRecorded"
    assert (after.notes, after.amount_paid, after.version) == ("written meanwhile", 6200, issued.version + 2)
    assert world.store.summary("acc_1") == summarize([after])


def test_two_payments_racing_are_both_recorded(world: World) -> None:
    issued = world.issued(partial_payment=True)
    first = paid_notice(issued, 1000, "pay_A0000001", "evt_a")

    def pay_first(_: list[Change]) -> None:
        world.payments.handle(first)

    world.before_commit(pay_first)

    world.payments.handle(paid_notice(issued, 2000, "pay_B0000001", "evt_b"))

    assert {p.id for p in world.get(issued.id).payments} == {"pay_A0000001", "pay_B0000001"}
    assert world.get(issued.id).amount_paid == 3000


def test_an_invoice_that_keeps_changing_gives_up_with_a_conflict_for_razorpay_to_retry(world: World) -> None:
    issued = world.issued(partial_payment=True)

    def rival(_: list[Change]) -> None:
        current = world.get(issued.id)
        world.store.commit([SaveInvoice(current, current.revise({"notes": str(current.version)}, NOW))])

    world.before_commit(rival, times=100)

    with pytest.raises(ConflictError, match="gave up"):
        world.payments.handle(paid_notice(issued, 100))
    assert world.get(issued.id).payments == ()
