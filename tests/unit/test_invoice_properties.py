"""Properties of the invoice entity over arbitrary lines, states and sequences of actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain import summary
from invoicing.domain.errors import DuplicateError, InvoicingError
from invoicing.domain.gst import STATE_CODES, gstin_check_character
from invoicing.domain.invoice import FINAL_STATUSES, CreditNoteRef, Invoice, InvoiceStatus, RefundStatus
from invoicing.domain.limits import MAX_AMOUNT_PAISE, MAX_QUANTITY, MAX_UNIT_RATE
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
def decimal_strings(draw: st.DrawFn, *, minimum: int, maximum: int = 10**12) -> tuple[str, int, int]:
    """A plain decimal string with up to 6 places, at most ``maximum`` (its value as
    ``units / 10**places``); ``maximum`` is a whole number of units, so 10**12 is MAX_QUANTITY."""
    places = draw(st.integers(0, 6))
    units = draw(st.integers(minimum, maximum * 10**places))
    if places == 0:
        return str(units), units, 0
    whole, frac = divmod(units, 10**places)
    return f"{whole}.{frac:0{places}d}", units, places


@st.composite
def line_specs(draw: st.DrawFn, *, lines: int = 1) -> tuple[str, str, int]:
    """(quantity, unit_rate, expected paise) within the bounds (limits.py) with room for ``lines``
    such lines and their 18 % tax under MAX_AMOUNT_PAISE; the expected amount worked out in integers."""
    cap = MAX_AMOUNT_PAISE * 100 // 118 // lines  # paise one line may reach
    quantity, q_units, q_places = draw(decimal_strings(minimum=1, maximum=int(MAX_QUANTITY)))
    places = draw(st.integers(0, 6))
    # rate ≤ cap / (quantity × 100) rupees, and ≤ MAX_UNIT_RATE
    most = min(cap * 10 ** (q_places + places) // (q_units * 100), int(MAX_UNIT_RATE) * 10**places)
    r_units = draw(st.integers(0, most))
    whole, frac = divmod(r_units, 10**places)
    rate = str(r_units) if places == 0 else f"{whole}.{frac:0{places}d}"
    paise = half_up(q_units * r_units * 100, 10 ** (q_places + places))
    return quantity, rate, paise


def build_lines(specs: list[tuple[str, str, int]]) -> list[Any]:
    return [line(quantity=q, unit_rate=r) for q, r, _ in specs]


# ------------------------------------------------------------------------------------ totals


@settings(max_examples=200, deadline=None)
@given(
    specs=st.lists(line_specs(lines=20), min_size=1, max_size=20),
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

# A draft (with a payment link) mostly holds payments and gets issued; once issued, moves that end
# the invoice (a full payment, cancel, expire) are drawn less often than the others, so that most
# sequences spend several steps in issued, partially_paid and overdue, and then a few after the end
# (payments after final, refunds settled).
DRAFT_ACTIONS = (*["hold"] * 3, *["issue"] * 3, "pay_any", "pay_duplicate", "revise", "cancel")
ACTIONS = (
    "hold",
    "issue",
    *["pay_part"] * 3,
    *["pay_any"] * 2,
    *["pay_duplicate"] * 2,
    *["mark_overdue"] * 3,
    *["reminder"] * 2,
    *["suspend"] * 2,
    *["revise"] * 2,
    *["settle"] * 3,
    "dispute",
    "pay_over",
    "pay_foreign",
    "pay_full",
    "cancel",
    "expire",
)
PAYMENTS = ("hold", "pay_part", "pay_any", "pay_over", "pay_full")


def act(kind: str, invoice: Invoice, data: st.DataObject, step: int) -> Invoice:
    """Apply one action at ``step`` hours after creation; refused moves raise an ``InvoicingError``."""
    now = NOW + timedelta(hours=step)
    new_id = f"pay_{step}"
    due = invoice.amount_due

    def money(amount: int, payment_id: str = new_id, **extra: Any) -> Any:
        return payment(min(max(amount, 1), MAX_AMOUNT_PAISE), payment_id, paid_at=now, **extra)

    match kind:
        case "hold":
            return invoice.hold_payment(money(data.draw(st.integers(1, invoice.amount), label="held")), now)
        case "issue":
            return issued(invoice, now=now, invoice_number=f"INV/2627/{step:06d}")
        case "pay_full":
            return invoice.apply_payment(money(due), now)
        case "pay_part":
            return invoice.apply_payment(money(data.draw(st.integers(1, max(due - 1, 1)), label="part")), now)
        case "pay_any":
            return invoice.apply_payment(
                money(data.draw(st.integers(1, invoice.amount + 10), label="any")), now
            )
        case "pay_over":
            return invoice.apply_payment(money(due + data.draw(st.integers(1, 10**6), label="over")), now)
        case "pay_duplicate":
            recorded = [p.id for p in (*invoice.payments, *invoice.held_payments)]
            if not recorded:
                return invoice.apply_payment(money(due), now)
            again = data.draw(st.sampled_from(recorded), label="again")
            return invoice.apply_payment(money(data.draw(st.integers(1, invoice.amount + 10)), again), now)
        case "pay_foreign":
            return invoice.apply_payment(money(due, currency="USD"), now)
        case "mark_overdue":
            today = (invoice.date or NOW.date()) + timedelta(days=data.draw(st.integers(-5, 60), label="day"))
            return invoice.mark_overdue(today, now)
        case "cancel":
            credit = None
            if data.draw(st.booleans(), label="credit") and invoice.amount > invoice.amount_credited:
                credit = CreditNoteRef(
                    id=f"cn_{step}",
                    credit_note_number=f"CN/2627/{step:06d}",
                    date=now.date(),
                    amount=invoice.amount - invoice.amount_credited,
                    taxable_amount=invoice.taxable_amount,
                    cgst=invoice.tax.cgst,
                    sgst=invoice.tax.sgst,
                    igst=invoice.tax.igst,
                )
            return invoice.cancel(now, credit=credit)
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
        case "settle":
            refund_id = data.draw(
                st.sampled_from([r.id for r in invoice.refunds] or ["rfd_none"]), label="rfd"
            )
            status = data.draw(
                st.sampled_from([RefundStatus.PROCESSED, RefundStatus.FAILED]), label="outcome"
            )
            return invoice.settle_refund(refund_id, status, now, razorpay_refund_id=f"rfnd_{step}")
    raise AssertionError(kind)


def check_invariants(invoice: Invoice, totals: dict[str, int]) -> None:
    net_paid = invoice.amount_paid - invoice.amount_refunded
    assert net_paid + invoice.amount_credited + invoice.amount_due == invoice.amount
    assert invoice.amount_due >= 0
    assert invoice.amount_paid == sum(p.amount for p in invoice.payments)
    assert invoice.amount_refunded == sum(r.amount for r in invoice.refunds)
    ids = [p.id for p in (*invoice.payments, *invoice.held_payments)]
    assert len(set(ids)) == len(ids)
    for recorded in invoice.payments:  # a refund never exceeds the payment it returns
        assert invoice.refundable(recorded.id) >= 0
    assert {r.payment_id for r in invoice.refunds} <= {p.id for p in invoice.payments}
    if invoice.status is InvoiceStatus.DRAFT:
        assert (invoice.payments, invoice.refunds, invoice.credit_notes) == ((), (), ())
    else:
        assert invoice.held_payments == ()
    if invoice.status is InvoiceStatus.PAID:
        assert invoice.amount_due == 0
    if invoice.status is InvoiceStatus.PARTIALLY_PAID:
        assert net_paid > 0 and invoice.amount_due > 0
    if invoice.status is InvoiceStatus.CANCELLED:
        assert net_paid == 0  # nothing paid when cancelled; whatever came later went back
    assert totals == summary.contribution(invoice)
    assert totals["total_paid"] == (0 if invoice.status is InvoiceStatus.DRAFT else net_paid)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    # Only invoices with something to collect can be issued.
    specs=st.lists(line_specs(lines=5), min_size=1, max_size=5).filter(lambda s: sum(p for *_, p in s) > 0),
    intra_state=st.booleans(),
    partial_payment=st.booleans(),
    steps=st.integers(3, 30),
)
def test_invariants_hold_after_every_action_from_draft_to_final(
    data, specs, intra_state, partial_payment, steps
):
    # Given a draft with a payment link, its summary built from deltas since creation
    invoice = draft(
        customer=customer(intra_state=intra_state),
        line_items=build_lines(specs),
        partial_payment=partial_payment,
    ).attach_payment_link("inv_RzpExample0001", NOW)
    totals = dict.fromkeys(summary.SUMMARY_FIELDS, 0)

    def add(before: Invoice | None, after: Invoice) -> None:
        for name, value in summary.delta(before, after).items():
            assert value != 0
            totals[name] += value

    add(None, invoice)
    check_invariants(invoice, totals)
    final_status = None

    # When any sequence of actions is applied, refused ones raising an InvoicingError
    for step in range(1, steps + 1):
        pool = DRAFT_ACTIONS if invoice.status is InvoiceStatus.DRAFT else ACTIONS
        kind = data.draw(st.sampled_from(pool), label="action")
        refused: InvoicingError | None = None
        try:
            after = act(kind, invoice, data, step)
        except InvoicingError as exc:
            after, refused = None, exc

        # Then money it can account for is never refused: held on the draft, recorded after it
        if kind in PAYMENTS and (kind == "hold") == (invoice.status is InvoiceStatus.DRAFT):
            assert refused is None, f"{kind} on {invoice.status} was refused: {refused}"
        if kind in PAYMENTS and after is not None and invoice.status is not InvoiceStatus.DRAFT:
            new = after.refunds[len(invoice.refunds) :]
            assert after.amount_due == max(
                0, invoice.amount_due - (after.amount_paid - invoice.amount_paid)
            ) or (invoice.status is InvoiceStatus.CANCELLED and after.amount_due == invoice.amount_due)
            assert all(r.status is RefundStatus.PENDING for r in new)
        if kind == "pay_foreign":
            assert refused is not None, "a payment in another currency was accepted"
        if kind == "pay_duplicate" and (invoice.payments or invoice.held_payments):
            assert isinstance(refused, DuplicateError), "a recorded payment was not seen as a duplicate"
        if kind == "settle" and invoice.refunds and refused is None:
            assert after is not None and after.amount_refunded == invoice.amount_refunded
        if after is not None:
            assert after.version == invoice.version + 1
            add(invoice, after)
            invoice = after

        # And the invariants hold after every step, and a final status never changes
        check_invariants(invoice, totals)
        if final_status is not None:
            assert invoice.status is final_status
        elif invoice.status in FINAL_STATUSES:
            final_status = invoice.status

    assert totals == summary.contribution(invoice)
