"""The money invariant under credit notes, refunds and cancellation, for any sequence of actions.

``amount_paid − amount_refunded + amount_credited + amount_due == amount`` holds for every invoice at
every step; no line is ever credited beyond itself, no tax component beyond the invoice's; a credit
that takes the rest of every line nets the invoice to zero; refunds never exceed their payment; and
the account summary kept from deltas equals the summary recomputed from the invoice.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from invoicing.domain import credit_notes as rules
from invoicing.domain import summary
from invoicing.domain.credit_notes import CreditReason, CreditRequest
from invoicing.domain.errors import DomainValidationError, InvalidTransitionError, InvoicingError
from invoicing.domain.invoice import Invoice, InvoiceStatus, RefundStatus
from invoicing.domain.numbering import ist_date
from tests.unit.factories import NOW, customer, dispute, issued, line, payment

LINE_SPECS = st.lists(
    st.tuples(
        st.integers(1, 2_000).map(str),  # quantity
        st.sampled_from(["0.01", "0.5", "1.25", "3.333333", "245.50", "4999"]),  # unit rate
    ),
    min_size=1,
    max_size=4,
)


class CreditMachine(RuleBasedStateMachine):
    """One issued invoice, acted on by payments, credit notes, refund settlements, cancellation,
    expiry, the sweep and disputes in any order; refused actions change nothing."""

    invoice: Invoice

    @initialize(specs=LINE_SPECS, intra_state=st.booleans(), partial=st.booleans())
    def issue(self, specs, intra_state, partial):
        lines = [line(resource_name=f"res-{i}", quantity=q, unit_rate=r) for i, (q, r) in enumerate(specs)]
        total = sum(item.amount for item in lines)
        assume(total > 0)
        self.invoice = issued(
            customer=customer(intra_state=intra_state), line_items=lines, partial_payment=partial
        )
        self.step = 0
        self.notes = 0
        self.totals = summary.contribution(self.invoice)

    # ---------------------------------------------------------------------------------- helpers
    def now(self):
        self.step += 1
        return NOW + timedelta(hours=self.step)

    def apply(self, change) -> None:
        """Apply one action; a refusal must be an ``InvoicingError`` and change nothing."""
        before = self.invoice
        try:
            after = change(before)
        except InvoicingError:
            return
        assert after.version == before.version + 1
        for name, value in summary.delta(before, after).items():
            self.totals[name] += value
        self.invoice = after

    def credit(self, request: CreditRequest):
        self.notes += 1
        number, note_id = self.notes, f"cn_{self.notes:014d}"

        def planned(invoice: Invoice) -> Invoice:
            now = self.now()
            credit = rules.plan_credit(
                invoice,
                request,
                note_id=note_id,
                credit_note_number=rules.number(ist_date(now), number),
                today=ist_date(now),
                now=now,
            )
            note = credit.note
            assert note.amount == note.taxable_amount + note.tax_amount
            assert note.applied_to_due == min(note.amount, invoice.amount_due)
            assert sum(r.amount for r in credit.refunds) == note.refund_amount
            return credit.invoice

        self.apply(planned)

    # ------------------------------------------------------------------------------------ rules
    @rule(data=st.data())
    def pay_some(self, data):
        amount = data.draw(st.integers(1, self.invoice.amount + 100))
        self.apply(
            lambda i: i.apply_payment(payment(amount, f"pay_{self.step}", paid_at=self.now()), self.now())
        )

    @rule()
    def pay_the_balance(self):
        due = max(self.invoice.amount_due, 1)
        self.apply(
            lambda i: i.apply_payment(payment(due, f"pay_{self.step}", paid_at=self.now()), self.now())
        )

    @rule(data=st.data())
    def credit_lines(self, data):
        lines = self.invoice.line_items
        indexes = data.draw(
            st.lists(st.integers(0, len(lines) - 1), min_size=1, max_size=len(lines), unique=True)
        )
        remaining = rules.remaining_per_line(self.invoice)
        pairs = tuple(
            (index, data.draw(st.integers(1, max(1, remaining[index] + 2)), label=f"amount {index}"))
            for index in indexes
        )
        request = CreditRequest(reason=CreditReason.EXCESS_CHARGED, description="Excess.", lines=pairs)
        beyond = any(amount > remaining[index] for index, amount in pairs)
        before = self.invoice
        self.credit(request)
        if beyond:
            assert self.invoice is before  # refused (422), nothing changed

    @rule()
    def credit_everything_left(self):
        before = self.invoice
        self.credit(CreditRequest(reason=CreditReason.DEFICIENT_SERVICE, description="Outage.", full=True))
        if self.invoice is not before:
            assert all(left == 0 for left in rules.remaining_per_line(self.invoice))
            assert self.invoice.amount_credited == self.invoice.amount  # nets to zero
            assert self.invoice.amount_due == 0

    @precondition(lambda self: any(r.status is RefundStatus.PENDING for r in self.invoice.refunds))
    @rule(data=st.data(), processed=st.booleans())
    def settle_a_refund(self, data, processed):
        pending = [r.id for r in self.invoice.refunds if r.status is RefundStatus.PENDING]
        refund_id = data.draw(st.sampled_from(pending))
        status = RefundStatus.PROCESSED if processed else RefundStatus.FAILED
        before = self.invoice
        self.apply(lambda i: i.settle_refund(refund_id, status, self.now(), razorpay_refund_id="rfnd_x"))
        for name in ("amount_paid", "amount_refunded", "amount_credited", "amount_due", "status"):
            assert getattr(self.invoice, name) == getattr(before, name)  # a settlement moves no money

    @rule()
    def cancel(self):
        self.notes += 1
        number, note_id = self.notes, f"cn_{self.notes:014d}"

        def planned(invoice: Invoice) -> Invoice:
            now = self.now()
            return rules.plan_cancellation(
                invoice,
                note_id=note_id,
                credit_note_number=rules.number(ist_date(now), number),
                today=ist_date(now),
                now=now,
            ).invoice

        self.apply(planned)
        if self.invoice.status is InvoiceStatus.CANCELLED:
            assert self.invoice.amount_due == 0

    @rule()
    def expire(self):
        self.apply(lambda i: i.expire(self.now()))

    @rule(days=st.integers(1, 60))
    def sweep_marks_overdue(self, days):
        self.apply(lambda i: i.mark_overdue(i.due_date + timedelta(days=days), self.now()))

    @rule()
    def open_dispute(self):
        self.apply(
            lambda i: i.open_dispute(dispute(f"dsp_{self.step}", i.id, created_at=self.now()), self.now())
        )

    @precondition(lambda self: self.invoice.disputed)
    @rule()
    def reject_a_dispute(self):
        open_id = next(d.id for d in self.invoice.disputes if d.status == "open")
        self.apply(lambda i: i.resolve_dispute(open_id, outcome="rejected", note="No error.", now=self.now()))

    # ------------------------------------------------------------------------------- invariants
    @invariant()
    def money_adds_up(self):
        i = self.invoice
        assert i.amount_paid - i.amount_refunded + i.amount_credited + i.amount_due == i.amount
        assert i.amount_due >= 0
        assert 0 <= i.amount_credited <= i.amount
        assert 0 <= i.amount_refunded <= i.amount_paid
        assert i.amount_credited == sum(c.amount for c in i.credit_notes)

    @invariant()
    def nothing_is_credited_beyond_the_invoice(self):
        i = self.invoice
        assert all(left >= 0 for left in rules.remaining_per_line(i))
        left = rules.remaining_tax(i)
        assert min(left.cgst, left.sgst, left.igst) >= 0
        assert left.cgst == left.sgst
        if all(remaining == 0 for remaining in rules.remaining_per_line(i)):
            assert i.amount_credited == i.amount

    @invariant()
    def refunds_never_exceed_their_payment(self):
        i = self.invoice
        for p in i.payments:
            assert i.refundable(p.id) >= 0
        assert all(r.amount > 0 for r in i.refunds)
        assert len({r.id for r in i.refunds}) == len(i.refunds)

    @invariant()
    def statuses_agree_with_the_money(self):
        i = self.invoice
        if i.status is InvoiceStatus.PAID:
            assert i.amount_due == 0
        if i.status is InvoiceStatus.CANCELLED:  # money arriving later is refunded in full
            assert i.amount_due == 0 and i.amount_paid == i.amount_refunded
        if i.status in (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID):
            assert i.amount_due > 0

    @invariant()
    def the_summary_follows_the_deltas(self):
        assert self.totals == summary.contribution(self.invoice)


CreditMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
test_the_money_invariant_holds_under_credits_refunds_and_cancellation = CreditMachine.TestCase


def test_a_refused_credit_is_an_error_of_the_domain():
    """What the machine treats as "refused" is exactly the domain's refusals."""
    invoice = issued()
    request = CreditRequest(
        reason=CreditReason.OTHER, description="x", lines=((0, invoice.line_items[0].amount + 1),)
    )
    try:
        rules.plan_credit(
            invoice,
            request,
            note_id="cn_1",
            credit_note_number="CN/2627/000001",
            today=ist_date(NOW),
            now=NOW,
        )
    except (DomainValidationError, InvalidTransitionError) as refused:
        assert isinstance(refused, InvoicingError)
    else:  # pragma: no cover
        raise AssertionError("a credit beyond the line was accepted")
