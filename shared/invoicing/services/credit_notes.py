"""Credit-note use cases: issue one, cancel an invoice by one, read them.

A credit note and its effect commit together, in ONE transaction: the next number of the
``CN/{fy}`` series (``TakeNumber``: counter and marker, gap-free), the note (``SaveCreditNote``),
the invoice it changes (``SaveInvoice``, conditional on the version read: ``amount_credited``,
``amount_due``, refunds, status, the account summary), the ``Idempotency-Key`` when one was sent,
and the outbox message of its side effects. So a note never exists without its effect, nor the
effect without the note. Losing a race (a payment webhook, another credit note, another number
taken) re-reads and re-plans with jittered backoff: the domain decides again from what is stored.

Side effects, after the commit (``services.outbox``): ``CreditNoteIssued`` (and ``InvoicePaid``
when the credit settles the invoice), the credit note's PDF and the invoice's new one, a refund
request per refund, and ``Relink``: the payment link is made to collect exactly the new balance.
A note to a B2B buyer with e-invoicing on is issued ``pending`` (``rules.registering``) and its
registration as a ``CRN`` is queued instead of its PDF, which waits for the IRN (einvoice.md).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from invoicing.domain import credit_notes as rules
from invoicing.domain.access import Caller
from invoicing.domain.changes import Change, IdempotentReplay, KeepIdempotency, SaveInvoice, TakeNumber
from invoicing.domain.credit_notes import (
    Credit,
    CreditNote,
    CreditNoteView,
    CreditRequest,
    SaveCreditNote,
)
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.einvoice import Mode
from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.domain.events import invoice_event
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import PAYABLE_STATUSES, Invoice, InvoiceStatus
from invoicing.domain.numbering import ist_date
from invoicing.domain.outbox import Effect, PublishEvent, RegisterEInvoice, Relink, RenderDocument
from invoicing.domain.queries import IdempotencyClaim, Page
from invoicing.observability import logger
from invoicing.services.ports import (
    Clock,
    CreditNoteStore,
    EInvoiceCancellation,
    InvoiceStore,
    PaymentProvider,
    Transactions,
)
from invoicing.services.retry import Backoff

IDEMPOTENCY_SCOPE = "credit_notes"

# plan(invoice, note_id, credit_note_number, today, now) -> the credit and the invoice after it
Planner = Callable[[Invoice, str, str, date, datetime], Credit]


@dataclass(frozen=True)
class Issued:
    """A committed credit note: the note, the invoice before and after it."""

    credit: Credit
    before: Invoice
    replayed: bool = False

    @property
    def note(self) -> CreditNote:
        return self.credit.note

    @property
    def invoice(self) -> Invoice:
        return self.credit.invoice


@dataclass
class CreditNoteService:
    invoices: InvoiceStore
    credit_notes: CreditNoteStore
    transactions: Transactions
    payments: PaymentProvider
    clock: Clock
    backoff: Backoff
    e_invoices: EInvoiceCancellation  # cancel: an IRN younger than 24 h goes first (services.einvoicing)
    einvoicing: Mode  # einvoice.md: off | sandbox | production (a B2B note is registered as a CRN)

    # ------------------------------------------------------------------ reads
    def get(self, caller: Caller, credit_note_id: str) -> CreditNoteView:
        """The note (and its refunds as they stand) if this caller may see it; otherwise not found."""
        try:
            note = self.credit_notes.get(credit_note_id)
        except NotFoundError:
            raise NotFoundError(f"No credit note {credit_note_id}.") from None
        if not caller.owns(note.account_id):
            raise NotFoundError(f"No credit note {credit_note_id}.")
        return self._views([note])[0]

    def list(
        self, caller: Caller, account_id: str | None, *, limit: int, cursor: str | None
    ) -> Page[CreditNoteView]:
        """One page of an account's credit notes, newest first: one ``Query``, and one batch read
        of the page's invoices for the refunds' status."""
        account = caller.account_for_listing(account_id)
        page = self.credit_notes.list_page(account, limit=limit, cursor=cursor)
        return Page(items=self._views(page.items), next_cursor=page.next_cursor)

    # ----------------------------------------------------------------- writes
    def issue(self, invoice_id: str, request: CreditRequest, claim: IdempotencyClaim | None = None) -> Issued:
        """Issue a credit note on ``invoice_id`` (honouring an ``Idempotency-Key`` claim)."""
        return self.commit_credit(invoice_id, credit_plan(request), claim=claim)

    def cancel(self, invoice_id: str) -> Invoice:
        """Cancel an unpaid invoice with a full credit note (reason ``cancellation``).

        Everything the domain would refuse is refused before Razorpay is touched; then Razorpay's
        invoice is cancelled (so nothing can be paid on it any more: a Razorpay failure changes
        nothing here, and a retry is safe), then an IRN younger than 24 hours is cancelled at the IRP
        (einvoice.md; a failure there changes nothing here either, and the IRP's "not active" on a
        retry counts as cancelled), then the note and the cancellation commit together.
        """
        invoice = self._invoice(invoice_id)
        invoice.check_cancellable()
        rules.check_creditable(invoice, ist_date(self.clock()))
        if invoice.razorpay_invoice_id:
            self.payments.cancel(invoice.razorpay_invoice_id)
        # e-invoicing: an IRN younger than 24 h is cancelled at the IRP before our commit
        cancelled_irn = self.e_invoices.cancel_young_irn(invoice)

        def plan(invoice: Invoice, note_id: str, number: str, today: date, now: datetime) -> Credit:
            credit = rules.plan_cancellation(
                invoice, note_id=note_id, credit_note_number=number, today=today, now=now
            )
            if cancelled_irn is None:
                return credit
            return Credit(credit.note, credit.invoice.model_copy(update={"e_invoice": cancelled_irn}))

        return self.commit_credit(invoice_id, plan, events=["InvoiceCancelled"]).invoice

    def commit_credit(
        self,
        invoice_id: str,
        plan: Planner,
        *,
        claim: IdempotencyClaim | None = None,
        events: builtins.list[str | PublishEvent] | None = None,
        extra_events: Callable[[Credit], builtins.list[PublishEvent]] | None = None,
    ) -> Issued:
        """Plan a credit note on the stored invoice and commit it with its number, its effect and its
        side effects; on a lost race read again and plan again. A replayed ``Idempotency-Key`` answers
        the note the first request made."""
        note_id = new_id("cn")
        invoice = self._invoice(invoice_id)
        for attempt in self.backoff.tries():
            if attempt:
                invoice = self._invoice(invoice_id)
            now = self.clock()
            today = ist_date(now)
            series = rules.series(today)
            sequence = self.invoices.next_sequence(series)
            credit = rules.registering(
                plan(invoice, note_id, rules.number(today, sequence), today, now), self.einvoicing
            )
            changes: list[Change] = [
                TakeNumber(series, sequence, credit.note.credit_note_number, note_id, invoice.account_id),
                SaveCreditNote(credit.note),
                SaveInvoice(invoice, credit.invoice),
            ]
            if claim is not None:
                changes.append(KeepIdempotency(IDEMPOTENCY_SCOPE, invoice.account_id, claim, note_id))
            more = [*(events or []), *(extra_events(credit) if extra_events else [])]
            effects = self._effects(invoice, credit, more)
            changes += emit(invoice.account_id, effects, now)
            try:
                self.transactions.commit(changes)
            except IdempotentReplay as replay:
                note = self.credit_notes.get(replay.result_id)
                return Issued(Credit(note, self.invoices.get(note.invoice_id)), invoice, replayed=True)
            except ConflictError as lost:
                if _key_reused(lost):
                    raise
                logger.info(
                    "Credit note lost a race; reading the invoice again",
                    extra={"invoice_id": invoice_id, "attempt": attempt, "reason": type(lost).__name__},
                )
                continue
            logger.info(
                "Credit note issued",
                extra={
                    "invoice_id": invoice_id,
                    "credit_note_id": note_id,
                    "credit_note_number": credit.note.credit_note_number,
                    "amount": credit.note.amount,
                    "refund_amount": credit.note.refund_amount,
                },
            )
            return Issued(credit, invoice)
        raise ConflictError(
            f"Invoice {invoice_id} kept changing; gave up after {self.backoff.attempts} attempts "
            "(retry later)."
        )

    # ---------------------------------------------------------------- helpers
    def _invoice(self, invoice_id: str) -> Invoice:
        try:
            return self.invoices.get(invoice_id)
        except NotFoundError:
            raise NotFoundError(f"No invoice {invoice_id}.") from None

    def _views(self, notes: Sequence[CreditNote]) -> builtins.list[CreditNoteView]:
        with_refunds = [note for note in notes if note.refund_ids]
        refunds = (
            self.credit_notes.refunds_of([note.invoice_id for note in with_refunds]) if with_refunds else {}
        )
        views = []
        for note in notes:
            ids = set(note.refund_ids)
            views.append(
                CreditNoteView(note, tuple(r for r in refunds.get(note.invoice_id, ()) if r.id in ids))
            )
        return views

    @staticmethod
    def _effects(
        before: Invoice, credit: Credit, events: builtins.list[str | PublishEvent]
    ) -> builtins.list[Effect]:
        after, note = credit.invoice, credit.note
        named: list[str | PublishEvent] = [*events]
        if after.status is InvoiceStatus.PAID and before.status is not InvoiceStatus.PAID:
            named.append(
                invoice_event("InvoicePaid", after, settled_by="credit_note", credit_note_id=note.id)
            )
            if before.suspension_requested_at is not None:
                named.append("ServiceRestorationRequested")
        named.append(
            invoice_event(
                "CreditNoteIssued",
                after,
                credit_note_id=note.id,
                credit_note_number=note.credit_note_number,
                reason=note.reason.value,
                credit_amount=note.amount,
                applied_to_due=note.applied_to_due,
                refund_amount=note.refund_amount,
            )
        )
        effects: list[Effect] = invoice_effects(before, after, named)
        if note.e_invoice is not None and note.e_invoice.awaiting:
            # e-invoicing: registered as a CRN after the commit; its PDF waits for the IRN
            effects.append(RegisterEInvoice(document="credit_note", document_id=note.id, attempt=0))
        else:
            effects.append(RenderDocument(document="credit_note", document_id=note.id, version=note.version))
        if before.status in PAYABLE_STATUSES and after.status is not InvoiceStatus.CANCELLED:
            effects.append(Relink(invoice_id=after.id))
        return effects


def _key_reused(error: ConflictError) -> bool:
    """The Idempotency-Key came with another body: a refusal, not a race to retry."""
    return any(detail.get("loc") == ["header", "Idempotency-Key"] for detail in error.details)


def credit_plan(request: CreditRequest) -> Planner:
    """The planner of the credit note ``request`` asks for."""

    def plan(invoice: Invoice, note_id: str, number: str, today: date, now: datetime) -> Credit:
        return rules.plan_credit(
            invoice, request, note_id=note_id, credit_note_number=number, today=today, now=now
        )

    return plan


def with_dispute_resolved(plan: Planner, dispute_id: str, note: str) -> Planner:
    """``plan``, resolving an open dispute as ``credited`` by the note in the same commit."""

    def planned(invoice: Invoice, note_id: str, number: str, today: date, now: datetime) -> Credit:
        return rules.resolving(plan(invoice, note_id, number, today, now), dispute_id, note, now)

    return planned
