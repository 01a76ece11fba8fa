"""Properties of the invoice entity over arbitrary lines, states and sequences of actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain import summary
from invoicing.domain.errors import DuplicateError, InvoicingError
from invoicing.domain.gst import STATE_CODES, gstin_check_character
from invoicing.domain.invoice import FINAL_STATUSES, MAX_LINES, Invoice, InvoiceStatus
from tests.unit.factories import NOW, address, customer, dispute, draft, issued, line, payment, supplier

STATES = sorted(STATE_CODES)


def gstin_in(state: str) -> str:
    """A valid GSTIN registered in ``state`` (same PAN, check character computed)."""
    first14 = f"{state}AAPFU0939F1Z"
    return first14 + gstin_check_character(first14)


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


@st.composite
def decimal_strings(draw: st.DrawFn, *, minimum: int) -> tuple[str, int, int]:
    """A plain decimal string with up to 6 places, and its value as ``units / 10**places``."""
    places = draw(st.integers(0, 6))
    units = draw(st.integers(minimum, 10**12))
    if places == 0:
        return str(units), units, 0
    whole, frac = divmod(units, 10**places)
    return f"{whole}.{frac:0{places}d}", units, places


@st.composite
def line_specs(draw: st.DrawFn) -> tuple[str, str, int]:
    """(quantity, unit_rate, expected paise) with the expected amount worked out in integers."""
    quantity, q_units, q_places = draw(decimal_strings(minimum=1))
    rate, r_units, r_places = draw(decimal_strings(minimum=0))
    paise = half_up(q_units * r_units * 100, 10 ** (q_places + r_places))
    return quantity, rate, paise


def build_lines(specs: list[tuple[str, str, int]]) -> list[Any]:
    return [line(quantity=q, unit_rate=r) for q, r, _ in specs]


# ------------------------------------------------------------------------------------ totals


@settings(max_examples=200, deadline=None)
@given(
    specs=st.lists(line_specs(), min_size=1, max_size=MAX_LINES),
    supplier_state=st.sampled_from(STATES),
    customer_state=st.sampled_from(STATES),
    customer_has_gstin=st.booleans(),
)
def test_totals_follow_the_lines_and_the_supply_for_any_lines_and_states(
    specs, supplier_state, customer_state, customer_has_gstin
):
    # Given any lines, a supplier in any state and a customer in any state, with or without GSTIN
    seller = supplier(gstin=gstin_in(supplier_state), state_code=supplier_state, address=address())
    buyer = customer(
        gstin=gstin_in(customer_state) if customer_has_gstin else None, state_code=customer_state
    )

    # When the draft is priced
    invoice = draft(supplier=seller, customer=buyer, line_items=build_lines(specs))

    # Then every line is quantity × rate in paise, half-up, and the totals add up
    assert [item.amount for item in invoice.line_items] == [paise for _, _, paise in specs]
    taxable = sum(paise for _, _, paise in specs)
    assert invoice.taxable_amount == sum(item.amount for item in invoice.line_items) == taxable
    assert invoice.amount == invoice.taxable_amount + invoice.tax_amount
    assert invoice.tax_amount == invoice.tax.cgst + invoice.tax.sgst + invoice.tax.igst
    assert invoice.place_of_supply == customer_state
    if supplier_state == customer_state:
        nine_percent = half_up(taxable * 9, 100)
        assert (invoice.tax.cgst, invoice.tax.sgst, invoice.tax.igst) == (nine_percent, nine_percent, 0)
    else:
        assert (invoice.tax.cgst, invoice.tax.sgst, invoice.tax.igst) == (0, 0, half_up(taxable * 18, 100))
    assert invoice.tax.rate == "18"
    assert invoice.amount_due == invoice.amount


# ------------------------------------------------------------------------- action sequences

# Moves that end the invoice (a full payment, cancel, expire) are drawn less often than the
# others, so that most sequences spend several steps in issued, partially_paid and overdue.
ACTIONS = (
    *["pay_part"] * 3,
    *["pay_any"] * 2,
    *["pay_duplicate"] * 2,
    *["mark_overdue"] * 3,
    *["reminder"] * 2,
    *["suspend"] * 2,
    *["revise"] * 2,
    "dispute",
    "pay_over",
    "pay_foreign",
    "pay_full",
    "cancel",
    "expire",
)


def act(kind: str, invoice: Invoice, data: st.DataObject, step: int) -> Invoice:
    """Apply one action at ``step`` hours after issue; refused moves raise an ``InvoicingError``."""
    now = NOW + timedelta(hours=step)
    new_id = f"pay_{step}"
    due = invoice.amount_due
    match kind:
        case "pay_full":
            return invoice.apply_payment(payment(max(due, 1), new_id, paid_at=now), now)
        case "pay_part":
            amount = data.draw(st.integers(1, max(due - 1, 1)), label="part")
            return invoice.apply_payment(payment(amount, new_id, paid_at=now), now)
        case "pay_any":
            amount = data.draw(st.integers(1, invoice.amount + 10), label="amount")
            return invoice.apply_payment(payment(amount, new_id, paid_at=now), now)
        case "pay_over":
            return invoice.apply_payment(payment(due + data.draw(st.integers(1, 10**6)), new_id), now)
        case "pay_duplicate":
            recorded = [p.id for p in invoice.payments]
            if not recorded:
                return invoice.apply_payment(payment(max(due, 1), new_id), now)
            again = data.draw(st.sampled_from(recorded), label="again")
            amount = data.draw(st.integers(1, invoice.amount + 10), label="amount")
            return invoice.apply_payment(payment(amount, again), now)
        case "pay_foreign":
            return invoice.apply_payment(payment(max(due, 1), new_id, currency="USD"), now)
        case "mark_overdue":
            assert invoice.date is not None
            today = invoice.date + timedelta(days=data.draw(st.integers(-5, 60), label="day"))
            return invoice.mark_overdue(today, now)
        case "cancel":
            return invoice.cancel(now)
        case "expire":
            return invoice.expire(now)
        case "dispute":
            return invoice.open_dispute(dispute(f"dsp_{step}", invoice.id, created_at=now), now)
        case "reminder":
            return invoice.record_reminder(data.draw(st.sampled_from([3, 7, 1, 10]), label="reminder"), now)
        case "suspend":
            return invoice.request_suspension(now)
        case "revise":
            return invoice.revise({"partial_payment": data.draw(st.booleans(), label="partial")}, now)
    raise AssertionError(kind)


def check_invariants(invoice: Invoice, totals: dict[str, int]) -> None:
    assert invoice.amount_paid + invoice.amount_due == invoice.amount
    assert invoice.amount_paid == sum(p.amount for p in invoice.payments)
    assert invoice.amount_due >= 0
    assert len({p.id for p in invoice.payments}) == len(invoice.payments)
    if invoice.status is InvoiceStatus.PAID:
        assert invoice.amount_due == 0
    if invoice.status is InvoiceStatus.PARTIALLY_PAID:
        assert 0 < invoice.amount_paid < invoice.amount
    if invoice.status is InvoiceStatus.CANCELLED:
        assert invoice.amount_paid == 0
    assert totals == summary.contribution(invoice)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    # Only invoices with something to collect can be issued.
    specs=st.lists(line_specs(), min_size=1, max_size=5).filter(lambda s: sum(p for *_, p in s) > 0),
    intra_state=st.booleans(),
    partial_payment=st.booleans(),
    kinds=st.lists(st.sampled_from(ACTIONS), min_size=3, max_size=30),
)
def test_invariants_hold_after_every_action_on_an_issued_invoice(
    data, specs, intra_state, partial_payment, kinds
):
    # Given an issued invoice, its summary built from deltas since creation
    created = draft(
        customer=customer(intra_state=intra_state),
        line_items=build_lines(specs),
        partial_payment=partial_payment,
    )
    invoice = issued(created)
    totals = dict.fromkeys(summary.SUMMARY_FIELDS, 0)

    def add(before: Invoice | None, after: Invoice) -> None:
        for name, value in summary.delta(before, after).items():
            assert value != 0
            totals[name] += value

    add(None, created)
    add(created, invoice)
    check_invariants(invoice, totals)
    final_status = None

    # When any sequence of actions is applied, refused ones raising an InvoicingError
    for step, kind in enumerate(kinds, start=1):
        refused: InvoicingError | None = None
        try:
            after = act(kind, invoice, data, step)
        except InvoicingError as exc:
            after, refused = None, exc
        if kind in ("pay_over", "pay_foreign"):
            assert refused is not None, f"{kind} was accepted"
        if kind == "pay_duplicate" and invoice.payments:
            assert isinstance(refused, DuplicateError), "a recorded payment was not seen as a duplicate"
        if after is not None:
            assert after.version == invoice.version + 1
            add(invoice, after)
            invoice = after

        # Then the invariants hold after every step, and a final status never changes
        check_invariants(invoice, totals)
        if final_status is not None:
            assert invoice.status is final_status
        elif invoice.status in FINAL_STATUSES:
            final_status = invoice.status

    assert totals == summary.contribution(invoice)
