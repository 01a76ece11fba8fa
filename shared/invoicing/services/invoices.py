"""Invoice use cases: create, revise, issue, delete, dispute, read (cancelling is a credit note:
``services.credit_notes``).

Services orchestrate: load, ask the domain for the next state, commit it conditionally together
with the outbox message of its side effects (events, the PDF render). They never decide which
moves are legal, and they never talk to AWS or Razorpay except through the ports.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from invoicing.domain.access import Caller
from invoicing.domain.changes import (
    Change,
    IdempotentReplay,
    KeepIdempotency,
    LinkProvider,
    SaveInvoice,
    TakeNumber,
)
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.einvoice import Mode, at_issue
from invoicing.domain.errors import InvalidTransitionError, NotFoundError, SequenceTakenError
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import PAYABLE_STATUSES, Dispute, Invoice, InvoiceStatus, Supplier
from invoicing.domain.numbering import financial_year, format_invoice_number, ist_date, series_key
from invoicing.domain.queries import IdempotencyClaim, InvoiceRow, ListQuery, Page
from invoicing.domain.summary import AccountSummary
from invoicing.services.ports import Clock, InvoiceStore, PaymentProvider, Transactions

ISSUE_ATTEMPTS = 5
IDEMPOTENCY_SCOPE = "invoices"


@dataclass(frozen=True)
class InvoicePolicy:
    prefix: str
    supplier: Supplier
    payment_terms_days: int = 15
    reminder_days: tuple[int, ...] = (3, 7)
    grace_period_days: int = 7
    einvoicing: Mode = "off"  # einvoice.md: off | sandbox | production


@dataclass
class InvoiceService:
    invoices: InvoiceStore
    transactions: Transactions
    payments: PaymentProvider
    policy: InvoicePolicy
    clock: Clock

    # ------------------------------------------------------------------ reads
    def get(self, caller: Caller, invoice_id: str) -> Invoice:
        """The invoice if this caller may see it; otherwise not found, whoever owns it."""
        try:
            invoice = self.invoices.get(invoice_id)
        except NotFoundError:
            raise NotFoundError(f"No invoice {invoice_id}.") from None
        if not caller.can_see(invoice):
            raise NotFoundError(f"No invoice {invoice_id}.")
        return invoice

    def list(self, caller: Caller, query: ListQuery) -> Page[InvoiceRow]:
        account = caller.account_for_listing(query.account_id or None)
        statuses = query.statuses
        if not caller.is_operator and statuses is not None:
            statuses = statuses - {InvoiceStatus.DRAFT}
        return self.invoices.list_page(
            replace(query, account_id=account, statuses=statuses, include_drafts=caller.is_operator)
        )

    def export(self, caller: Caller, query: ListQuery, *, page_size: int = 100) -> Iterator[InvoiceRow]:
        """Every invoice the list would show, page after page (one Query each), newest first."""
        query = replace(query, limit=page_size, cursor=None)
        while True:
            page = self.list(caller, query)
            yield from page.items
            if page.next_cursor is None:
                return
            query = replace(query, cursor=page.next_cursor)

    def summary(self, caller: Caller, account_id: str | None) -> AccountSummary:
        return self.invoices.summary(caller.account_for_listing(account_id))

    # ----------------------------------------------------------------- writes
    def create(
        self, *, account_id: str, fields: dict[str, Any], claim: IdempotencyClaim | None = None
    ) -> Invoice:
        """A draft. With a claim, the same key and body answer the first draft (a replay)."""
        fields = {"payment_terms_days": self.policy.payment_terms_days, **fields}
        draft = Invoice.create_draft(
            account_id=account_id, supplier=self.policy.supplier, now=self.clock(), **fields
        )
        changes: list[Change] = [SaveInvoice(None, draft)]
        if claim is not None:
            changes.append(KeepIdempotency(IDEMPOTENCY_SCOPE, account_id, claim, draft.id))
        try:
            self.transactions.commit(changes)
        except IdempotentReplay as replay:
            return self.invoices.get(replay.result_id)
        return draft

    def revise(self, invoice_id: str, changes: dict[str, Any]) -> Invoice:
        """PATCH. Once issued, what Razorpay collects by (partial payments, expiry) changes there
        first: a Razorpay failure leaves ours unchanged, and a retry converges."""
        before = self.invoices.get(invoice_id)
        after = before.revise(changes, self.clock())
        if (
            before.razorpay_invoice_id
            and before.status in PAYABLE_STATUSES
            and any(getattr(before, name) != getattr(after, name) for name in _COLLECTED)
        ):
            self.payments.update(before.razorpay_invoice_id, after)
        return self._commit(before, after)

    def delete(self, invoice_id: str) -> None:
        """Delete a draft. A Razorpay invoice left by a failed issue is withdrawn first, so nothing
        payable outlives the draft; if Razorpay fails, the draft stays and a retry is safe."""
        invoice = self.invoices.get(invoice_id)
        invoice.ensure_deletable()
        if invoice.razorpay_invoice_id is not None:
            self.payments.withdraw(invoice.razorpay_invoice_id)
        self.invoices.delete_draft(invoice)

    def issue(self, invoice_id: str) -> Invoice:
        """Draft → issued with the next gap-free number and a live payment link.

        Everything that can fail here is computed before Razorpay makes anything payable: the
        domain builds (and so validates) the issued invoice and its side effects from the number
        it would take, and only then is Razorpay's invoice published. Order, for convergence:
        (1) a draft at Razorpay is created once and its id stored on our draft (with a pointer
        back), so a retry never creates a second one; (2) the number is read, the issued invoice
        built, Razorpay's invoice made to match it and issued; (3) one transaction advances the
        counter, writes the number marker, issues ours, moves the summary and queues the effects.
        If another issue took the number meanwhile, the loop takes the next one and Razorpay's
        receipt follows. A failure before (3) leaves ours a draft and no number used; a payment
        Razorpay captures meanwhile is held on the draft and applied by the issue that completes it.
        """
        now = self.clock()
        invoice = self.invoices.get(invoice_id)
        invoice.check_issuable(now)
        today = ist_date(now)
        fy = financial_year(today)
        series = series_key(self.policy.prefix, fy)

        def issued_as(draft: Invoice, sequence: int, payment_url: str | None) -> Invoice:
            return draft.issue(
                invoice_number=format_invoice_number(self.policy.prefix, fy, sequence),
                today=today,
                now=now,
                reminder_days=self.policy.reminder_days,
                grace_period_days=self.policy.grace_period_days,
                razorpay_invoice_id=draft.razorpay_invoice_id,
                payment_url=payment_url,
                e_invoice=at_issue(self.policy.einvoicing, draft.supplier.gstin, draft.customer.gstin),
            )

        # Everything local first: the issued invoice (numbered as it would be) and its effects.
        rehearsal = issued_as(invoice, self.invoices.next_sequence(series), "https://rehearsal.invalid")
        self._changes_for_issue(invoice, rehearsal, series, 1)
        if invoice.razorpay_invoice_id is None:
            provider = self.payments.create_draft(invoice)
            invoice = self._link(invoice, provider.provider_id)
        for _ in range(ISSUE_ATTEMPTS):
            sequence = self.invoices.next_sequence(series)
            issued = issued_as(invoice, sequence, None)
            assert invoice.razorpay_invoice_id is not None
            published = self.payments.publish(invoice.razorpay_invoice_id, issued)
            if published.provider_id != invoice.razorpay_invoice_id:
                invoice = self._link(invoice, published.provider_id)
            issued = issued_as(invoice, sequence, published.payment_url)
            try:
                self.transactions.commit(self._changes_for_issue(invoice, issued, series, sequence))
            except SequenceTakenError:
                continue
            return issued
        raise SequenceTakenError(f"Could not take a number in {series} after {ISSUE_ATTEMPTS} attempts.")

    def dispute(
        self, caller: Caller, invoice_id: str, *, reason: str, expected_correction: str | None
    ) -> Dispute:
        now = self.clock()
        before = self.get(caller, invoice_id)
        dispute = Dispute(
            id=new_id("dsp"),
            invoice_id=before.id,
            reason=reason,
            expected_correction=expected_correction,
            created_at=now,
        )
        self._commit(before, before.open_dispute(dispute, now), "InvoiceDisputed")
        return dispute

    def payment_link(self, caller: Caller, invoice_id: str) -> Invoice:
        invoice = self.get(caller, invoice_id)
        if invoice.status not in PAYABLE_STATUSES:
            raise InvalidTransitionError("pay", invoice.status)
        return invoice

    # ---------------------------------------------------------------- helpers
    def _commit(self, before: Invoice, after: Invoice, *events: str) -> Invoice:
        effects = invoice_effects(before, after, events)
        self.transactions.commit(
            [SaveInvoice(before, after), *emit(after.account_id, effects, after.updated_at)]
        )
        return after

    def _link(self, draft: Invoice, provider_id: str) -> Invoice:
        """Store the provider's invoice id on our draft, and the pointer back, in one commit."""
        linked = draft.attach_payment_link(provider_id, self.clock())
        self.transactions.commit(
            [SaveInvoice(draft, linked), LinkProvider(provider_id, draft.id, draft.account_id)]
        )
        return linked

    @staticmethod
    def _changes_for_issue(
        draft: Invoice, issued: Invoice, series: str, sequence: int
    ) -> builtins.list[Change]:
        assert issued.invoice_number is not None
        events = ["InvoiceIssued"]
        if issued.status is not InvoiceStatus.ISSUED:  # payments held while it was a draft
            events.append("InvoicePaid" if issued.status is InvoiceStatus.PAID else "InvoicePartiallyPaid")
        effects = invoice_effects(draft, issued, events)
        return [
            TakeNumber(series, sequence, issued.invoice_number, issued.id, issued.account_id),
            SaveInvoice(draft, issued),
            *emit(issued.account_id, effects, issued.updated_at),
        ]


# What Razorpay collects by, among the fields an issued invoice may still change.
_COLLECTED = ("partial_payment", "expire_by")
