"""Per-account summary: what each invoice contributes, and the delta one change applies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invoicing.domain import summary
from invoicing.domain.invoice import Invoice, InvoiceStatus, RefundStatus
from invoicing.domain.summary import SUMMARY_FIELDS, AccountSummary, contribution, delta, summarize
from tests.unit.factories import NOW, draft, issued, payment

LATER = NOW + timedelta(hours=1)
AMOUNT = 106200  # the factories' default invoice: 90000 taxable + 16200 GST


def zeros(**nonzero: int) -> dict[str, int]:
    return dict.fromkeys(SUMMARY_FIELDS, 0) | nonzero


def _overdue(invoice: Invoice) -> Invoice:
    return invoice.mark_overdue(invoice.due_date + timedelta(days=1), LATER)


# ------------------------------------------------------------------------------ contribution


def test_an_absent_invoice_contributes_nothing():
    assert contribution(None) == zeros()


def test_a_draft_contributes_nothing():
    assert contribution(draft()) == zeros()


def test_an_issued_invoice_is_pending_for_its_whole_amount():
    assert contribution(issued()) == zeros(total_pending=AMOUNT, count_pending=1)


def test_a_partially_paid_invoice_counts_its_payments_as_paid_and_its_balance_as_pending():
    invoice = issued(partial_payment=True).apply_payment(payment(6200), LATER)

    assert invoice.status is InvoiceStatus.PARTIALLY_PAID
    assert contribution(invoice) == zeros(total_paid=6200, total_pending=100000, count_pending=1)


def test_an_overdue_invoice_is_overdue_for_its_whole_amount():
    assert contribution(_overdue(issued())) == zeros(total_overdue=AMOUNT, count_overdue=1)


def test_an_overdue_invoice_with_a_part_payment_stays_overdue_for_its_balance():
    invoice = _overdue(issued(partial_payment=True)).apply_payment(payment(6200), LATER)

    assert contribution(invoice) == zeros(total_paid=6200, total_overdue=100000, count_overdue=1)


def test_a_paid_invoice_counts_as_paid():
    invoice = issued().apply_payment(payment(AMOUNT), LATER)
    assert contribution(invoice) == zeros(total_paid=AMOUNT, count_paid=1)


def test_a_cancelled_invoice_contributes_nothing():
    assert contribution(issued().cancel(LATER)) == zeros()


def test_an_expired_invoice_keeps_what_was_paid_and_counts_nothing():
    unpaid = issued().expire(LATER)
    part_paid = issued(partial_payment=True).apply_payment(payment(6200), LATER).expire(LATER)

    assert contribution(unpaid) == zeros()
    assert contribution(part_paid) == zeros(total_paid=6200)


# ------------------------------------------------------------------------------------- delta


def test_creating_a_draft_changes_nothing():
    assert delta(None, draft()) == {}


def test_an_unchanged_status_and_balance_changes_nothing():
    invoice = issued()
    assert delta(invoice, invoice.revise({"notes": "hello"}, LATER)) == {}


def test_issuing_adds_one_pending_invoice():
    before = draft()
    assert delta(before, issued(before)) == {"total_pending": AMOUNT, "count_pending": 1}


def test_a_part_payment_moves_money_from_pending_to_paid():
    before = issued(partial_payment=True)
    after = before.apply_payment(payment(6200), LATER)

    assert delta(before, after) == {"total_paid": 6200, "total_pending": -6200}


def test_a_full_payment_moves_the_invoice_from_pending_to_paid():
    before = issued()
    after = before.apply_payment(payment(AMOUNT), LATER)

    assert delta(before, after) == {
        "total_paid": AMOUNT,
        "total_pending": -AMOUNT,
        "count_paid": 1,
        "count_pending": -1,
    }


def test_going_overdue_moves_the_balance_from_pending_to_overdue():
    before = issued(partial_payment=True).apply_payment(payment(6200), LATER)

    assert delta(before, _overdue(before)) == {
        "total_pending": -100000,
        "total_overdue": 100000,
        "count_pending": -1,
        "count_overdue": 1,
    }


def test_cancelling_an_overdue_invoice_removes_it_from_overdue():
    before = _overdue(issued())
    assert delta(before, before.cancel(LATER)) == {"total_overdue": -AMOUNT, "count_overdue": -1}


def test_deleting_a_draft_changes_nothing():
    assert delta(draft(), None) == {}


def test_removing_an_invoice_subtracts_its_whole_contribution():
    before = issued(partial_payment=True).apply_payment(payment(6200), LATER)
    assert delta(before, None) == {"total_paid": -6200, "total_pending": -100000, "count_pending": -1}


@pytest.mark.parametrize(
    "step",
    [
        lambda inv: inv.apply_payment(payment(1), LATER),
        lambda inv: inv.apply_payment(payment(inv.amount_due), LATER),
        lambda inv: inv.expire(LATER),
        lambda inv: inv.cancel(LATER),
        _overdue,
    ],
    ids=["part-payment", "full-payment", "expire", "cancel", "overdue"],
)
def test_a_delta_holds_only_non_zero_entries_and_adds_up_to_the_new_contribution(step):
    before = issued(partial_payment=True)
    after = step(before)

    change = delta(before, after)

    assert change and all(change.values())
    old = contribution(before)
    assert {name: old[name] + change.get(name, 0) for name in SUMMARY_FIELDS} == contribution(after)


# --------------------------------------------------------------------------------- summarize


def test_summarize_of_no_invoices_is_all_zero_in_inr():
    assert summarize([]) == AccountSummary() == AccountSummary(currency="INR", **zeros())


def test_summarize_adds_up_every_invoice():
    pending = issued(partial_payment=True).apply_payment(payment(6200, "pay_a"), LATER)
    paid = issued().apply_payment(payment(AMOUNT, "pay_b"), LATER)
    overdue = _overdue(issued())
    cancelled = issued().cancel(LATER)
    expired = issued(partial_payment=True).apply_payment(payment(200, "pay_c"), LATER).expire(LATER)

    got = summarize([pending, paid, overdue, cancelled, expired, draft(), issued()])

    assert got == AccountSummary(
        total_paid=6200 + AMOUNT + 200,
        total_pending=100000 + AMOUNT,
        total_overdue=AMOUNT,
        count_paid=1,
        count_pending=2,
        count_overdue=1,
    )


def test_summing_the_deltas_of_a_history_gives_the_summary_of_where_it_ended():
    # Given two invoices' histories, each step recorded as a delta
    a0 = draft(partial_payment=True)
    a1 = issued(a0)
    a2 = a1.apply_payment(payment(6200, "pay_a1"), LATER)
    a3 = _overdue(a2)
    b0 = draft()
    b1 = issued(b0)
    b2 = b1.apply_payment(payment(AMOUNT, "pay_b1"), LATER)
    steps = [(None, a0), (a0, a1), (a1, a2), (a2, a3), (None, b0), (b0, b1), (b1, b2)]

    # When the deltas are summed
    totals = zeros()
    for before, after in steps:
        for name, value in delta(before, after).items():
            totals[name] += value

    # Then they equal the summary recomputed from the final invoices
    assert AccountSummary(**totals) == summarize([a3, b2])
    assert tuple(AccountSummary.model_fields)[1:] == summary.SUMMARY_FIELDS


# ---------------------------------------------------------------------- refunds and late money


def test_total_paid_is_net_of_refunds():
    invoice = issued().apply_payment(payment(AMOUNT + 500, "pay_over"), LATER)

    assert (invoice.amount_paid, invoice.amount_refunded) == (AMOUNT + 500, 500)
    assert contribution(invoice) == zeros(total_paid=AMOUNT, count_paid=1)


def test_an_overpayment_moves_only_what_was_due_into_paid():
    before = issued()
    after = before.apply_payment(payment(AMOUNT + 500, "pay_over"), LATER)

    assert delta(before, after) == {
        "total_paid": AMOUNT,
        "total_pending": -AMOUNT,
        "count_paid": 1,
        "count_pending": -1,
    }


def test_money_for_a_cancelled_invoice_is_refunded_and_changes_no_total():
    before = issued().cancel(LATER)
    after = before.apply_payment(payment(700, "pay_late"), LATER)

    assert after.amount_refunded == 700
    assert delta(before, after) == {}


def test_money_for_a_paid_invoice_is_refunded_and_changes_no_total():
    before = issued().apply_payment(payment(AMOUNT, "pay_1"), LATER)
    after = before.apply_payment(payment(AMOUNT, "pay_2"), LATER)

    assert delta(before, after) == {}


def test_a_part_payment_on_an_expired_invoice_counts_as_paid():
    before = issued().expire(LATER)
    after = before.apply_payment(payment(700, "pay_late"), LATER)

    assert delta(before, after) == {"total_paid": 700}


def test_settling_a_refund_changes_no_total_whatever_the_provider_said():
    before = issued().apply_payment(payment(AMOUNT + 500, "pay_over"), LATER)
    (refund,) = before.refunds

    for status in (RefundStatus.PROCESSED, RefundStatus.FAILED):
        assert delta(before, before.settle_refund(refund.id, status, LATER)) == {}


def test_held_payments_count_once_the_issue_applies_them():
    linked = draft().attach_payment_link("inv_Rzp1", LATER)
    held = linked.hold_payment(payment(6200, "pay_early"), LATER)

    assert contribution(held) == zeros()
    assert delta(held, issued(held)) == {"total_paid": 6200, "total_pending": 100000, "count_pending": 1}
