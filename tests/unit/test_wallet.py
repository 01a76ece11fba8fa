"""Prepaid wallets' rules (domain/wallet.py): top-ups, receipt vouchers, and settling an invoice from
advances, exact to the paisa."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain import gst
from invoicing.domain.errors import DomainValidationError, DuplicateError, InvalidTransitionError
from invoicing.domain.invoice import InvoiceStatus
from invoicing.domain.ledger import EntryType, topup_entry
from invoicing.domain.wallet import (
    MAX_DRAWS,
    Advance,
    AmountMismatchError,
    Draw,
    DrawAdvances,
    TopUp,
    TopUpStatus,
    issue_receipt,
    keyed_id,
    number,
    plan_settlement,
    series,
    tax_on,
    taxable_covering,
)
from tests.unit.factories import NOW, customer, issued, line, payment, supplier

LATER = NOW + timedelta(hours=1)


def top_up(amount: int = 500_000, *, intra_state: bool = True, **kw) -> TopUp:
    return TopUp.create(
        top_up_id=kw.pop("top_up_id", "top_1"),
        account_id="acc_1",
        amount=amount,
        supplier=supplier(),
        customer=customer(intra_state=intra_state),
        now=NOW,
        **kw,
    )


def advance(
    receipt: int, remaining: int, *, day: date = date(2026, 9, 1), amount: int | None = None
) -> Advance:
    return Advance(
        account_id="acc_1",
        receipt_id=f"rcv_{receipt}",
        receipt_number=number(day, receipt),
        received_on=day,
        amount=amount or remaining,
        remaining=remaining,
    )


def invoice_of(taxable_rupees: str, *, intra_state: bool = True):
    """An issued invoice of one line worth ``taxable_rupees``."""
    return issued(line_items=[line(quantity="1", unit_rate=taxable_rupees)], customer=customer(intra_state))


# ------------------------------------------------------------------------------------ top-ups
def test_a_top_up_adds_gst_at_the_place_of_supply():
    intra, inter = top_up(500_000), top_up(500_000, intra_state=False)

    assert (intra.tax.cgst, intra.tax.sgst, intra.tax.igst, intra.total) == (45_000, 45_000, 0, 590_000)
    assert (inter.tax.cgst, inter.tax.sgst, inter.tax.igst, inter.total) == (0, 0, 90_000, 590_000)
    assert intra.expire_by == NOW + timedelta(days=7) and intra.status is TopUpStatus.CREATED


def test_each_tax_component_is_half_up_on_its_own():
    odd = top_up(10_005)  # 9 % of 100.05 = 9.0045 → 9.00 each; 18 % = 18.009 → 18.01
    assert (odd.tax.cgst, odd.tax.sgst, odd.total) == (900, 900, 11_805)
    assert top_up(10_005, intra_state=False).tax.igst == 1_801


@pytest.mark.parametrize("amount", [9_999, 100_000_001, 0])
def test_a_top_up_is_between_100_and_10_lakh_rupees(amount):
    with pytest.raises(DomainValidationError) as refused:
        top_up(amount)
    assert refused.value.details[0]["loc"] == ["body", "amount"]


@pytest.mark.parametrize("amount", [10_000, 100_000_000])
def test_the_bounds_themselves_are_allowed(amount):
    assert top_up(amount).amount == amount


def test_paying_a_top_up_exactly_makes_it_paid_once():
    created = top_up()
    paid_by = payment(created.total, "pay_1")
    receipt = issue_receipt(
        created, paid_by, receipt_id="rcv_1", receipt_number="RV/2627/000001", today=NOW.date(), now=LATER
    )

    paid = created.pay(paid_by, receipt.ref(), LATER)

    assert (paid.status, paid.version, paid.receipt, paid.paid_at) == ("paid", 2, receipt.ref(), NOW)
    assert paid.payment_url is None and paid.razorpay_payment_link_id == created.razorpay_payment_link_id
    with pytest.raises(DuplicateError):
        paid.pay(paid_by, receipt.ref(), LATER)
    with pytest.raises(InvalidTransitionError):  # a second payment is never credited
        paid.pay(payment(created.total, "pay_2"), receipt.ref(), LATER)


@pytest.mark.parametrize(
    "paid_by",
    [payment(589_999, "pay_1"), payment(590_001, "pay_1"), payment(590_000, "pay_1", currency="USD")],
)
def test_a_payment_that_does_not_match_the_link_is_refused(paid_by):
    created = top_up()
    with pytest.raises(AmountMismatchError):
        issue_receipt(
            created, paid_by, receipt_id="rcv_1", receipt_number="RV/2627/000001", today=NOW.date(), now=NOW
        )
    with pytest.raises(AmountMismatchError):
        created.pay(paid_by, _ref(), NOW)


def test_an_expired_top_up_whose_money_came_all_the_same_is_paid():
    expired = top_up().expire(LATER)
    assert (expired.status, expired.payment_url, expired.expired_at) == ("expired", None, LATER)
    with pytest.raises(DuplicateError):
        expired.expire(LATER)
    assert expired.pay(payment(expired.total), _ref(), LATER).status is TopUpStatus.PAID


def test_a_paid_top_up_never_expires():
    paid = top_up().pay(payment(590_000), _ref(), LATER)
    with pytest.raises(InvalidTransitionError):
        paid.expire(LATER)


def test_a_keyed_top_up_id_depends_on_the_account_and_the_key_only():
    assert (
        keyed_id("acc_1", "k") == keyed_id("acc_1", "k") != keyed_id("acc_2", "k") != keyed_id("acc_1", "j")
    )
    assert keyed_id("acc_1", "k").startswith("top_") and len(keyed_id("acc_1", "k")) == 18


def test_receipt_vouchers_have_their_own_financial_year_series():
    assert series(date(2026, 4, 1)) == "RV/2627" and series(date(2027, 3, 31)) == "RV/2627"
    assert number(date(2026, 10, 1), 1) == "RV/2627/000001"
    assert len(number(date(2026, 10, 1), 999_999)) <= 16


def test_a_receipt_voucher_copies_the_top_up():
    created = top_up(intra_state=False)
    receipt = issue_receipt(
        created,
        payment(created.total, "pay_9", method="card"),
        receipt_id="rcv_1",
        receipt_number="RV/2627/000007",
        today=date(2026, 10, 1),
        now=LATER,
    )
    assert (receipt.amount, receipt.tax, receipt.total, receipt.place_of_supply) == (
        created.amount,
        created.tax,
        created.total,
        "24",
    )
    assert (receipt.payment_id, receipt.method, receipt.top_up_id, receipt.intra_state) == (
        "pay_9",
        "card",
        "top_1",
        False,
    )


def test_a_paid_top_up_is_a_payment_of_its_total_in_the_ledger():
    entry = topup_entry(
        "acc_1", top_up_id="top_1", receipt_number="RV/2627/000001", paid_on=date(2026, 10, 1), total=590_000,
        method="upi",
    )  # fmt: skip
    assert (entry.type, entry.credit, entry.debit, entry.reference, entry.source) == (
        EntryType.PAYMENT,
        590_000,
        0,
        "RV/2627/000001",
        "top_1",
    )


# ---------------------------------------------------------------------------------- settlement
def test_a_balance_covering_the_taxable_value_pays_the_invoice_in_full():
    invoice = invoice_of("1000")  # ₹1,000 + ₹90 + ₹90 = ₹1,180.00
    advances = [advance(1, 60_000), advance(2, 50_000, day=date(2026, 9, 2))]

    plan = plan_settlement(invoice, advances, LATER)

    assert plan is not None and plan.paid_in_full
    assert (plan.payment.amount, plan.payment.method, plan.payment.receipts) == (
        118_000,
        "advance",
        ("RV/2627/000001", "RV/2627/000002"),
    )
    assert [(d.advance.receipt_id, d.taken, d.after) for d in plan.draws] == [
        ("rcv_1", 60_000, 0),
        ("rcv_2", 40_000, 10_000),
    ]
    assert (plan.after.status, plan.after.amount_due, plan.after.payment_url) == (InvoiceStatus.PAID, 0, None)
    assert plan.payment.id == f"adv_{invoice.id}"


def test_a_short_balance_is_drawn_to_zero_and_pays_its_value_plus_its_tax():
    invoice = invoice_of("1000")
    plan = plan_settlement(invoice, [advance(1, 33_333)], LATER)

    # 33,333 + CGST 3,000 (2,999.97 half-up) + SGST 3,000 = 39,333; 78,667 stays due
    assert plan is not None and not plan.paid_in_full
    assert (plan.drawn, plan.payment.amount, plan.after.amount_due) == (33_333, 39_333, 78_667)
    assert plan.after.status is InvoiceStatus.PARTIALLY_PAID
    inter = plan_settlement(invoice_of("1000", intra_state=False), [advance(1, 33_333)], LATER)
    assert inter is not None and inter.payment.amount == 33_333 + 6_000  # IGST 5,999.94 → 6,000


def test_oldest_receipts_are_drawn_first_whatever_order_they_are_read_in():
    invoice = invoice_of("500")
    newer, older = advance(2, 40_000, day=date(2026, 9, 5)), advance(9, 40_000, day=date(2026, 8, 30))
    plan = plan_settlement(invoice, [newer, older], LATER)
    assert plan is not None
    assert [(d.advance.receipt_id, d.taken) for d in plan.draws] == [("rcv_9", 40_000), ("rcv_2", 10_000)]


@pytest.mark.parametrize(
    "case",
    ["settled before", "nothing left", "no advance", "paid"],
)
def test_nothing_is_settled_twice_or_from_nothing(case):
    invoice = invoice_of("1000")
    advances = [advance(1, 50_000)]
    if case == "settled before":
        invoice = plan_settlement(invoice, [advance(1, 1_000)], NOW).after  # type: ignore[union-attr]
    elif case == "nothing left":
        advances = [advance(1, 0, amount=50_000)]
    elif case == "no advance":
        advances = []
    else:
        invoice = invoice.apply_payment(payment(invoice.amount), NOW)
    assert plan_settlement(invoice, advances, LATER) is None


def test_a_partly_paid_invoice_is_settled_for_what_it_still_owes():
    invoice = invoice_of("1000").apply_payment(payment(18_000), NOW)  # 100,000 due
    plan = plan_settlement(invoice, [advance(1, 500_000)], LATER)
    assert plan is not None
    # the least taxable value t whose t + 18 % pays 100,000: 84,746 (84,746 + 2 × 7,627 = 100,000)
    assert (plan.drawn, plan.payment.amount, plan.after.amount_due) == (84_746, 100_000, 0)


def test_a_settlement_draws_on_at_most_90_receipts():
    invoice = invoice_of("100000")
    many = [advance(n, 10_000) for n in range(1, MAX_DRAWS + 11)]
    plan = plan_settlement(invoice, many, LATER)
    assert plan is not None and len(plan.draws) == MAX_DRAWS and plan.drawn == MAX_DRAWS * 10_000


def test_a_draw_never_takes_more_than_remains_and_a_change_draws_each_advance_once():
    with pytest.raises(ValueError):
        Draw(advance(1, 100), 101)
    with pytest.raises(ValueError):
        DrawAdvances("acc_1", (Draw(advance(1, 100), 50), Draw(advance(1, 100), 50)))
    with pytest.raises(ValueError):
        DrawAdvances("acc_2", (Draw(advance(1, 100), 50),))


# ---------------------------------------------------------------------------------- properties
@settings(max_examples=300, deadline=None)
@given(taxable=st.integers(min_value=1, max_value=10**12), intra=st.booleans())
def test_the_taxable_value_covering_a_whole_invoice_is_its_taxable_amount(taxable, intra):
    place = "27" if intra else "24"
    total = taxable + gst.compute_tax(taxable, "27", place).total
    invoice = invoice_of(f"{taxable // 100}.{taxable % 100:02d}", intra_state=intra)
    assert invoice.amount == total
    assert taxable_covering(invoice, total) == taxable


@settings(max_examples=300, deadline=None)
@given(
    taxable=st.integers(min_value=100, max_value=10**10),
    balances=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=6),
    intra=st.booleans(),
    paid_first=st.integers(min_value=0, max_value=99),
)
def test_a_settlement_is_exact_to_the_paisa(taxable, balances, intra, paid_first):
    invoice = invoice_of(f"{taxable // 100}.{taxable % 100:02d}", intra_state=intra)
    if paid_first:
        invoice = invoice.apply_payment(payment(max(1, invoice.amount * paid_first // 100)), NOW)
    advances = [advance(n, b, day=date(2026, 9, 1) + timedelta(days=n)) for n, b in enumerate(balances, 1)]
    plan = plan_settlement(invoice, advances, LATER)
    assert plan is not None
    after, due = plan.after, invoice.amount_due
    # the invoice's invariant, and never a refund: an advance pays at most what is due
    assert (
        after.amount_paid - after.amount_refunded + after.amount_credited + after.amount_due == after.amount
    )
    assert after.amount_refunded == 0 and 0 < plan.payment.amount <= due
    # drawn oldest first, never beyond what remains
    assert plan.drawn <= sum(balances)
    assert all(d.taken <= d.advance.remaining for d in plan.draws)
    taken = [d.advance.receipt_id for d in plan.draws]
    assert taken == [f"rcv_{n}" for n in range(1, len(taken) + 1)]
    assert all(d.after == 0 for d in plan.draws[:-1])
    needed = taxable_covering(invoice, due)
    if plan.paid_in_full:
        assert (plan.drawn, plan.payment.amount, after.status) == (needed, due, InvoiceStatus.PAID)
    else:
        assert plan.drawn == sum(balances) < needed
        assert plan.payment.amount == plan.drawn + tax_on(invoice, plan.drawn)


def _ref():
    from invoicing.domain.wallet import ReceiptRef

    return ReceiptRef(
        id="rcv_1", receipt_number="RV/2627/000001", date=NOW.date(), payment_id="pay_1", method="upi"
    )
