"""The credit-note rules (domain.credit_notes): which invoices, until when, what remains, tax, effect."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from invoicing.domain import credit_notes as rules
from invoicing.domain.credit_notes import CreditReason, CreditRequest
from invoicing.domain.errors import DomainValidationError, InvalidTransitionError, NotFoundError
from invoicing.domain.invoice import Invoice, InvoiceStatus, RefundReason, RefundStatus
from invoicing.domain.numbering import ist_date
from tests.unit.factories import NOW, customer, dispute, draft, issued, line, payment

TODAY = ist_date(NOW)


def lines_request(
    *pairs: tuple[int, int], reason: CreditReason = CreditReason.EXCESS_CHARGED
) -> CreditRequest:
    return CreditRequest(reason=reason, description="VM billed for hours it was stopped.", lines=pairs)


def full_request() -> CreditRequest:
    return CreditRequest(reason=CreditReason.DEFICIENT_SERVICE, description="Outage credit.", full=True)


def credit(
    invoice: Invoice, request: CreditRequest, *, sequence: int = 1, today: date = TODAY, note_id: str = "cn_A"
):
    return rules.plan_credit(
        invoice,
        request,
        note_id=note_id,
        credit_note_number=rules.number(today, sequence),
        today=today,
        now=NOW,
    )


def two_lines(intra_state: bool = True, **overrides) -> Invoice:
    """Line 0: ₹900.00; line 1: ₹45.50 (taxable ₹945.50)."""
    return issued(
        customer=customer(intra_state=intra_state),
        line_items=[line(), line(resource_name="disk-1", quantity="91", unit="GB", unit_rate="0.5")],
        **overrides,
    )


def pay_all(invoice: Invoice) -> Invoice:
    return invoice.apply_payment(payment(invoice.amount_due), NOW)


# ------------------------------------------------------------------------------------- numbers
def test_credit_notes_have_their_own_series_per_financial_year():
    assert rules.series(date(2026, 10, 1)) == "CN/2627"
    assert rules.number(date(2026, 10, 1), 1) == "CN/2627/000001"
    assert rules.series(date(2027, 3, 31)) == "CN/2627"
    assert rules.series(date(2027, 4, 1)) == "CN/2728"
    assert len(rules.number(date(2027, 4, 1), 999_999)) <= 16


# ----------------------------------------------------------------------------------------- tax
def test_an_intra_state_credit_takes_cgst_and_sgst_each_half_up_on_the_credited_value():
    invoice = two_lines(intra_state=True)
    planned = credit(invoice, lines_request((0, 10_050)))  # 9 % of ₹100.50 = 904.5 paise → 905
    assert (planned.note.tax.cgst, planned.note.tax.sgst, planned.note.tax.igst) == (905, 905, 0)
    assert planned.note.amount == 10_050 + 1_810
    assert planned.note.taxable_amount == 10_050


def test_an_inter_state_credit_takes_igst_half_up():
    invoice = two_lines(intra_state=False)
    planned = credit(invoice, lines_request((1, 25)))  # 18 % of 25 paise = 4.5 → 5
    assert (planned.note.tax.cgst, planned.note.tax.sgst, planned.note.tax.igst) == (0, 0, 5)


def test_a_full_credit_after_partial_ones_takes_exactly_what_remains_so_the_invoice_nets_to_zero():
    # Given an invoice credited in pieces whose rounded tax adds up to more than the whole's
    invoice = issued(line_items=[line(quantity="1", unit_rate="1.00")])  # ₹1: tax 9 paise each
    for sequence, amount in enumerate((50, 25), start=1):  # 4.5 → 5 and 2.25 → 2
        invoice = credit(
            invoice, lines_request((0, amount)), sequence=sequence, note_id=f"cn_{sequence}"
        ).invoice

    # When the rest is credited in full
    last = credit(invoice, full_request(), sequence=3, note_id="cn_3")

    # Then it takes what remains of each component, and the invoice owes and is owed nothing
    assert last.note.taxable_amount == 25
    assert (last.note.tax.cgst, last.note.tax.sgst) == (9 - 5 - 2, 9 - 5 - 2)
    after = last.invoice
    assert after.amount_credited == after.amount
    assert after.amount_due == 0
    assert sum(c.cgst for c in after.credit_notes) == after.tax.cgst


def test_a_credit_never_takes_more_of_a_component_than_remains():
    invoice = issued(line_items=[line(quantity="1", unit_rate="1.00")])
    first = credit(invoice, lines_request((0, 50))).invoice  # cgst 5 of 9
    second = credit(first, lines_request((0, 49)), note_id="cn_B", sequence=2)  # 4.41 → 4, capped at 4
    assert second.note.tax.cgst == 4
    assert second.invoice.amount_due >= 0


# ------------------------------------------------------------------------------------ lines
def test_no_line_is_credited_beyond_what_remains_of_it():
    invoice = credit(two_lines(), lines_request((1, 4_000))).invoice
    with pytest.raises(DomainValidationError) as refused:
        credit(invoice, lines_request((1, 551)), note_id="cn_B", sequence=2)
    assert refused.value.details[0]["loc"] == ["body", "lines", 0, "amount"]
    assert "550" in refused.value.details[0]["msg"]


def test_an_unknown_line_or_a_line_named_twice_is_refused():
    with pytest.raises(DomainValidationError) as unknown:
        credit(two_lines(), lines_request((2, 100)))
    assert unknown.value.details[0]["loc"] == ["body", "lines", 0, "line"]
    with pytest.raises(DomainValidationError):
        credit(two_lines(), lines_request((0, 100), (0, 100)))


def test_a_full_credit_of_a_fully_credited_invoice_is_refused():
    paid = pay_all(two_lines())
    credited = credit(paid, full_request()).invoice
    with pytest.raises(DomainValidationError):
        credit(credited, full_request(), note_id="cn_B", sequence=2)


def test_the_note_keeps_each_line_s_sac_and_description():
    note = credit(two_lines(), lines_request((1, 100))).note
    assert note.lines[0].line == 1
    assert note.lines[0].sac_code == "998315"
    assert note.lines[0].description.startswith("disk-1")


# --------------------------------------------------------------------------------- statuses
@pytest.mark.parametrize("status", ["draft", "cancelled"])
def test_drafts_and_cancelled_invoices_cannot_be_credited(status):
    invoice = draft() if status == "draft" else issued().cancel(NOW)
    with pytest.raises(InvalidTransitionError) as refused:
        credit(invoice, full_request())
    assert status in refused.value.message


def test_a_credit_after_30_november_following_the_financial_year_is_refused_and_says_why():
    invoice = two_lines()  # 1 Oct 2026: FY 2026-27, last day 30 Nov 2027
    assert rules.deadline(invoice.date) == date(2027, 11, 30)
    credit(invoice, full_request(), today=date(2027, 11, 30))  # the last day is fine
    with pytest.raises(InvalidTransitionError) as refused:
        credit(invoice, full_request(), today=date(2027, 12, 1))
    assert "30 November" in refused.value.message
    assert "2027-11-30" in refused.value.message


def test_the_deadline_of_a_march_invoice_is_the_november_of_the_same_year():
    assert rules.deadline(date(2027, 3, 31)) == date(2027, 11, 30)
    assert rules.deadline(date(2027, 4, 1)) == date(2028, 11, 30)


# ----------------------------------------------------------------------------------- effects
def test_a_credit_on_an_issued_invoice_reduces_what_is_due_and_refunds_nothing():
    invoice = two_lines()
    planned = credit(invoice, lines_request((0, 10_000)))
    after = planned.invoice
    assert after.status is InvoiceStatus.ISSUED
    assert after.amount_due == invoice.amount_due - planned.note.amount
    assert planned.note.applied_to_due == planned.note.amount
    assert planned.note.refund_amount == 0 and not after.refunds
    assert after.payment_url is None  # the relink gives it the new balance's link
    assert after.version == invoice.version + 1


def test_a_credit_beyond_the_balance_of_a_partly_paid_invoice_refunds_the_excess_newest_payment_first():
    invoice = two_lines(partial_payment=True)
    invoice = invoice.apply_payment(payment(30_000, "pay_old", paid_at=NOW), NOW)
    invoice = invoice.apply_payment(payment(20_000, "pay_new", paid_at=NOW + timedelta(hours=1)), NOW)
    due = invoice.amount_due

    planned = credit(invoice, full_request())

    note, after = planned.note, planned.invoice
    assert note.applied_to_due == due
    assert note.refund_amount == note.amount - due == 50_000
    assert [(r.payment_id, r.amount) for r in after.refunds] == [("pay_new", 20_000), ("pay_old", 30_000)]
    assert all(
        r.reason is RefundReason.CREDIT_NOTE and r.status is RefundStatus.PENDING for r in after.refunds
    )
    assert [r.id for r in after.refunds] == ["rfd_A_1", "rfd_A_2"]
    assert note.refund_ids == ("rfd_A_1", "rfd_A_2")
    assert after.status is InvoiceStatus.PAID and after.amount_due == 0
    assert (
        after.amount_paid - after.amount_refunded + after.amount_credited + after.amount_due == after.amount
    )


def test_a_credit_on_a_paid_invoice_is_refunded_in_full():
    invoice = pay_all(two_lines())
    planned = credit(invoice, lines_request((0, 10_000)))
    assert planned.note.applied_to_due == 0
    assert planned.invoice.amount_refunded == planned.note.amount
    assert planned.invoice.status is InvoiceStatus.PAID


def test_a_credit_covering_an_overdue_balance_settles_it():
    invoice = two_lines().mark_overdue(TODAY + timedelta(days=20), NOW)
    planned = credit(invoice, full_request())
    assert planned.invoice.status is InvoiceStatus.PAID
    assert planned.invoice.next_sweep_on is None  # no reminders, no suspension


def test_an_expired_invoice_keeps_its_status_and_owes_less():
    invoice = two_lines().expire(NOW)
    planned = credit(invoice, lines_request((0, 10_000)))
    assert planned.invoice.status is InvoiceStatus.EXPIRED
    assert planned.invoice.amount_due == invoice.amount_due - planned.note.amount


def test_advance_settled_payments_are_never_refunded_through_the_provider():
    invoice = two_lines()
    invoice = invoice.apply_payment(
        payment(invoice.amount, "pay_adv", method="advance", receipts=("rv_1",)), NOW
    )
    with pytest.raises(DomainValidationError):
        credit(invoice, lines_request((0, 100)))


# ------------------------------------------------------------------------------- cancellation
def test_cancelling_issues_a_full_cancellation_note_and_leaves_nothing_payable():
    invoice = credit(two_lines(), lines_request((0, 10_000))).invoice
    planned = rules.plan_cancellation(
        invoice, note_id="cn_C", credit_note_number="CN/2627/000002", today=TODAY, now=NOW
    )
    assert planned.note.reason is CreditReason.CANCELLATION
    assert planned.invoice.status is InvoiceStatus.CANCELLED
    assert planned.invoice.amount_due == 0
    assert planned.invoice.amount_credited == planned.invoice.amount
    assert planned.note.applied_to_due == planned.note.amount


def test_a_paid_invoice_cannot_be_cancelled():
    paid = pay_all(two_lines())
    with pytest.raises(InvalidTransitionError):
        rules.plan_cancellation(
            paid, note_id="cn_C", credit_note_number="CN/2627/000001", today=TODAY, now=NOW
        )


# ----------------------------------------------------------------------------------- disputes
def test_resolving_the_last_open_dispute_resumes_the_sweep():
    invoice = two_lines().mark_overdue(TODAY + timedelta(days=20), NOW)
    disputed = invoice.open_dispute(dispute("dsp_1", invoice.id), NOW)
    assert disputed.disputed
    resolved = disputed.resolve_dispute(
        "dsp_1", outcome="rejected", note="Usage logs confirm the hours.", now=NOW
    )
    assert not resolved.disputed
    assert resolved.disputes[0].status == "resolved" and resolved.disputes[0].outcome == "rejected"
    assert resolved.next_sweep_on is not None
    assert resolved.next_sweep_on <= disputed.due_date + timedelta(days=3)


def test_resolving_twice_or_an_unknown_dispute_is_refused():
    disputed = two_lines().open_dispute(dispute("dsp_1", "x"), NOW)
    once = disputed.resolve_dispute("dsp_1", outcome="rejected", note="No error found.", now=NOW)
    with pytest.raises(InvalidTransitionError):
        once.resolve_dispute("dsp_1", outcome="rejected", note="Again.", now=NOW)
    with pytest.raises(NotFoundError):
        disputed.resolve_dispute("dsp_x", outcome="rejected", note="?", now=NOW)


def test_a_credited_resolution_rides_on_the_credit_s_version():
    disputed = two_lines().open_dispute(dispute("dsp_1", "x"), NOW)
    planned = rules.resolving(credit(disputed, full_request()), "dsp_1", "Credited in full.", NOW)
    assert planned.invoice.version == disputed.version + 1
    assert planned.invoice.disputes[0].credit_note_id == planned.note.id
    assert planned.invoice.disputes[0].outcome == "credited"
