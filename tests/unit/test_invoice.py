"""The invoice entity: line and GST arithmetic, validation, the status machine and the sweep date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from invoicing.domain.errors import DomainValidationError, DuplicateError, InvalidTransitionError
from invoicing.domain.invoice import (
    DRAFT_FIELDS,
    FINAL_FIELDS,
    FINAL_STATUSES,
    MAX_LINES,
    MAX_MANUAL_LINES,
    OPEN_FIELDS,
    BillingPeriod,
    CreditNoteRef,
    Invoice,
    InvoiceStatus,
    RefundReason,
    RefundStatus,
)
from invoicing.domain.limits import MAX_AMOUNT_PAISE
from tests.unit.factories import (
    NOW,
    address,
    billing_period,
    customer,
    dispute,
    draft,
    issued,
    line,
    payment,
    supplier,
)

LATER = NOW + timedelta(hours=1)
LONG_AFTER_DUE = date(2027, 3, 1)
OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)


def in_status(status: InvoiceStatus) -> Invoice:
    """An invoice (106200 paise, partial payments allowed) in ``status``, reached the legal way."""
    if status is InvoiceStatus.DRAFT:
        return draft(partial_payment=True)
    invoice = issued(partial_payment=True)
    match status:
        case InvoiceStatus.ISSUED:
            return invoice
        case InvoiceStatus.PARTIALLY_PAID:
            return invoice.apply_payment(payment(100, "pay_part"), NOW)
        case InvoiceStatus.OVERDUE:
            return invoice.mark_overdue(invoice.due_date + timedelta(days=1), NOW)
        case InvoiceStatus.PAID:
            return invoice.apply_payment(payment(invoice.amount, "pay_all"), NOW)
        case InvoiceStatus.EXPIRED:
            return invoice.expire(NOW)
        case InvoiceStatus.CANCELLED:
            return invoice.cancel(NOW)
    raise AssertionError(status)


def overdue(**draft_overrides: Any) -> Invoice:
    invoice = issued(**draft_overrides)
    return invoice.mark_overdue(invoice.due_date + timedelta(days=1), NOW)


def overdue_with(
    *, expire_by: datetime | None = None, reminder_days: tuple[int, ...] = (3, 7), grace_period_days: int = 7
) -> Invoice:
    invoice = issued(expire_by=expire_by, reminder_days=reminder_days, grace_period_days=grace_period_days)
    return invoice.mark_overdue(invoice.due_date + timedelta(days=1), NOW)


# ------------------------------------------------------------------------------- line amounts


@pytest.mark.parametrize(
    ("quantity", "unit_rate", "paise"),
    [
        ("720", "1.25", 90000),
        ("0.5", "720", 36000),
        ("10000", "0.123456", 123456),
        ("1", "0.005", 1),  # exactly half a paisa rounds up
        ("5", "0.005", 3),  # 2.5 paise rounds up, not to even
        ("1", "0.015", 2),  # 1.5 paise
        ("0.5", "0.013900", 1),  # 0.695 paise
        ("3", "0.004999", 1),  # 1.4997 paise
        ("0.001", "0.004", 0),  # 0.0004 paise
        ("1", "0", 0),
    ],
)
def test_line_amount_is_quantity_times_rate_in_paise_rounded_half_up(quantity, unit_rate, paise):
    assert line(quantity=quantity, unit_rate=unit_rate).amount == paise


def test_line_amount_is_computed_even_when_one_is_supplied():
    assert line(quantity="2", unit_rate="3", amount=1).amount == 600


def test_line_keeps_quantity_and_rate_as_exact_decimals():
    item = line(quantity="0.500", unit_rate="0.013900")
    assert (str(item.quantity), str(item.unit_rate)) == ("0.500", "0.013900")


@pytest.mark.parametrize("quantity", ["0", "0.000", "-1", "+1", "0.0000001", "1e3", "1,000", " 1", "abc"])
def test_quantity_that_is_not_a_positive_plain_decimal_is_refused(quantity):
    with pytest.raises(ValidationError):
        line(quantity=quantity)


def test_quantity_given_as_a_float_is_refused():
    with pytest.raises(ValidationError):
        line(quantity=0.5)


@pytest.mark.parametrize("unit_rate", ["-0.01", "-1", "0.1234567", "1e2"])
def test_negative_or_malformed_unit_rate_is_refused(unit_rate):
    with pytest.raises(ValidationError):
        line(unit_rate=unit_rate)


def test_usage_start_after_usage_end_is_refused():
    with pytest.raises(ValidationError, match="usage_start must be on or before usage_end"):
        line(usage_start=datetime(2026, 9, 2, tzinfo=UTC), usage_end=datetime(2026, 9, 1, tzinfo=UTC))


def test_usage_may_start_and_end_at_the_same_instant():
    instant = datetime(2026, 9, 1, tzinfo=UTC)
    assert line(usage_start=instant, usage_end=instant).usage_start == instant


def test_usage_without_a_time_zone_is_refused():
    with pytest.raises(ValidationError, match="timezone info"):
        line(usage_start=datetime(2026, 9, 1), usage_end=datetime(2026, 9, 2))


def test_billing_period_start_after_end_is_refused():
    with pytest.raises(ValidationError, match=r"billing_period\.start"):
        BillingPeriod(start=date(2026, 9, 2), end=date(2026, 9, 1))


def test_billing_period_of_a_single_day_is_accepted():
    assert billing_period(date(2026, 9, 1), date(2026, 9, 1)).start == date(2026, 9, 1)


# ----------------------------------------------------------------------------- invoice totals


def test_taxable_amount_is_the_sum_of_the_line_amounts():
    invoice = draft(
        line_items=[line(), line(quantity="0.5", unit_rate="0.013900"), line(quantity="3", unit_rate="100")]
    )
    assert invoice.taxable_amount == 90000 + 1 + 30000 == sum(item.amount for item in invoice.line_items)


def test_intra_state_supply_charges_cgst_and_sgst_of_9_percent_each():
    invoice = draft(customer=customer(intra_state=True))

    assert invoice.place_of_supply == "27"
    assert (invoice.tax.cgst, invoice.tax.sgst, invoice.tax.igst) == (8100, 8100, 0)
    assert invoice.tax.rate == "18"
    assert invoice.tax_amount == 16200
    assert invoice.amount == 90000 + 16200


def test_inter_state_supply_charges_igst_of_18_percent():
    invoice = draft(customer=customer(intra_state=False))

    assert invoice.place_of_supply == "24"
    assert (invoice.tax.cgst, invoice.tax.sgst, invoice.tax.igst) == (0, 0, 16200)
    assert invoice.amount == 90000 + 16200


def test_each_tax_component_rounds_half_up_to_the_paisa():
    # 9 % of 50 paise is 4.5 paise; 18 % of 25 paise is 4.5 paise.
    intra = draft(line_items=[line(quantity="1", unit_rate="0.5")])
    inter = draft(line_items=[line(quantity="1", unit_rate="0.25")], customer=customer(intra_state=False))

    assert (intra.tax.cgst, intra.tax.sgst, intra.tax.igst, intra.amount) == (5, 5, 0, 60)
    assert (inter.tax.cgst, inter.tax.sgst, inter.tax.igst, inter.amount) == (0, 0, 5, 30)


def test_place_of_supply_comes_from_the_customer_gstin():
    assert draft(customer=customer(intra_state=False)).place_of_supply == "24"


@pytest.mark.parametrize(("state_code", "intra"), [("27", True), ("29", False), ("07", False)])
def test_place_of_supply_without_a_gstin_is_the_customer_state_code(state_code, intra):
    invoice = draft(customer=customer(gstin=None, state_code=state_code))

    assert invoice.place_of_supply == state_code
    assert (invoice.tax.cgst > 0, invoice.tax.igst > 0) == (intra, not intra)


def test_empty_gstin_counts_as_no_gstin():
    assert customer(gstin="", state_code="29").gstin is None


def test_customer_whose_state_code_disagrees_with_its_gstin_is_refused():
    with pytest.raises(ValidationError, match="does not match the GSTIN"):
        customer(intra_state=True, state_code="29")


def test_customer_with_an_invalid_gstin_is_refused():
    with pytest.raises(ValidationError):
        customer(gstin="27AAPFU0939F1ZW", state_code="27")


def test_supplier_whose_state_code_disagrees_with_its_gstin_is_refused():
    with pytest.raises(ValidationError):
        supplier(state_code="29")


def test_an_invoice_without_lines_is_refused():
    with pytest.raises(DomainValidationError, match="1 to 500 line items"):
        draft(line_items=[])


def test_an_invoice_with_501_lines_is_refused():
    with pytest.raises(DomainValidationError, match="got 501"):
        draft(line_items=[line()] * (MAX_LINES + 1))


def test_an_invoice_with_500_lines_is_accepted():
    # A billing run's invoice may have 500 lines; the operator's create route stops at 50.
    invoice = draft(line_items=[line()] * MAX_LINES)
    assert (MAX_LINES, MAX_MANUAL_LINES) == (500, 50)
    assert invoice.taxable_amount == 500 * 90000


def test_a_new_draft_has_version_1_and_no_number_date_or_payments():
    invoice = draft()

    assert invoice.status is InvoiceStatus.DRAFT
    assert invoice.version == 1
    assert invoice.id.startswith("inv_") and len(invoice.id) == 18
    assert (invoice.invoice_number, invoice.date, invoice.due_date, invoice.issued_at) == (None,) * 4
    assert (invoice.amount_paid, invoice.amount_due, invoice.payments) == (0, invoice.amount, ())
    assert invoice.created_at == invoice.updated_at == NOW
    assert invoice.next_sweep_on is None


# ------------------------------------------------------------------- status machine: the matrix


def _pay_in_full(invoice: Invoice) -> Invoice:
    return invoice.apply_payment(payment(invoice.amount_due or 1, "pay_new"), LATER)


STATUS_CHANGES = ("issue", "mark_overdue", "cancel", "expire", "open_dispute")


ACTIONS: dict[str, Callable[[Invoice], Invoice | None]] = {
    "issue": lambda inv: inv.issue(invoice_number="INV/2627/000002", today=LATER.date(), now=LATER),
    "apply_payment": _pay_in_full,
    "mark_overdue": lambda inv: inv.mark_overdue(LONG_AFTER_DUE, LATER),
    "cancel": lambda inv: inv.cancel(LATER),
    "expire": lambda inv: inv.expire(LATER),
    "open_dispute": lambda inv: inv.open_dispute(dispute(invoice_id=inv.id), LATER),
    "ensure_deletable": lambda inv: inv.ensure_deletable(),
    "revise": lambda inv: inv.revise({"terms": "Net 30"}, LATER),
}

S = InvoiceStatus
# api.md, Status: action → {status it is legal in: status it leads to}.
LEGAL: dict[str, dict[InvoiceStatus, InvoiceStatus | None]] = {
    "issue": {S.DRAFT: S.ISSUED},
    # money is never refused: a final invoice records it (and refunds what it cannot settle)
    "apply_payment": {
        S.ISSUED: S.PAID,
        S.PARTIALLY_PAID: S.PAID,
        S.OVERDUE: S.PAID,
        S.PAID: S.PAID,
        S.EXPIRED: S.EXPIRED,
        S.CANCELLED: S.CANCELLED,
    },
    "mark_overdue": {S.ISSUED: S.OVERDUE, S.PARTIALLY_PAID: S.OVERDUE},
    "cancel": {S.ISSUED: S.CANCELLED, S.OVERDUE: S.CANCELLED},
    "expire": {S.ISSUED: S.EXPIRED, S.PARTIALLY_PAID: S.EXPIRED, S.OVERDUE: S.EXPIRED},
    "open_dispute": {S.ISSUED: S.ISSUED, S.PARTIALLY_PAID: S.PARTIALLY_PAID, S.OVERDUE: S.OVERDUE},
    "ensure_deletable": {S.DRAFT: None},
    # terms may change until the invoice is final (only notes may change then)
    "revise": {
        S.DRAFT: S.DRAFT,
        S.ISSUED: S.ISSUED,
        S.PARTIALLY_PAID: S.PARTIALLY_PAID,
        S.OVERDUE: S.OVERDUE,
    },
}
PAIRS = [(status, action) for status in InvoiceStatus for action in ACTIONS]
LEGAL_PAIRS = [(s, a) for s, a in PAIRS if s in LEGAL[a]]
ILLEGAL_PAIRS = [(s, a) for s, a in PAIRS if s not in LEGAL[a]]


def test_the_matrix_covers_every_status_and_action():
    assert len(LEGAL_PAIRS) + len(ILLEGAL_PAIRS) == len(InvoiceStatus) * len(ACTIONS) == 56
    assert len(LEGAL_PAIRS) == 22


@pytest.mark.parametrize(("status", "action"), LEGAL_PAIRS, ids=[f"{s}-{a}" for s, a in LEGAL_PAIRS])
def test_legal_transition_moves_the_status_and_bumps_the_version_by_one(status, action):
    before = in_status(status)

    after = ACTIONS[action](before)

    if action == "ensure_deletable":
        assert after is None
        return
    assert after.status is LEGAL[action][status]
    assert after.version == before.version + 1
    assert after.updated_at == LATER > before.updated_at
    assert after.created_at == before.created_at
    assert after.id == before.id


@pytest.mark.parametrize(("status", "action"), ILLEGAL_PAIRS, ids=[f"{s}-{a}" for s, a in ILLEGAL_PAIRS])
def test_illegal_transition_is_refused_naming_the_status(status, action):
    before = in_status(status)

    with pytest.raises(InvalidTransitionError) as refused:
        ACTIONS[action](before)

    assert f"'{status}'" in str(refused.value)
    assert refused.value.status == status


def test_paid_invoice_cannot_be_cancelled():
    with pytest.raises(InvalidTransitionError, match="'paid'"):
        in_status(InvoiceStatus.PAID).cancel(LATER)


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_final_status_accepts_no_further_status_change(status):
    invoice = in_status(status)
    for action in STATUS_CHANGES:
        with pytest.raises(InvalidTransitionError):
            ACTIONS[action](invoice)
    assert invoice.is_final
    assert ACTIONS["apply_payment"](invoice).status is status  # money is recorded, the status stays


# ---------------------------------------------------------------------------------------- issue


def test_issue_sets_number_date_due_date_and_issued_at():
    invoice = draft(payment_terms_days=30)

    result = invoice.issue(
        invoice_number="INV/2627/000042",
        today=date(2026, 10, 1),
        now=NOW,
        reminder_days=(7, 3, 7),
        grace_period_days=10,
        razorpay_invoice_id="inv_Rzp1",
        payment_url="https://rzp.io/i/x",
    )

    assert result.status is InvoiceStatus.ISSUED
    assert result.invoice_number == "INV/2627/000042"
    assert result.date == date(2026, 10, 1)
    assert result.due_date == date(2026, 10, 31)
    assert result.issued_at == NOW
    assert (result.reminder_days, result.grace_period_days) == ((3, 7), 10)
    assert (result.razorpay_invoice_id, result.payment_url) == ("inv_Rzp1", "https://rzp.io/i/x")
    assert result.version == invoice.version + 1
    assert (result.amount, result.amount_due) == (invoice.amount, invoice.amount)


def test_issue_with_zero_payment_terms_is_due_the_same_day():
    result = issued(payment_terms_days=0)
    assert result.due_date == result.date == date(2026, 10, 1)


@pytest.mark.parametrize("expire_by", [NOW - timedelta(seconds=1), NOW])
def test_issuing_with_expire_by_in_the_past_is_refused(expire_by):
    invoice = draft(expire_by=expire_by, now=NOW - timedelta(days=1))  # valid when drafted

    with pytest.raises(DomainValidationError, match="expire_by"):
        invoice.check_issuable(NOW)
    with pytest.raises(DomainValidationError, match="expire_by"):
        issued(invoice)


def test_expire_by_without_a_time_zone_is_refused():
    with pytest.raises((ValidationError, DomainValidationError)):
        draft(expire_by=datetime(2026, 12, 1))


def test_revising_expire_by_to_a_naive_timestamp_is_a_validation_error():
    with pytest.raises(DomainValidationError, match="time zone"):
        draft().revise({"expire_by": datetime(2026, 12, 1)}, NOW)


def test_a_draft_cannot_be_created_already_expired():
    with pytest.raises(DomainValidationError, match="future"):
        draft(expire_by=NOW - timedelta(seconds=1))


def test_issuing_with_expire_by_in_the_future_is_accepted():
    assert issued(expire_by=NOW + timedelta(days=30)).expire_by == NOW + timedelta(days=30)


def test_attach_payment_link_only_on_a_draft():
    linked = draft().attach_payment_link("inv_Rzp1", LATER)
    assert (linked.razorpay_invoice_id, linked.version, linked.status) == ("inv_Rzp1", 2, InvoiceStatus.DRAFT)
    with pytest.raises(InvalidTransitionError, match="'issued'"):
        issued().attach_payment_link("inv_Rzp2", LATER)


# ------------------------------------------------------------------------------------- payments


def test_full_payment_makes_an_issued_invoice_paid():
    invoice = issued()

    paid = invoice.apply_payment(payment(invoice.amount, paid_at=LATER), LATER)

    assert paid.status is InvoiceStatus.PAID
    assert (paid.amount_paid, paid.amount_due) == (invoice.amount, 0)
    assert paid.paid_at == LATER
    assert paid.payment_url is None
    assert [p.id for p in paid.payments] == ["pay_1"]


def test_a_part_payment_is_applied_even_without_partial_payment():
    # Money the customer sent is never refused: partial_payment only says what Razorpay may collect.
    invoice = issued(partial_payment=False)

    part = invoice.apply_payment(payment(100), LATER)

    assert part.status is InvoiceStatus.PARTIALLY_PAID
    assert (part.amount_paid, part.amount_due, part.refunds) == (100, invoice.amount - 100, ())


def test_partial_payment_makes_an_issued_invoice_partially_paid():
    invoice = issued(partial_payment=True)

    part = invoice.apply_payment(payment(100), LATER)

    assert part.status is InvoiceStatus.PARTIALLY_PAID
    assert (part.amount_paid, part.amount_due) == (100, invoice.amount - 100)
    assert part.paid_at is None
    assert part.payment_url == invoice.payment_url


def test_payments_that_add_up_to_the_amount_make_it_paid():
    invoice = issued(partial_payment=True)

    part = invoice.apply_payment(payment(100, "pay_1"), LATER)
    rest = part.apply_payment(payment(part.amount_due, "pay_2", paid_at=LATER), LATER)

    assert rest.status is InvoiceStatus.PAID
    assert rest.amount_paid == invoice.amount
    assert rest.paid_at == LATER
    assert rest.version == invoice.version + 2


def test_partial_payment_on_an_overdue_invoice_keeps_it_overdue():
    invoice = overdue(partial_payment=True)

    part = invoice.apply_payment(payment(100), LATER)

    assert part.status is InvoiceStatus.OVERDUE
    assert part.amount_due == invoice.amount - 100


def test_part_payment_on_an_overdue_invoice_without_partial_payment_is_applied_and_it_stays_overdue():
    invoice = overdue(partial_payment=False)

    part = invoice.apply_payment(payment(100), LATER)

    assert (part.status, part.amount_due) == (InvoiceStatus.OVERDUE, invoice.amount - 100)


def test_payment_completing_an_overdue_invoice_makes_it_paid():
    invoice = overdue(partial_payment=True).apply_payment(payment(100, "pay_1"), LATER)

    paid = invoice.apply_payment(payment(invoice.amount_due, "pay_2"), LATER)

    assert paid.status is InvoiceStatus.PAID
    assert paid.amount_due == 0


@pytest.mark.parametrize("status", OPEN_STATUSES)
def test_overpayment_is_recorded_with_a_refund_of_the_excess(status):
    invoice = in_status(status)

    paid = invoice.apply_payment(payment(invoice.amount_due + 500, "pay_over"), LATER)

    assert paid.status is InvoiceStatus.PAID
    assert paid.amount_paid == invoice.amount_paid + invoice.amount_due + 500
    (refund,) = paid.refunds
    assert (refund.payment_id, refund.amount) == ("pay_over", 500)
    assert (refund.reason, refund.status, refund.created_at) == (
        RefundReason.OVERPAYMENT,
        RefundStatus.PENDING,
        LATER,
    )
    assert refund.id.startswith("rfd_")
    assert (paid.amount_due, paid.amount_refunded) == (0, 500)
    assert paid.refundable("pay_over") == invoice.amount_due


@pytest.mark.parametrize(
    ("status", "refunded"),
    [
        (InvoiceStatus.PAID, "all"),  # nothing is due any more
        (InvoiceStatus.CANCELLED, "all"),  # a cancelled invoice collects nothing
        (InvoiceStatus.EXPIRED, "none"),  # an expired one still owes its balance: it owes less
    ],
)
def test_a_payment_on_a_final_invoice_is_recorded_and_what_it_cannot_settle_refunded(status, refunded):
    invoice = in_status(status)

    after = invoice.apply_payment(payment(100, "pay_late"), LATER)

    assert after.status is status
    assert after.payment("pay_late") is not None
    assert after.amount_paid == invoice.amount_paid + 100
    if refunded == "all":
        assert [(r.payment_id, r.amount) for r in after.refunds] == [("pay_late", 100)]
        assert after.amount_due == invoice.amount_due
    else:
        assert after.refunds == ()
        assert after.amount_due == invoice.amount_due - 100


def test_a_payment_beyond_what_an_expired_invoice_owes_refunds_only_the_excess():
    invoice = in_status(InvoiceStatus.EXPIRED)

    after = invoice.apply_payment(payment(invoice.amount_due + 7, "pay_late"), LATER)

    assert after.status is InvoiceStatus.EXPIRED
    assert [(r.payment_id, r.amount) for r in after.refunds] == [("pay_late", 7)]
    assert after.amount_due == 0


def test_a_draft_refuses_a_payment_it_must_hold_instead():
    with pytest.raises(InvalidTransitionError, match="'draft'"):
        draft().apply_payment(payment(100), LATER)


def test_a_linked_draft_holds_a_payment_and_its_issue_applies_it():
    linked = draft().attach_payment_link("inv_Rzp1", LATER)

    held = linked.hold_payment(payment(6200, "pay_early"), LATER)

    assert held.status is InvoiceStatus.DRAFT
    assert [p.id for p in held.held_payments] == ["pay_early"]
    assert (held.payments, held.amount_paid, held.amount_due) == ((), 0, held.amount)
    assert held.payment("pay_early") is not None
    with pytest.raises(DuplicateError):
        held.hold_payment(payment(6200, "pay_early"), LATER)

    result = issued(held)

    assert result.status is InvoiceStatus.PARTIALLY_PAID
    assert (result.held_payments, [p.id for p in result.payments]) == ((), ["pay_early"])
    assert result.amount_due == held.amount - 6200
    assert result.version == held.version + 1  # one version: issued and the payment applied


def test_held_payments_that_cover_the_amount_make_the_issue_paid_and_refund_the_excess():
    linked = draft().attach_payment_link("inv_Rzp1", LATER)
    held = linked.hold_payment(payment(linked.amount, "pay_a"), LATER)
    held = held.hold_payment(payment(300, "pay_b"), LATER)

    result = issued(held)

    assert result.status is InvoiceStatus.PAID
    assert [(r.payment_id, r.amount) for r in result.refunds] == [("pay_b", 300)]
    assert result.amount_due == 0


def test_a_draft_without_a_payment_link_cannot_hold_a_payment():
    with pytest.raises(InvalidTransitionError, match="no payment link"):
        draft().hold_payment(payment(100), LATER)


@pytest.mark.parametrize("status", [s for s in InvoiceStatus if s is not InvoiceStatus.DRAFT])
def test_only_a_draft_holds_payments(status):
    with pytest.raises(InvalidTransitionError, match=f"'{status}'"):
        in_status(status).hold_payment(payment(100, "pay_held"), LATER)


def test_a_draft_cannot_carry_payments_credits_or_refunds():
    invoice = draft()
    with pytest.raises(ValidationError, match="a draft has no payments"):
        Invoice.model_validate(invoice.model_dump() | {"payments": [payment(100).model_dump()]})


# ---------------------------------------------------------------------------------------- refunds


def overpaid() -> Invoice:
    invoice = issued()
    return invoice.apply_payment(payment(invoice.amount + 900, "pay_over"), LATER)


@pytest.mark.parametrize("status", [RefundStatus.PROCESSED, RefundStatus.FAILED])
def test_settling_a_refund_records_what_the_provider_said_once(status):
    invoice = overpaid()
    (refund,) = invoice.refunds
    later = LATER + timedelta(hours=1)

    settled = invoice.settle_refund(
        refund.id,
        status,
        later,
        razorpay_refund_id="rfnd_1",
        failure_reason="x" if status == "failed" else None,
    )

    (after,) = settled.refunds
    assert (after.status, after.razorpay_refund_id, after.settled_at) == (status, "rfnd_1", later)
    # a failed refund is still owed to the customer: it keeps counting as refunded
    assert (settled.amount_refunded, settled.amount_due, settled.status) == (900, 0, InvoiceStatus.PAID)
    assert settled.version == invoice.version + 1
    for again in (RefundStatus.PROCESSED, RefundStatus.FAILED):
        with pytest.raises(DuplicateError, match=str(status)):
            settled.settle_refund(refund.id, again, later)


def test_settling_an_unknown_refund_is_a_validation_error():
    with pytest.raises(DomainValidationError, match="no refund rfd_nope"):
        overpaid().settle_refund("rfd_nope", RefundStatus.PROCESSED, LATER)


def test_noting_the_provider_s_refund_id_keeps_it_pending():
    invoice = overpaid()
    (refund,) = invoice.refunds

    started = invoice.note_refund_started(refund.id, "rfnd_9", LATER)

    assert (started.refunds[0].razorpay_refund_id, started.refunds[0].status) == (
        "rfnd_9",
        RefundStatus.PENDING,
    )
    assert started.version == invoice.version + 1


def test_refunds_never_exceed_what_was_paid():
    invoice = overpaid()
    too_much = invoice.refunds[0].model_copy(update={"id": "rfd_2", "amount": invoice.amount_paid})
    with pytest.raises(ValidationError, match="amount_refunded must not exceed amount_paid"):
        Invoice.model_validate(invoice.model_dump() | {"refunds": [*invoice.refunds, too_much]})


def test_payment_in_another_currency_is_refused():
    invoice = issued()

    with pytest.raises(DomainValidationError, match="USD"):
        invoice.apply_payment(payment(invoice.amount, currency="USD"), LATER)


@pytest.mark.parametrize("amount", [0, -1])
def test_payment_of_nothing_or_less_is_refused(amount):
    with pytest.raises(ValidationError):
        payment(amount)


def test_a_payment_recorded_twice_raises_duplicate():
    invoice = issued(partial_payment=True).apply_payment(payment(100, "pay_1"), LATER)

    with pytest.raises(DuplicateError, match="pay_1"):
        invoice.apply_payment(payment(100, "pay_1"), LATER)


def test_replaying_the_completing_payment_on_a_paid_invoice_raises_duplicate_not_invalid_state():
    invoice = issued()
    paid = invoice.apply_payment(payment(invoice.amount, "pay_1"), LATER)

    with pytest.raises(DuplicateError):
        paid.apply_payment(payment(invoice.amount, "pay_1"), LATER)


# --------------------------------------------------------------------------- cancel and expire


def test_cancel_clears_the_payment_link_and_stamps_cancelled_at():
    cancelled = issued().cancel(LATER)

    assert cancelled.status is InvoiceStatus.CANCELLED
    assert (cancelled.cancelled_at, cancelled.payment_url) == (LATER, None)


def test_cancel_is_refused_once_a_payment_was_received():
    invoice = overdue(partial_payment=True).apply_payment(payment(100), LATER)

    with pytest.raises(InvalidTransitionError, match="payments have been received"):
        invoice.cancel(LATER)


def test_partially_paid_invoice_cannot_be_cancelled():
    with pytest.raises(InvalidTransitionError, match="'partially_paid'"):
        in_status(InvoiceStatus.PARTIALLY_PAID).cancel(LATER)


def test_expire_keeps_what_was_paid_and_clears_the_payment_link():
    expired = in_status(InvoiceStatus.PARTIALLY_PAID).expire(LATER)

    assert expired.status is InvoiceStatus.EXPIRED
    assert (expired.expired_at, expired.payment_url, expired.amount_paid) == (LATER, None, 100)


@pytest.mark.parametrize("status", [InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID])
def test_mark_overdue_is_refused_on_or_before_the_due_date(status):
    invoice = in_status(status)

    for today in (invoice.due_date, invoice.due_date - timedelta(days=1)):
        with pytest.raises(InvalidTransitionError, match="not past its due date"):
            invoice.mark_overdue(today, LATER)


def test_an_invoice_with_nothing_to_collect_cannot_be_issued():
    # A zero invoice could never be paid, so it would go overdue for a balance of 0.
    with pytest.raises(DomainValidationError, match="something to collect"):
        issued(line_items=[line(unit_rate="0")])


def test_reminders_pause_while_a_dispute_is_open():
    invoice = issued()
    overdue = invoice.mark_overdue(invoice.due_date + timedelta(days=1), LATER)
    disputed = overdue.open_dispute(dispute(invoice_id=invoice.id), LATER)

    with pytest.raises(InvalidTransitionError, match="dispute"):
        disputed.record_reminder(3, LATER)


# --------------------------------------------------------------------------------------- revise


DRAFT_CHANGES: dict[str, Any] = {
    "customer": customer(intra_state=False),
    "billing_period": BillingPeriod(start=date(2026, 8, 1), end=date(2026, 8, 31)),
    "line_items": (line(quantity="2", unit_rate="10"),),
    "description": "Compute, August",
    "payment_terms_days": 30,
    "partial_payment": True,
    "expire_by": NOW + timedelta(days=60),
    "notes": "Thank you",
    "terms": "Net 30",
}


def test_draft_changes_cover_every_draft_field():
    assert set(DRAFT_CHANGES) == DRAFT_FIELDS


@pytest.mark.parametrize("field", sorted(DRAFT_FIELDS))
def test_a_draft_accepts_a_change_to_any_create_field(field):
    before = draft()

    after = before.revise({field: DRAFT_CHANGES[field]}, LATER)

    assert getattr(after, field) == DRAFT_CHANGES[field]
    assert (after.status, after.version, after.updated_at) == (InvoiceStatus.DRAFT, 2, LATER)


def test_revising_a_drafts_lines_recomputes_the_totals():
    before = draft()

    after = before.revise({"line_items": [line(quantity="2", unit_rate="10"), line(quantity="1")]}, LATER)

    assert after.taxable_amount == 2000 + 125
    assert (after.tax.cgst, after.tax.sgst) == (191, 191)  # 9 % of 2125 = 191.25
    assert after.amount == 2125 + 382


def test_revising_a_drafts_customer_recomputes_place_of_supply_and_tax():
    after = draft().revise({"customer": customer(intra_state=False)}, LATER)

    assert after.place_of_supply == "24"
    assert (after.tax.cgst, after.tax.sgst, after.tax.igst) == (0, 0, 16200)


def test_revising_a_draft_to_no_lines_or_to_51_lines_is_refused():
    invoice = draft()
    for lines in ([], [line()] * (MAX_LINES + 1)):
        with pytest.raises(DomainValidationError):
            invoice.revise({"line_items": lines}, LATER)


@pytest.mark.parametrize("field", ["amount", "status", "account_id", "invoice_number", "amount_paid"])
def test_a_draft_refuses_changes_to_computed_or_system_fields(field):
    with pytest.raises(InvalidTransitionError, match=field):
        draft().revise({field: 1}, LATER)


OPEN_CHANGES = {name: DRAFT_CHANGES[name] for name in sorted(OPEN_FIELDS)}


@pytest.mark.parametrize("status", OPEN_STATUSES)
@pytest.mark.parametrize("field", sorted(OPEN_FIELDS))
def test_an_open_invoice_accepts_notes_terms_expire_by_and_partial_payment(status, field):
    before = in_status(status)

    after = before.revise({field: OPEN_CHANGES[field]}, LATER)

    assert getattr(after, field) == OPEN_CHANGES[field]
    assert after.status is status
    assert after.version == before.version + 1
    assert (after.amount, after.amount_paid) == (before.amount, before.amount_paid)


@pytest.mark.parametrize("status", OPEN_STATUSES)
@pytest.mark.parametrize("field", sorted(DRAFT_FIELDS - OPEN_FIELDS))
def test_an_open_invoice_refuses_other_changes_naming_the_status(status, field):
    with pytest.raises(InvalidTransitionError, match=f"{field}.*'{status}'"):
        in_status(status).revise({field: DRAFT_CHANGES[field]}, LATER)


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_a_final_invoice_accepts_only_notes(status):
    before = in_status(status)

    after = before.revise({"notes": "Settled"}, LATER)

    assert (after.notes, after.status, after.version) == ("Settled", status, before.version + 1)
    for field in sorted(DRAFT_FIELDS - FINAL_FIELDS):
        with pytest.raises(InvalidTransitionError, match=f"'{status}'"):
            before.revise({field: DRAFT_CHANGES[field]}, LATER)


@pytest.mark.parametrize("status", [InvoiceStatus.DRAFT, *OPEN_STATUSES])
def test_revising_expire_by_into_the_past_is_refused(status):
    with pytest.raises(DomainValidationError, match="expire_by"):
        in_status(status).revise({"expire_by": LATER - timedelta(seconds=1)}, LATER)


def test_revising_a_change_that_is_refused_leaves_the_invoice_as_it_was():
    invoice = issued()
    with pytest.raises(InvalidTransitionError):
        invoice.revise({"notes": "ok", "line_items": [line()]}, LATER)
    assert (invoice.notes, invoice.version) == (None, 2)


# ---------------------------------------------------------------------- disputes and the sweep


def test_open_dispute_marks_the_invoice_disputed():
    invoice = issued()

    disputed = invoice.open_dispute(dispute(invoice_id=invoice.id), LATER)

    assert disputed.disputed and not invoice.disputed
    assert disputed.status is invoice.status


def test_a_resolved_dispute_does_not_make_the_invoice_disputed():
    invoice = issued().open_dispute(dispute(status="resolved"), LATER)
    assert not invoice.disputed


def test_record_reminder_twice_raises_duplicate():
    invoice = overdue().record_reminder(3, LATER)

    assert invoice.reminders_sent == (3,)
    with pytest.raises(DuplicateError, match="day 3"):
        invoice.record_reminder(3, LATER)


def test_reminders_are_kept_sorted():
    invoice = overdue().record_reminder(7, LATER).record_reminder(3, LATER)
    assert invoice.reminders_sent == (3, 7)


@pytest.mark.parametrize("status", [s for s in InvoiceStatus if s is not InvoiceStatus.OVERDUE])
def test_reminders_and_suspension_need_an_overdue_invoice(status):
    invoice = in_status(status)
    with pytest.raises(InvalidTransitionError, match=f"'{status}'"):
        invoice.record_reminder(3, LATER)
    with pytest.raises(InvalidTransitionError, match=f"'{status}'"):
        invoice.request_suspension(LATER)


def test_request_suspension_twice_raises_duplicate():
    invoice = overdue().request_suspension(LATER)

    assert invoice.suspension_requested_at == LATER
    with pytest.raises(DuplicateError):
        invoice.request_suspension(LATER + timedelta(days=1))


def test_request_suspension_is_refused_while_a_dispute_is_open():
    invoice = overdue()
    invoice = invoice.open_dispute(dispute(invoice_id=invoice.id), LATER)

    with pytest.raises(InvalidTransitionError, match="dispute"):
        invoice.request_suspension(LATER)


# ------------------------------------------------------------------------------- next_sweep_on


def test_draft_needs_no_sweep():
    assert draft(expire_by=NOW + timedelta(days=3)).next_sweep_on is None


@pytest.mark.parametrize("status", [InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID])
def test_pending_invoice_is_swept_the_day_after_its_due_date(status):
    invoice = in_status(status)
    assert invoice.due_date == date(2026, 10, 16)
    assert invoice.next_sweep_on == date(2026, 10, 17)


@pytest.mark.parametrize(
    ("expire_by", "sweep_on"),
    [
        # 23:59 IST on 5 October is still the 5th in India: swept on the 6th
        (datetime(2026, 10, 5, 18, 29, tzinfo=UTC), date(2026, 10, 6)),
        # 00:00 IST on 6 October: swept on the 7th, although it is still the 5th in UTC
        (datetime(2026, 10, 5, 18, 30, tzinfo=UTC), date(2026, 10, 7)),
        # expiring after the due date: the due date wins
        (datetime(2026, 10, 20, tzinfo=UTC), date(2026, 10, 17)),
        # expiring on the due date (IST): both give the 17th
        (datetime(2026, 10, 16, 12, tzinfo=UTC), date(2026, 10, 17)),
    ],
)
def test_pending_invoice_is_swept_the_day_after_expire_by_when_that_is_earlier(expire_by, sweep_on):
    assert issued(expire_by=expire_by).next_sweep_on == sweep_on


def test_overdue_invoice_is_swept_on_each_unsent_reminder_day_and_the_grace_day():
    # Given reminders 3 and 10 days after the due date and a 7-day grace period
    invoice = overdue_with(reminder_days=(3, 10), grace_period_days=7)
    due = invoice.due_date

    # Then the sweep wakes on day 3, then day 7 (grace), then day 10, then never
    assert invoice.next_sweep_on == due + timedelta(days=3)
    invoice = invoice.record_reminder(3, LATER)
    assert invoice.next_sweep_on == due + timedelta(days=7)
    invoice = invoice.request_suspension(LATER)
    assert invoice.next_sweep_on == due + timedelta(days=10)
    invoice = invoice.record_reminder(10, LATER)
    assert invoice.next_sweep_on is None


def test_overdue_invoice_is_swept_on_expiry_when_that_comes_first():
    expire_by = datetime(2026, 10, 17, 12, tzinfo=UTC)
    invoice = overdue_with(expire_by=expire_by, reminder_days=(3, 7), grace_period_days=7)
    assert invoice.next_sweep_on == date(2026, 10, 18)


def test_overdue_invoice_with_everything_done_is_swept_only_for_expiry():
    expire_by = datetime(2026, 12, 31, 12, tzinfo=UTC)
    invoice = overdue_with(expire_by=expire_by, reminder_days=(3,), grace_period_days=7)
    invoice = invoice.record_reminder(3, LATER).request_suspension(LATER)
    assert invoice.next_sweep_on == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("expire_by", "sweep_on"),
    [(None, None), (datetime(2026, 12, 31, 12, tzinfo=UTC), date(2027, 1, 1))],
)
def test_disputed_overdue_invoice_is_swept_only_for_expiry(expire_by, sweep_on):
    invoice = overdue_with(expire_by=expire_by, reminder_days=(3, 7), grace_period_days=7)

    disputed = invoice.open_dispute(dispute(invoice_id=invoice.id), LATER)

    assert disputed.next_sweep_on == sweep_on


def test_disputed_pending_invoice_is_still_swept_after_its_due_date():
    invoice = issued()
    disputed = invoice.open_dispute(dispute(invoice_id=invoice.id), LATER)
    assert disputed.next_sweep_on == invoice.due_date + timedelta(days=1)


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_final_invoice_is_never_swept_again(status):
    assert in_status(status).next_sweep_on is None


def test_final_invoice_with_an_expiry_is_never_swept_again():
    invoice = issued(expire_by=NOW + timedelta(days=3)).expire(LATER)
    assert invoice.next_sweep_on is None


# ------------------------------------------------------------------------------------- helpers


def test_factories_build_an_invoice_that_round_trips_through_its_dump():
    invoice = in_status(InvoiceStatus.PARTIALLY_PAID).open_dispute(dispute(), LATER)
    assert Invoice.model_validate(invoice.model_dump()) == invoice
    assert Invoice.model_validate_json(invoice.model_dump_json()) == invoice
    assert address().country == "IN"


# ------------------------------------------------------------------------- credit and relinking


def full_credit(invoice: Invoice) -> CreditNoteRef:
    return CreditNoteRef(
        id="cn_1",
        credit_note_number="CN/2627/000001",
        date=LATER.date(),
        amount=invoice.amount,
        taxable_amount=invoice.taxable_amount,
        cgst=invoice.tax.cgst,
        sgst=invoice.tax.sgst,
        igst=invoice.tax.igst,
    )


def test_cancelling_with_a_full_credit_note_leaves_nothing_due():
    invoice = issued()

    cancelled = invoice.cancel(LATER, credit=full_credit(invoice))

    assert cancelled.status is InvoiceStatus.CANCELLED
    assert (cancelled.amount_credited, cancelled.amount_due) == (invoice.amount, 0)
    assert cancelled.amount_paid - cancelled.amount_refunded + cancelled.amount_credited + 0 == invoice.amount


def test_cancelling_without_a_credit_note_leaves_the_balance_as_it_was():
    invoice = issued()
    assert invoice.cancel(LATER).amount_due == invoice.amount


def test_credits_never_exceed_the_amount():
    invoice = issued()
    credit = full_credit(invoice)
    with pytest.raises(ValidationError, match="amount_credited must not exceed amount"):
        Invoice.model_validate(
            invoice.model_dump()
            | {"credit_notes": [credit.model_dump(), credit.model_dump() | {"id": "cn_2"}]}
        )


def test_relink_points_an_issued_invoice_at_another_provider_invoice():
    relinked = issued().relink("inv_Rzp2", "https://rzp.io/i/two", LATER)
    assert (relinked.razorpay_invoice_id, relinked.payment_url) == ("inv_Rzp2", "https://rzp.io/i/two")
    with pytest.raises(InvalidTransitionError, match="'draft'"):
        draft().relink("inv_Rzp2", None, LATER)


# -------------------------------------------------------------------------------- needs_new_pdf


@pytest.mark.parametrize(
    "change",
    [
        lambda inv: inv.apply_payment(payment(100), LATER),
        lambda inv: inv.revise({"notes": "Thank you"}, LATER),
        lambda inv: inv.revise({"expire_by": NOW + timedelta(days=40)}, LATER),
        lambda inv: inv.cancel(LATER),
        lambda inv: inv.expire(LATER),
        lambda inv: inv.relink("inv_Rzp2", "https://rzp.io/i/two", LATER),
    ],
    ids=["payment", "notes", "expire_by", "cancel", "expire", "relink"],
)
def test_a_change_to_what_is_printed_needs_a_new_pdf(change):
    before = issued()
    assert change(before).needs_new_pdf(before)


@pytest.mark.parametrize(
    "change",
    [
        lambda inv: inv.open_dispute(dispute(invoice_id=inv.id), LATER),
        lambda inv: inv.mark_overdue(inv.due_date + timedelta(days=1), LATER),
        lambda inv: inv.revise({"partial_payment": True}, LATER),
    ],
    ids=["dispute", "overdue", "partial_payment"],
)
def test_disputes_sweep_bookkeeping_and_unprinted_fields_need_no_new_pdf(change):
    before = issued()
    after = change(before)
    if after.status is InvoiceStatus.OVERDUE:
        # the status is printed: going overdue changes the PDF's stamp
        assert after.needs_new_pdf(before)
        later = after.record_reminder(3, LATER)
        assert not later.needs_new_pdf(after)
        assert not later.request_suspension(LATER).needs_new_pdf(later)
    else:
        assert not after.needs_new_pdf(before)


def test_issuing_needs_the_first_pdf_and_drafts_never_need_one():
    before = draft()
    assert issued(before).needs_new_pdf(before)
    assert not before.revise({"notes": "x"}, LATER).needs_new_pdf(before)


# ------------------------------------------------------------------------------- renders_ahead


@pytest.mark.parametrize(
    ("change", "ahead"),
    [
        (lambda inv: inv.apply_payment(payment(inv.amount), LATER), True),
        (lambda inv: inv.cancel(LATER), True),
        (lambda inv: inv.apply_payment(payment(100), LATER), False),
        (lambda inv: inv.mark_overdue(inv.due_date + timedelta(days=1), LATER), False),
        (lambda inv: inv.expire(LATER), False),
        (lambda inv: inv.revise({"notes": "Thank you"}, LATER), False),
        (lambda inv: inv.relink("inv_Rzp2", "https://rzp.io/i/two", LATER), False),
        (lambda inv: inv.open_dispute(dispute(invoice_id=inv.id), LATER), False),
    ],
    ids=["paid", "cancelled", "part_paid", "overdue", "expired", "notes", "relink", "dispute"],
)
def test_only_the_versions_customers_fetch_soon_are_rendered_ahead(change, ahead):
    # Issued, paid in full and cancelled are rendered as they are committed; every other printed
    # change waits for its first download (and one that prints nothing new needs no PDF at all).
    before = issued()
    after = change(before)

    assert after.renders_ahead(before) is ahead
    assert not ahead or after.needs_new_pdf(before)


def test_a_credit_note_applied_to_the_invoice_renders_it_ahead_to_show_the_credit():
    from invoicing.domain import credit_notes as rules
    from invoicing.domain.credit_notes import CreditReason, CreditRequest

    before = issued()
    request = CreditRequest(reason=CreditReason.DISCOUNT, description="Goodwill.", lines=((0, 100),))
    credit = rules.plan_credit(
        before,
        request,
        note_id="cn_1",
        credit_note_number="CN/2627/000001",
        today=date(2026, 10, 1),
        now=LATER,
    )

    assert credit.invoice.status is before.status  # not settled: the credit alone asks for it
    assert credit.invoice.renders_ahead(before)


def test_the_issued_version_is_rendered_ahead_and_a_paid_invoice_s_later_changes_are_not():
    before = draft()
    first = issued(before)
    assert first.renders_ahead(before)
    paid = first.apply_payment(payment(first.amount), LATER)
    assert not paid.revise({"notes": "Receipt sent"}, LATER).renders_ahead(paid)


# ------------------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", "1000000000000.000001"), ("unit_rate", "1000000000000.000001")],
)
def test_quantity_and_unit_rate_are_bounded(field, value):
    with pytest.raises(ValidationError, match="must not exceed"):
        line(**{field: value})


def test_quantity_and_unit_rate_at_their_bounds_are_accepted_while_the_line_fits():
    assert line(quantity="1000000000000", unit_rate="0.01").amount == 10**12
    assert line(quantity="0.000001", unit_rate="1000000000000").amount == 10**8


def test_a_line_above_the_amount_cap_is_refused():
    with pytest.raises(ValidationError, match="line amount must not exceed"):
        line(quantity="1000000", unit_rate="1000000")  # 10^12 rupees


def test_an_invoice_whose_total_with_tax_exceeds_the_cap_is_refused():
    # each line is under the cap; the total (with 18 % GST) is not
    per_line = line(quantity="1", unit_rate=str(MAX_AMOUNT_PAISE // 200))
    with pytest.raises(DomainValidationError, match="must not exceed"):
        draft(line_items=[per_line, per_line])


@pytest.mark.parametrize(
    "instant",
    [datetime(1999, 12, 31, 23, 59, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)],
)
def test_timestamps_outside_the_years_2000_to_2100_are_refused(instant):
    with pytest.raises(ValidationError, match="between 2000 and 2100"):
        line(usage_start=instant, usage_end=instant)
    with pytest.raises(ValidationError, match="between 2000 and 2100"):
        payment(100, paid_at=instant)


def test_expire_by_beyond_2100_is_refused_when_drafted_or_revised():
    far = datetime(9999, 12, 31, tzinfo=UTC)
    with pytest.raises(DomainValidationError, match="between 2000 and 2100"):
        draft(expire_by=far)
    with pytest.raises(DomainValidationError, match="between 2000 and 2100"):
        issued().revise({"expire_by": far}, LATER)


@pytest.mark.parametrize("day", [date(1999, 12, 31), date(2101, 1, 1)])
def test_dates_outside_the_years_2000_to_2100_are_refused(day):
    with pytest.raises(ValidationError, match="between 2000 and 2100"):
        BillingPeriod(start=day, end=day)


def test_a_payment_above_the_amount_cap_is_refused():
    with pytest.raises(ValidationError):
        payment(MAX_AMOUNT_PAISE + 1)


@pytest.mark.parametrize(
    "legacy",
    [{"amount": MAX_AMOUNT_PAISE + 1}, {"expire_by": datetime(9999, 12, 31, tzinfo=UTC)}],
    ids=["amount", "expire_by"],
)
def test_a_draft_stored_before_the_bounds_is_refused_before_issue(legacy):
    invoice = draft().model_copy(update=legacy)  # as read from an old item, unvalidated

    with pytest.raises(DomainValidationError, match="must"):
        invoice.check_issuable(NOW)
