"""E-invoicing use cases: register a document (an invoice, or a credit note as a ``CRN``) with the IRP
after its commit, let operators see and re-queue failed registrations, cancel a young IRN before an
invoice's cancellation (by a credit note) commits.

**Registration** (``EInvoiceRegistrar.register``, the e-invoice queue's consumer). A job names a
document (``invoice`` or ``credit_note``) and the e-invoice ``attempts`` count it is for. The
document is read (one ``GetItem``); a job for a document that no longer awaits its IRN, or for
another count, is a repeat and is dropped. Then, in order:

1. everything that can fail locally: the INV-01 payload and its rules, the 30-day rule → ``failed``
   with ``kind: validation`` and the rule's message, nothing sent;
2. if the last attempt timed out (``unknown_outcome``) or SQS delivers this job again (the consumer
   may have died after sending), the document is looked up by type, number and date first, and
   linked if the IRP has it;
3. it is sent. An IRN → ``generated``. Error 2150 (duplicate) → the registered document is fetched
   and linked only if its buyer GSTIN and total match ours, else ``failed`` / ``duplicate_mismatch``.
   A timeout → ``retrying`` with ``unknown_outcome``. Another transient failure → ``retrying``. The
   IRP's own validation error → ``failed`` / ``validation``. After ``max_attempts`` a transient
   failure is ``failed`` / ``transient``.

The outcome is committed as the document's next version, conditional on the version read
(``SaveInvoice``, or ``ReviseCreditNote`` for a credit note), with its side effects in the same
transaction: ``EInvoiceGenerated`` and a render of the PDF (which now carries the IRN and QR),
``EInvoiceFailed``, or the next attempt's job with its backoff delay. If the document changed
meanwhile (a payment on the invoice, say) the outcome is re-applied to the fresh version; if the
e-invoice itself moved on (another delivery recorded it), nothing is written. Races therefore never
register a document twice (the IRP answers the second sender 2150, which links the same IRN) and
never overwrite a newer state (the write is conditional).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from invoicing.domain.changes import Change, SaveInvoice
from invoicing.domain.credit_notes import CreditNote, ReviseCreditNote
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.einvoice import (
    CANCEL_REASON_ORDER_CANCELLED,
    LISTED,
    EInvoice,
    EInvoiceEntry,
    EInvoiceError,
    EInvoiceStatus,
    ErrorKind,
    IrpDuplicate,
    IrpError,
    IrpRejected,
    IrpTimeout,
    IrpUnavailable,
    Mode,
    RegisteredDocument,
    Registration,
    backoff_delay,
)
from invoicing.domain.einvoice_payload import (
    DocumentKind,
    PayloadRuleError,
    Registrable,
    build_payload,
    check_reporting_window,
    from_credit_note,
    from_invoice,
)
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    InvalidTransitionError,
    NotFoundError,
    RetryableError,
)
from invoicing.domain.events import e_invoice_event
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import ist_date
from invoicing.domain.outbox import Effect, RegisterEInvoice, RenderDocument
from invoicing.domain.queries import Page
from invoicing.observability import logger
from invoicing.services.ports import (
    Clock,
    CreditNoteStore,
    EInvoiceJobs,
    EInvoiceStore,
    InvoiceStore,
    IrpClient,
    Transactions,
)
from invoicing.services.retry import Backoff

MAX_QUEUE_DELAY_SECONDS = 900  # SQS's DelaySeconds limit; longer backoffs are re-queued on arrival


@dataclass(frozen=True)
class EInvoicePolicy:
    mode: Mode = "off"
    aato_above_10_crore: bool = True
    retry_base_seconds: int = 60
    retry_cap_seconds: int = 3600
    max_attempts: int = 8


class Outcome(StrEnum):
    GENERATED = "generated"  # the IRP answered an IRN (or one it held for us was linked)
    RETRYING = "retrying"
    FAILED = "failed"
    DEFERRED = "deferred"  # arrived before its backoff was over: queued again for the rest
    SKIPPED = "skipped"  # a repeat, a stale job, or nothing to register


@dataclass(frozen=True)
class _Decision:
    """What the IRP's answer means for the e-invoice (applied to whichever version is current)."""

    outcome: Outcome
    apply: Callable[[EInvoice, datetime], EInvoice]
    code: str = ""


@dataclass
class EInvoiceRegistrar:
    invoices: InvoiceStore
    credit_notes: CreditNoteStore
    transactions: Transactions
    irp: IrpClient
    jobs: EInvoiceJobs
    policy: EInvoicePolicy
    clock: Clock
    backoff: Backoff

    def register(
        self, document: str, document_id: str, attempt: int, *, redelivered: bool = False
    ) -> Outcome:
        try:
            current = self._read(document, document_id)
        except NotFoundError:
            logger.warning(
                "E-invoice job for an unknown document", extra={"document_id": document_id, "type": document}
            )
            return Outcome.SKIPPED
        state = current.e_invoice
        if state is None or not state.awaiting or state.attempts != attempt:
            return Outcome.SKIPPED
        now = self.clock()
        if state.next_attempt_at is not None and now < state.next_attempt_at:
            wait = math.ceil((state.next_attempt_at - now).total_seconds())
            self.jobs.enqueue(
                document, document_id, attempt, delay_seconds=min(wait, MAX_QUEUE_DELAY_SECONDS)
            )
            return Outcome.DEFERRED
        decision = self._decide(registrable(current), state, now, redelivered=redelivered)
        return self._record(current, attempt, decision)

    def _read(self, document: str, document_id: str) -> Document:
        if document == "invoice":
            return self.invoices.get(document_id)
        if document == "credit_note":
            return self.credit_notes.get(document_id)
        raise ValueError(f"cannot register a {document}")

    # ------------------------------------------------------------------ deciding
    def _decide(self, doc: Registrable, state: EInvoice, now: datetime, *, redelivered: bool) -> _Decision:
        try:
            payload = build_payload(doc)
            check_reporting_window(
                doc.date, ist_date(now), aato_above_10_crore=self.policy.aato_above_10_crore
            )
        except PayloadRuleError as refused:
            return self._failed(
                EInvoiceError(code=refused.rule, message=refused.message, kind=ErrorKind.VALIDATION)
            )
        unknown = state.unknown_outcome
        try:
            if unknown or redelivered:
                found = self._look_up(doc)
                if found is not None:
                    return self._link(doc, found)
                unknown = False  # looked up: the IRP does not hold it (or would answer 2150)
            return self._generated(self.irp.register(payload))
        except IrpDuplicate as duplicate:
            return self._duplicate(doc, duplicate, unknown)
        except IrpTimeout as timeout:
            return self._retry(timeout, unknown=True)
        except IrpUnavailable as unavailable:
            return self._retry(unavailable, unknown=unknown)
        except IrpRejected as rejected:
            return self._failed(
                EInvoiceError(code=rejected.code, message=rejected.message, kind=ErrorKind.VALIDATION)
            )

    def _look_up(self, doc: Registrable) -> RegisteredDocument | None:
        """The IRP's registration of ``doc`` if it holds one. A look-up it refuses (it keeps them
        only for a few days) is no answer: sending again is still safe, a holder answers 2150."""
        try:
            return self.irp.find(doc.doc_type, doc.number, doc.date)
        except IrpRejected as refused:
            logger.info("IRP look-up refused; sending", extra={"error_code": refused.code})
            return None

    def _duplicate(self, doc: Registrable, duplicate: IrpDuplicate, unknown: bool) -> _Decision:
        try:
            found = (
                self.irp.get(duplicate.irn)
                if duplicate.irn
                else self.irp.find(doc.doc_type, doc.number, doc.date)
            )
        except IrpUnavailable as unavailable:
            return self._retry(unavailable, unknown=unknown)
        except IrpError as refused:
            found = None
            reason = refused.message
        else:
            reason = "the IRP did not return it"
        if found is None:
            return self._failed(
                EInvoiceError(
                    code="2150",
                    message=(
                        f"Duplicate IRN: the IRP holds {doc.number}, but it could not be compared ({reason})."
                    ),
                    kind=ErrorKind.DUPLICATE_MISMATCH,
                )
            )
        return self._link(doc, found)

    def _link(self, doc: Registrable, found: RegisteredDocument) -> _Decision:
        """A registration the IRP already holds is ours only if buyer GSTIN and total match."""
        if (
            found.status == "active"
            and found.buyer_gstin == doc.buyer.gstin
            and found.total_paise == doc.amount
        ):
            return self._generated(found.registration)
        what = f"for buyer {found.buyer_gstin} and a total of {found.total_paise} paise"
        if found.status != "active":
            what = "as a cancelled IRN"
        return self._failed(
            EInvoiceError(
                code="2150",
                message=(
                    f"Duplicate IRN: the IRP already holds {doc.doc_type} {doc.number} {what}; this document "
                    f"is for buyer {doc.buyer.gstin} and {doc.amount} paise. It was not linked."
                ),
                kind=ErrorKind.DUPLICATE_MISMATCH,
            )
        )

    @staticmethod
    def _generated(registration: Registration) -> _Decision:
        return _Decision(Outcome.GENERATED, lambda state, now: state.generated(registration))

    @staticmethod
    def _failed(error: EInvoiceError) -> _Decision:
        return _Decision(Outcome.FAILED, lambda state, now: state.failed(error), error.code)

    def _retry(self, problem: IrpError, *, unknown: bool) -> _Decision:
        error = EInvoiceError(code=problem.code, message=problem.message[:1000], kind=ErrorKind.TRANSIENT)
        policy = self.policy

        def apply(state: EInvoice, now: datetime) -> EInvoice:
            if state.attempts + 1 >= policy.max_attempts:
                message = f"Gave up after {state.attempts + 1} attempts; the last: {error.message}"
                return state.failed(error.model_copy(update={"message": message[:1000]}))
            delay = backoff_delay(state.attempts + 1, policy.retry_base_seconds, policy.retry_cap_seconds)
            return state.retrying(error, now + timedelta(seconds=delay), unknown_outcome=unknown)

        return _Decision(Outcome.RETRYING, apply, problem.code)

    # ------------------------------------------------------------------ recording
    def _record(self, current: Document, attempt: int, decision: _Decision) -> Outcome:
        kind = kind_of(current)
        for tries in self.backoff.tries():
            if tries:
                current = self._read(kind, current.id)
            state = current.e_invoice
            if state is None or not state.awaiting or state.attempts != attempt:
                return Outcome.SKIPPED  # another delivery recorded this attempt first
            now = self.clock()
            new = decision.apply(state, now)
            change, after = revised(current, new, now)
            try:
                self.transactions.commit(
                    [change, *emit(after.account_id, self._effects(after, new, now), now)]
                )
            except ConflictError:
                continue
            outcome = _OUTCOMES.get(new.status, decision.outcome)
            logger.info(
                "E-invoice registration recorded",
                extra={
                    "document_id": current.id,
                    "type": kind,
                    "outcome": outcome.value,
                    "attempts": new.attempts,
                    "error_code": new.error.code if new.error else None,
                },
            )
            return outcome
        raise ConflictError(f"{current.id} kept changing; the e-invoice job will be retried.")

    @staticmethod
    def _effects(after: Document, new: EInvoice, now: datetime) -> list[Effect]:
        kind = kind_of(after)
        if new.status is EInvoiceStatus.RETRYING:
            assert new.next_attempt_at is not None
            delay = math.ceil((new.next_attempt_at - now).total_seconds())
            return [
                RegisterEInvoice(
                    document=kind,
                    document_id=after.id,
                    attempt=new.attempts,
                    delay_seconds=max(0, min(delay, MAX_QUEUE_DELAY_SECONDS)),
                )
            ]
        event = e_invoice_event(kind, after.id, after.account_id, number_of(after), new)
        if new.status is EInvoiceStatus.GENERATED:
            return [event, RenderDocument(document=kind, document_id=after.id, version=after.version)]
        return [event]


# ------------------------------------------------------------------------- the two documents
Document = Invoice | CreditNote


def kind_of(document: Document) -> DocumentKind:
    return "invoice" if isinstance(document, Invoice) else "credit_note"


def number_of(document: Document) -> str | None:
    return document.invoice_number if isinstance(document, Invoice) else document.credit_note_number


def registrable(document: Document) -> Registrable:
    return from_invoice(document) if isinstance(document, Invoice) else from_credit_note(document)


def revised(document: Document, new: EInvoice, now: datetime) -> tuple[Change, Document]:
    """The change that stores ``document`` with its e-invoice moved to ``new``, and the result."""
    if isinstance(document, Invoice):
        invoice = document.record_e_invoice(new, now)
        return SaveInvoice(document, invoice), invoice
    note = document.record_e_invoice(new, now)
    return ReviseCreditNote(document, note), note


_OUTCOMES = {
    EInvoiceStatus.GENERATED: Outcome.GENERATED,
    EInvoiceStatus.RETRYING: Outcome.RETRYING,
    EInvoiceStatus.FAILED: Outcome.FAILED,
}


# ---------------------------------------------------------------------------------- operators
@dataclass
class EInvoiceService:
    """What operators do: see registrations that need attention, re-queue a failed one."""

    invoices: InvoiceStore
    credit_notes: CreditNoteStore
    transactions: Transactions
    listing: EInvoiceStore
    clock: Clock

    def list(self, status: str, limit: int, cursor: str | None) -> Page[EInvoiceEntry]:
        """Invoices and credit notes whose e-invoice is in ``status``, newest change first."""
        if status not in {s.value for s in LISTED}:
            raise DomainValidationError(
                f"status must be one of {', '.join(sorted(s.value for s in LISTED))}.",
                [{"loc": ["query", "status"], "msg": "unsupported status"}],
            )
        return self.listing.e_invoice_page(status, limit, cursor)

    def retry(self, invoice_id: str) -> Invoice:
        """``failed`` → ``pending``, and the registration is queued again (after the commit)."""
        before = self.invoices.get(invoice_id)
        after = before.record_e_invoice(self._requeued(before), self.clock())
        self.transactions.commit(
            [
                SaveInvoice(before, after),
                *emit(after.account_id, invoice_effects(before, after), after.updated_at),
            ]
        )
        logger.info("E-invoice registration re-queued", extra={"invoice_id": invoice_id})
        return after

    def retry_credit_note(self, credit_note_id: str) -> CreditNote:
        """A credit note's ``failed`` registration → ``pending``, queued again after the commit."""
        try:
            before = self.credit_notes.get(credit_note_id)
        except NotFoundError:
            raise NotFoundError(f"No credit note {credit_note_id}.") from None
        now = self.clock()
        after = before.record_e_invoice(self._requeued(before), now)
        assert after.e_invoice is not None
        job = RegisterEInvoice(document="credit_note", document_id=after.id, attempt=after.e_invoice.attempts)
        self.transactions.commit([ReviseCreditNote(before, after), *emit(after.account_id, [job], now)])
        logger.info("E-invoice registration re-queued", extra={"credit_note_id": credit_note_id})
        return after

    @staticmethod
    def _requeued(document: Document) -> EInvoice:
        if document.e_invoice is None:
            status = document.status if isinstance(document, Invoice) else "issued"
            raise InvalidTransitionError(
                "retry the e-invoice of", status, f"{document.id} has no e-invoice to retry."
            )
        return document.e_invoice.requeued()


# ---------------------------------------------------------------------------------- cancelling
@dataclass
class IrnCancellation:
    """``CreditNoteService.cancel``'s hook: an IRN younger than 24 hours is cancelled at the IRP before
    our cancellation commits (an older one stays; the cancellation's credit note is registered as a
    CRN). Any refusal or failure of the IRP stops the cancellation here, with nothing changed."""

    irp: IrpClient
    clock: Clock

    def cancel_young_irn(self, invoice: Invoice) -> EInvoice | None:
        state = invoice.e_invoice
        now = self.clock()
        if state is None or not state.cancellable_at_irp(now):
            return None
        assert state.irn is not None
        try:
            cancelled_at = self.irp.cancel(state.irn, CANCEL_REASON_ORDER_CANCELLED, "order cancelled")
        except IrpUnavailable as exc:
            raise RetryableError(
                f"The IRP could not cancel IRN {state.irn[:12]}… ({exc.message}); nothing was changed, retry."
            ) from None
        except IrpError as exc:
            if exc.code != "9999":  # "invoice is not active": already cancelled there (a retry)
                raise InvalidTransitionError(
                    "cancel", invoice.status, f"The IRP refused to cancel the invoice's IRN: {exc.message}"
                ) from None
            cancelled_at = now
        logger.info("IRN cancelled at the IRP", extra={"invoice_id": invoice.id})
        return state.cancelled(cancelled_at)
