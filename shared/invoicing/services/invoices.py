"""Invoice use cases: create, revise, issue, cancel, delete, dispute, read.

Services orchestrate: load, ask the domain for the next state, store it conditionally, then run
the side effects (events, renders) after the commit. They never decide which moves are legal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from invoicing.domain.errors import (
    DomainValidationError,
    ForbiddenError,
    InvalidTransitionError,
    NotFoundError,
    SequenceTakenError,
)
from invoicing.domain.invoice import PAYABLE_STATUSES, Dispute, Invoice, InvoiceStatus, Supplier, new_id
from invoicing.domain.numbering import financial_year, format_invoice_number, ist_date, series_key
from invoicing.domain.summary import AccountSummary
from invoicing.repository.invoices import IdempotencyClaim, InvoiceRepository, ListQuery, Page
from invoicing.services.ports import EventPublisher, PaymentProvider, RenderQueue

ISSUE_ATTEMPTS = 5


class Visible(Protocol):
    """What deciding visibility needs: an invoice, or a projection of one."""

    @property
    def account_id(self) -> str: ...

    @property
    def status(self) -> InvoiceStatus: ...


@dataclass(frozen=True)
class Caller:
    """Who is calling, from the verified JWT claims."""

    account_id: str | None
    is_operator: bool = False

    def can_see(self, invoice: Visible) -> bool:
        """Operators see every invoice; a customer only its own account's, and never a draft."""
        return self.is_operator or (
            invoice.account_id == self.account_id and invoice.status is not InvoiceStatus.DRAFT
        )

    def account_for_listing(self, requested: str | None) -> str:
        """Customers list their own account; operators must name one."""
        if self.is_operator:
            if not requested:
                raise _missing_account()
            return requested
        if requested and requested != self.account_id:
            raise ForbiddenError("You can only see your own account's invoices.")
        assert self.account_id is not None
        return self.account_id


@dataclass(frozen=True)
class InvoicePolicy:
    prefix: str
    supplier: Supplier
    payment_terms_days: int = 15
    reminder_days: tuple[int, ...] = (3, 7)
    grace_period_days: int = 7


@dataclass
class InvoiceService:
    repository: InvoiceRepository
    policy: InvoicePolicy
    payments: PaymentProvider | None = None
    events: EventPublisher | None = None
    renders: RenderQueue | None = None
    _published: list[str] = field(default_factory=list, repr=False)

    # ------------------------------------------------------------------ reads
    def get(self, caller: Caller, invoice_id: str) -> Invoice:
        """The invoice if this caller may see it; otherwise not found, whoever owns it."""
        try:
            invoice = self.repository.get(invoice_id)
        except NotFoundError:
            raise NotFoundError(f"No invoice {invoice_id}.") from None
        if not caller.can_see(invoice):
            raise NotFoundError(f"No invoice {invoice_id}.")
        return invoice

    def list(self, caller: Caller, query: ListQuery) -> Page:
        account = caller.account_for_listing(query.account_id or None)
        if not caller.is_operator and query.statuses and InvoiceStatus.DRAFT in query.statuses:
            query = ListQuery(**{**query.__dict__, "statuses": query.statuses - {InvoiceStatus.DRAFT}})
        return self.repository.list_page(
            ListQuery(**{**query.__dict__, "account_id": account, "include_drafts": caller.is_operator})
        )

    def export(self, caller: Caller, query: ListQuery, *, page_size: int = 100) -> Iterator[Invoice]:
        """Every invoice the list would show, page after page (one Query each), newest first."""
        query = replace(query, limit=page_size, cursor=None)
        while True:
            page = self.list(caller, query)
            yield from page.items
            if page.next_cursor is None:
                return
            query = replace(query, cursor=page.next_cursor)

    def summary(self, caller: Caller, account_id: str | None) -> AccountSummary:
        return self.repository.summary(caller.account_for_listing(account_id))

    # ----------------------------------------------------------------- writes
    def create(
        self,
        *,
        account_id: str,
        fields: dict[str, Any],
        now: datetime,
        claim: IdempotencyClaim | None = None,
    ) -> Invoice:
        fields = {"payment_terms_days": self.policy.payment_terms_days, **fields}
        draft = Invoice.create_draft(account_id=account_id, supplier=self.policy.supplier, now=now, **fields)
        return self.repository.create(draft, claim)

    def revise(self, invoice_id: str, changes: dict[str, Any], now: datetime) -> Invoice:
        """PATCH. Once issued, what Razorpay collects by (partial payments, expiry) changes there
        first: a Razorpay failure leaves ours unchanged, and a retry converges."""
        before = self.repository.get(invoice_id)
        after = before.revise(changes, now)
        if (
            self.payments is not None
            and before.razorpay_invoice_id
            and before.status in PAYABLE_STATUSES
            and any(getattr(before, name) != getattr(after, name) for name in _COLLECTED)
        ):
            self.payments.update(before.razorpay_invoice_id, after)
        after = self.repository.save(before, after)
        self._after_commit(before, after, event=None)
        return after

    def delete(self, invoice_id: str) -> None:
        """Delete a draft. A Razorpay invoice left by a failed issue is withdrawn first, so nothing
        payable outlives the draft; if Razorpay fails, the draft stays and a retry is safe."""
        invoice = self.repository.get(invoice_id)
        invoice.ensure_deletable()
        if self.payments is not None and invoice.razorpay_invoice_id is not None:
            self.payments.withdraw(invoice.razorpay_invoice_id)
        self.repository.delete_draft(invoice)

    def issue(self, invoice_id: str, now: datetime) -> Invoice:
        """Draft → issued with the next gap-free number and a live payment link.

        Order matters for convergence: (1) a draft at Razorpay is created once and its id stored
        on our draft, so a retry never creates a second one; (2) the number is read, the domain
        builds the issued invoice, Razorpay's invoice is made to match it and issued; (3) one
        transaction advances the counter, writes the number marker, issues our invoice and moves
        the summary. If another issue took the number meanwhile, the loop takes the next one and
        Razorpay's receipt follows. A failure before (3) leaves our invoice a draft and no number
        used; Razorpay's invoice is reused by the retry. Should Razorpay's invoice no longer match
        (the draft was edited after a failed attempt) the provider replaces it; the replacement is
        linked to our draft (id and pointer) before (3), so a webhook about it always finds ours.
        """
        invoice = self.repository.get(invoice_id)
        invoice.check_issuable(now)
        if self.payments is not None and invoice.razorpay_invoice_id is None:
            provider = self.payments.create_draft(invoice)
            linked = invoice.attach_payment_link(provider.provider_id, now)
            invoice = self.repository.link_provider_invoice(invoice, linked)
        today = ist_date(now)
        fy = financial_year(today)
        series = series_key(self.policy.prefix, fy)

        def issued_as(draft: Invoice, sequence: int, payment_url: str | None = None) -> Invoice:
            return draft.issue(
                invoice_number=format_invoice_number(self.policy.prefix, fy, sequence),
                today=today,
                now=now,
                reminder_days=self.policy.reminder_days,
                grace_period_days=self.policy.grace_period_days,
                razorpay_invoice_id=draft.razorpay_invoice_id,
                payment_url=payment_url,
            )

        for _ in range(ISSUE_ATTEMPTS):
            sequence = self.repository.next_sequence(series)
            issued = issued_as(invoice, sequence)
            if self.payments is not None:
                assert invoice.razorpay_invoice_id is not None
                published = self.payments.publish(invoice.razorpay_invoice_id, issued)
                if published.provider_id != invoice.razorpay_invoice_id:
                    replaced = invoice.attach_payment_link(published.provider_id, now)
                    invoice = self.repository.link_provider_invoice(invoice, replaced)
                issued = issued_as(invoice, sequence, published.payment_url)
            try:
                after = self.repository.issue(invoice, issued, series=series, sequence=sequence)
            except SequenceTakenError:
                continue
            self._after_commit(invoice, after, event="InvoiceIssued")
            return after
        raise SequenceTakenError(f"Could not take a number in {series} after {ISSUE_ATTEMPTS} attempts.")

    def cancel(self, invoice_id: str, now: datetime) -> Invoice:
        before = self.repository.get(invoice_id)
        after = before.cancel(now)  # refuse before touching Razorpay
        if self.payments is not None and before.razorpay_invoice_id:
            self.payments.cancel(before.razorpay_invoice_id)
        after = self.repository.save(before, after)
        self._after_commit(before, after, event="InvoiceCancelled")
        return after

    def dispute(
        self, caller: Caller, invoice_id: str, *, reason: str, expected_correction: str | None, now: datetime
    ) -> Dispute:
        before = self.get(caller, invoice_id)
        dispute = Dispute(
            id=new_id("dsp"),
            invoice_id=before.id,
            reason=reason,
            expected_correction=expected_correction,
            created_at=now,
        )
        after = self.repository.save(before, before.open_dispute(dispute, now))
        self._after_commit(before, after, event="InvoiceDisputed")
        return dispute

    def payment_link(self, caller: Caller, invoice_id: str) -> Invoice:
        invoice = self.get(caller, invoice_id)
        if invoice.status not in PAYABLE_STATUSES:
            raise InvalidTransitionError("pay", invoice.status)
        return invoice

    # ---------------------------------------------------------------- effects
    def _after_commit(self, before: Invoice, after: Invoice, *, event: str | None) -> None:
        """Side effects follow the commit, at-least-once; every consumer is idempotent."""
        if event and self.events is not None:
            self.events.publish(event, after)
        if self.renders is not None and printed_changed(before, after):
            self.renders.enqueue(after)


# What Razorpay collects by, among the fields an issued invoice may still change.
_COLLECTED = ("partial_payment", "expire_by")

_PRINTED = ("status", "amount_paid", "notes", "terms", "expire_by", "invoice_number", "payment_url")


def printed_changed(before: Invoice, after: Invoice) -> bool:
    """Whether ``after`` needs a new PDF: it is past draft (drafts have none) and something
    printed on it changed (disputes and sweep bookkeeping are not printed)."""
    return after.status is not InvoiceStatus.DRAFT and any(
        getattr(before, name) != getattr(after, name) for name in _PRINTED
    )


def _missing_account() -> Exception:
    return DomainValidationError(
        "account_id is required for operators.",
        [{"loc": ["query", "account_id"], "msg": "Field required"}],
    )
