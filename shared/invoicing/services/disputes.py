"""Disputes end in a decision: list an invoice's disputes, resolve one (rejected, or credited).

``credited`` issues the credit note and resolves the dispute in the same commit as the note's
effect (``CreditNoteService.commit_credit``): the decision never exists without its correction.
``rejected`` changes only the dispute. Either way, once no dispute is open the invoice is no longer
``disputed``: its place in the sweep index follows (``Invoice.next_sweep_on``), so the daily sweep
resumes reminders and, after the grace period, suspension. ``DisputeResolved`` is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from invoicing.domain.access import Caller
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.credit_notes import Credit, CreditRequest
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.errors import ConflictError, DomainValidationError, NotFoundError
from invoicing.domain.events import invoice_event
from invoicing.domain.invoice import Dispute, Invoice
from invoicing.domain.outbox import PublishEvent
from invoicing.observability import logger
from invoicing.services.credit_notes import CreditNoteService, credit_plan, with_dispute_resolved
from invoicing.services.ports import Clock, InvoiceStore, Transactions
from invoicing.services.retry import Backoff


@dataclass(frozen=True)
class Resolution:
    dispute: Dispute
    invoice: Invoice
    credit: Credit | None = None


@dataclass
class DisputeService:
    invoices: InvoiceStore
    transactions: Transactions
    credits: CreditNoteService
    clock: Clock
    backoff: Backoff

    def list(self, caller: Caller, invoice_id: str) -> tuple[Dispute, ...]:
        """The invoice's disputes, oldest first, if this caller may see the invoice."""
        return self._visible(caller, invoice_id).disputes

    def resolve(
        self,
        invoice_id: str,
        dispute_id: str,
        *,
        outcome: Literal["credited", "rejected"],
        note: str,
        credit: CreditRequest | None = None,
    ) -> Resolution:
        invoice = self._invoice(invoice_id)
        _dispute(invoice, dispute_id)  # an unknown dispute is a 404 before anything else
        if outcome == "credited":
            if credit is None:
                raise DomainValidationError(
                    "credit_note: required when the outcome is credited.",
                    [{"loc": ["body", "credit_note"], "msg": "required when the outcome is credited"}],
                )
            return self._credited(invoice_id, dispute_id, note, credit)
        if credit is not None:
            raise DomainValidationError(
                "credit_note: only a credited outcome issues a credit note.",
                [{"loc": ["body", "credit_note"], "msg": "only with outcome credited"}],
            )
        return self._rejected(invoice, dispute_id, note)

    # ---------------------------------------------------------------- helpers
    def _credited(self, invoice_id: str, dispute_id: str, note: str, request: CreditRequest) -> Resolution:
        def event(credit: Credit) -> list[PublishEvent]:
            return [_resolved_event(credit.invoice, _dispute(credit.invoice, dispute_id))]

        issued = self.credits.commit_credit(
            invoice_id,
            with_dispute_resolved(credit_plan(request), dispute_id, note),
            extra_events=event,
        )
        logger.info(
            "Dispute resolved",
            extra={"dispute_id": dispute_id, "outcome": "credited", "invoice_id": invoice_id},
        )
        return Resolution(_dispute(issued.invoice, dispute_id), issued.invoice, issued.credit)

    def _rejected(self, invoice: Invoice, dispute_id: str, note: str) -> Resolution:
        for attempt in self.backoff.tries():
            if attempt:
                invoice = self._invoice(invoice.id)
            now = self.clock()
            after = invoice.resolve_dispute(dispute_id, outcome="rejected", note=note, now=now)
            dispute = _dispute(after, dispute_id)
            effects = invoice_effects(invoice, after, [_resolved_event(after, dispute)])
            try:
                self.transactions.commit([SaveInvoice(invoice, after), *emit(after.account_id, effects, now)])
            except ConflictError:
                continue
            logger.info(
                "Dispute resolved",
                extra={"dispute_id": dispute_id, "outcome": "rejected", "invoice_id": after.id},
            )
            return Resolution(dispute, after)
        raise ConflictError(
            f"Invoice {invoice.id} kept changing; gave up after {self.backoff.attempts} attempts "
            "(retry later)."
        )

    def _invoice(self, invoice_id: str) -> Invoice:
        try:
            return self.invoices.get(invoice_id)
        except NotFoundError:
            raise NotFoundError(f"No invoice {invoice_id}.") from None

    def _visible(self, caller: Caller, invoice_id: str) -> Invoice:
        invoice = self._invoice(invoice_id)
        if not caller.can_see(invoice):
            raise NotFoundError(f"No invoice {invoice_id}.")
        return invoice


def _dispute(invoice: Invoice, dispute_id: str) -> Dispute:
    dispute = next((d for d in invoice.disputes if d.id == dispute_id), None)
    if dispute is None:
        raise NotFoundError(f"Invoice {invoice.id} has no dispute {dispute_id}.")
    return dispute


def _resolved_event(invoice: Invoice, dispute: Dispute) -> PublishEvent:
    return invoice_event(
        "DisputeResolved",
        invoice,
        dispute_id=dispute.id,
        outcome=dispute.outcome,
        credit_note_id=dispute.credit_note_id,
        disputed=invoice.disputed,
    )
