"""Payment use cases driven by the payment provider's notifications: payments, expiry, refunds.

A notice (what one Razorpay webhook says, already mapped to domain terms by
``adapters.razorpay_webhooks``) takes effect at most once however often, and in whatever order, it
arrives:

- the domain decides: ``apply_payment`` refuses a payment id it already holds (``DuplicateError``)
  and never moves a final invoice backwards; the amount paid is the sum of the distinct payments
  recorded, never a total copied from the event;
- every change is committed conditionally on the invoice's status and version, with the outbox
  message of its effects (events, the PDF, refunds), so a replay after the idempotency record has
  expired, or the same payment reported by two event types, changes nothing. A stale version
  (someone else wrote in between) is retried here, re-reading the invoice, with jittered backoff.

Money is never stranded. A captured payment is always accounted for:

- on a payable invoice it is recorded; what exceeds ``amount_due`` (an older link, say) is recorded
  with a refund of the excess, requested from the provider after the commit;
- on a paid, cancelled or expired invoice it is recorded and what it cannot settle is refunded;
- on an older payment link (replaced after a credit note) it is recorded like any other, and the
  current link is then made to collect the new balance (a ``Relink`` effect);
- for a draft whose issue was interrupted after Razorpay's invoice went live, it is *held* on the
  draft and applied by the issue that completes it;
- what cannot be recorded on any invoice of ours although we created the provider object (another
  currency, an invoice that no longer exists) is refunded in full.

Each of these that is not a plain payment is also kept for review and published as
``PaymentUnapplied``. What is not ours at all (an unknown invoice, an event type we do not handle)
is answered ``ignored`` and kept as a review item.

Transient failures (``RetryableError``, a ``ConflictError`` that outlived the retries) propagate:
the caller answers 5xx and Razorpay delivers the event again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from invoicing.domain.changes import Change, KeepReview, SaveInvoice
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    DuplicateError,
    InvalidTransitionError,
    NotFoundError,
)
from invoicing.domain.events import invoice_event
from invoicing.domain.invoice import PAYABLE_STATUSES, Invoice, InvoiceStatus, Payment, RefundStatus
from invoicing.domain.notices import NoticeKind, PaymentNotice
from invoicing.domain.outbox import Effect, PublishEvent, Relink, RequestRefund
from invoicing.domain.reviews import FailedPaymentRecord, ReviewItem, ReviewReason
from invoicing.observability import logger
from invoicing.services.ports import Clock, InvoiceStore, ReviewStore, Transactions
from invoicing.services.retry import Backoff


class OutcomeStatus(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class Outcome(BaseModel):
    """What a notice did. ``status`` is the answer; the rest is for logs and metrics."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    status: OutcomeStatus
    invoice_id: str | None = None
    effect: str | None = None  # PaymentRecorded, PaymentHeld, PaymentRefunded, InvoiceExpired, ...
    reason: ReviewReason | None = None  # why it was ignored or kept for review

    @property
    def metric(self) -> str:
        if self.status is OutcomeStatus.PROCESSED and self.effect:
            return self.effect
        return f"Webhook{self.status.value.title()}"


class _Ignored(Exception):
    def __init__(self, reason: ReviewReason, message: str, invoice: Invoice | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.invoice = invoice


@dataclass
class PaymentService:
    invoices: InvoiceStore
    transactions: Transactions
    reviews: ReviewStore
    clock: Clock
    backoff: Backoff

    def handle(self, notice: PaymentNotice) -> Outcome:
        """Apply one notice. Raises only on transient failures (the caller answers 5xx)."""
        try:
            if notice.kind is NoticeKind.PAYMENT:
                return self.record_payment(notice)
            if notice.kind is NoticeKind.EXPIRY:
                return self.expire(notice)
            if notice.kind is NoticeKind.FAILED_PAYMENT:
                return self.record_failed_payment(notice)
            if notice.kind is NoticeKind.REFUND:
                return self.settle_refund(notice)
            if notice.kind is NoticeKind.UNREADABLE:
                raise _Ignored(ReviewReason.UNREADABLE_PAYLOAD, notice.problem or "unreadable payload")
            raise _Ignored(ReviewReason.UNHANDLED_EVENT, f"Event type {notice.event_type} is not handled.")
        except _Ignored as ignored:
            return self._ignore(notice, ignored)

    # -------------------------------------------------------------- use cases
    def record_payment(self, notice: PaymentNotice) -> Outcome:
        payment = notice.payment
        if payment is None:  # pragma: no cover - the adapter marks such payloads unreadable
            raise _Ignored(ReviewReason.UNREADABLE_PAYLOAD, "The notice carries no payment.")
        if not notice.payment_captured:
            raise _Ignored(ReviewReason.PAYMENT_NOT_CAPTURED, f"Payment {payment.id} is not captured.")
        try:
            invoice = self._find(notice)
        except _Ignored as unknown:
            if notice.ours:  # we made that provider invoice, but there is no invoice to put it on
                return self._refund_unrecorded(notice, payment, unknown.reason, unknown.message)
            raise
        for attempt in self.backoff.tries():
            if attempt:
                invoice = self.invoices.get(invoice.id)
            try:
                if invoice.status is InvoiceStatus.DRAFT:
                    after = invoice.hold_payment(payment, self.clock())
                else:
                    after = invoice.apply_payment(payment, self.clock())
            except DuplicateError:
                return Outcome(status=OutcomeStatus.DUPLICATE, invoice_id=invoice.id)
            except InvalidTransitionError as exc:  # a draft with no link: cannot be completed
                return self._refund_unrecorded(notice, payment, ReviewReason.INVOICE_NOT_PAYABLE, exc.message)
            except DomainValidationError as exc:  # another currency: cannot be recorded
                return self._refund_unrecorded(notice, payment, ReviewReason.CURRENCY_MISMATCH, exc.message)
            outcome, effects = self._payment_effects(invoice, after, payment)
            if _on_another_link(notice, after):
                effects.append(Relink(invoice_id=after.id))
            if self._saved(invoice, after, effects, self._review_unless_plain(notice, outcome, after)):
                logger.info(
                    "Payment recorded",
                    extra={"payment_id": payment.id, "amount": payment.amount, "status": after.status.value},
                )
                return outcome
        raise self._gave_up(invoice)

    def expire(self, notice: PaymentNotice) -> Outcome:
        invoice = self._find(notice)
        for attempt in self.backoff.tries():
            if attempt:
                invoice = self.invoices.get(invoice.id)
            if invoice.status is InvoiceStatus.EXPIRED:
                return Outcome(status=OutcomeStatus.DUPLICATE, invoice_id=invoice.id)
            try:
                after = invoice.expire(self.clock())
            except InvalidTransitionError as exc:
                # A late expiry never moves a paid (or cancelled) invoice backwards.
                raise _Ignored(ReviewReason.LATE_EXPIRY, exc.message, invoice) from None
            if self._saved(invoice, after, invoice_effects(invoice, after, ["InvoiceExpired"])):
                logger.info("Invoice expired")
                return Outcome(status=OutcomeStatus.PROCESSED, invoice_id=after.id, effect="InvoiceExpired")
        raise self._gave_up(invoice)

    def record_failed_payment(self, notice: PaymentNotice) -> Outcome:
        attempt = notice.failed_payment
        if attempt is None:  # pragma: no cover - the adapter marks such payloads unreadable
            raise _Ignored(ReviewReason.UNREADABLE_PAYLOAD, "The notice carries no payment.")
        invoice = self._find(notice)
        written = self.reviews.add_failed_payment(
            FailedPaymentRecord(
                invoice_id=invoice.id,
                payment_id=attempt.id,
                amount=attempt.amount,
                currency=attempt.currency,
                method=attempt.method,
                error_code=attempt.error_code,
                error_reason=attempt.error_reason,
                attempted_at=attempt.attempted_at,
                event_id=notice.event_id,
                recorded_at=self.clock(),
            )
        )
        if not written:
            return Outcome(status=OutcomeStatus.DUPLICATE, invoice_id=invoice.id)
        logger.info("Failed payment recorded", extra={"payment_id": attempt.id})
        return Outcome(status=OutcomeStatus.PROCESSED, invoice_id=invoice.id, effect="PaymentFailed")

    def settle_refund(self, notice: PaymentNotice) -> Outcome:
        """``refund.processed`` / ``refund.failed``: the refund's status on its invoice, once."""
        refund = notice.refund
        if refund is None:  # pragma: no cover - the adapter marks such payloads unreadable
            raise _Ignored(ReviewReason.UNREADABLE_PAYLOAD, "The notice carries no refund.")
        if refund.refund_id is None or refund.invoice_id is None:
            raise _Ignored(
                ReviewReason.UNKNOWN_REFUND,
                f"Refund {refund.provider_refund_id} of payment {refund.payment_id} "
                "names no refund of an invoice.",
            )
        try:
            invoice = self.invoices.get(refund.invoice_id)
        except NotFoundError:
            raise _Ignored(ReviewReason.UNKNOWN_REFUND, f"No invoice {refund.invoice_id}.") from None
        logger.append_keys(invoice_id=invoice.id)
        status = RefundStatus.PROCESSED if refund.status == "processed" else RefundStatus.FAILED
        event = "RefundProcessed" if status is RefundStatus.PROCESSED else "RefundFailed"
        for attempt in self.backoff.tries():
            if attempt:
                invoice = self.invoices.get(invoice.id)
            try:
                after = invoice.settle_refund(
                    refund.refund_id,
                    status,
                    self.clock(),
                    razorpay_refund_id=refund.provider_refund_id,
                    failure_reason=None if status is RefundStatus.PROCESSED else "refund failed at Razorpay",
                )
            except DuplicateError:
                return Outcome(status=OutcomeStatus.DUPLICATE, invoice_id=invoice.id)
            except DomainValidationError as exc:
                raise _Ignored(ReviewReason.UNKNOWN_REFUND, exc.message, invoice) from None
            detail = {"refund_id": refund.refund_id, "amount": refund.amount, "payment_id": refund.payment_id}
            if self._saved(invoice, after, invoice_effects(invoice, after, [_event(event, after, detail)])):
                return Outcome(status=OutcomeStatus.PROCESSED, invoice_id=invoice.id, effect=event)
        raise self._gave_up(invoice)

    # ---------------------------------------------------------------- helpers
    def _payment_effects(
        self, before: Invoice, after: Invoice, payment: Payment
    ) -> tuple[Outcome, list[Effect]]:
        """What recording ``payment`` answers and sets off."""
        if after.status is InvoiceStatus.DRAFT:  # held for the issue that completes it
            unapplied = _event("PaymentUnapplied", after, _payment_detail(payment, "held", 0))
            outcome = Outcome(status=OutcomeStatus.PROCESSED, invoice_id=after.id, effect="PaymentHeld")
            return outcome, [unapplied]
        events: list[str | PublishEvent] = []
        if after.status is not before.status and after.status is InvoiceStatus.PAID:
            events.append("InvoicePaid")
            if before.suspension_requested_at is not None:
                events.append("ServiceRestorationRequested")
        elif after.status in PAYABLE_STATUSES and after.amount_due < before.amount_due:
            events.append("InvoicePartiallyPaid")  # a final invoice's balance changing is not a part payment
        refunded = after.amount_refunded - before.amount_refunded
        if refunded == payment.amount:
            events.append(_event("PaymentUnapplied", after, _payment_detail(payment, "refunded", refunded)))
        effect = "PaymentRefunded" if refunded == payment.amount else "PaymentRecorded"
        outcome = Outcome(status=OutcomeStatus.PROCESSED, invoice_id=after.id, effect=effect)
        return outcome, invoice_effects(before, after, events)

    def _review_unless_plain(self, notice: PaymentNotice, outcome: Outcome, invoice: Invoice) -> list[Change]:
        """A held or fully refunded payment is also kept for a person to look at."""
        if outcome.effect == "PaymentHeld":
            reason = ReviewReason.PAYMENT_HELD
            message = (
                f"Payment held on draft {invoice.id}: its issue was interrupted after Razorpay's invoice "
                "went live."
            )
        elif outcome.effect == "PaymentRefunded":
            reason = ReviewReason.PAYMENT_REFUNDED
            message = f"Invoice {invoice.id} ({invoice.status}) could not take the payment; refunded in full."
        else:
            return []
        return [KeepReview(self._review_item(notice, reason, message, invoice))]

    def _refund_unrecorded(
        self, notice: PaymentNotice, payment: Payment, reason: ReviewReason, message: str
    ) -> Outcome:
        """A captured payment for a provider object we created that no invoice of ours can record:
        refund it in full, keep it for review and publish ``PaymentUnapplied``, in one commit."""
        refund_id = "rfd_" + payment.id.removeprefix("pay_")  # stable: a redelivery refunds nothing more
        account = notice.account_id or "unknown"
        detail = _payment_detail(payment, "refunded", payment.amount) | {
            "invoice_id": notice.invoice_id,
            "account_id": account,
            "reason": reason.value,
        }
        effects: list[Effect] = [
            RequestRefund(refund_id=refund_id, payment_id=payment.id, amount=payment.amount),
            PublishEvent(detail_type="PaymentUnapplied", detail=detail),
        ]
        review = self._review_item(notice, reason, f"{message} Refunded in full.", None)
        self.transactions.commit([KeepReview(review), *emit(account, effects, self.clock())])
        logger.info("Unapplied payment refunded", extra={"payment_id": payment.id, "reason": reason.value})
        return Outcome(
            status=OutcomeStatus.PROCESSED,
            invoice_id=notice.invoice_id,
            effect="PaymentRefunded",
            reason=reason,
        )

    def _find(self, notice: PaymentNotice) -> Invoice:
        """Our invoice: by our id when the provider echoes it, else through the provider's id."""
        try:
            if notice.invoice_id:
                invoice = self.invoices.get(notice.invoice_id)
            elif notice.provider_invoice_id:
                invoice = self.invoices.find_by_provider_invoice(notice.provider_invoice_id)
            else:
                raise NotFoundError("The event names no invoice.")
        except NotFoundError as exc:
            raise _Ignored(ReviewReason.UNKNOWN_INVOICE, exc.message) from None
        logger.append_keys(invoice_id=invoice.id)
        if (
            notice.provider_invoice_id
            and invoice.razorpay_invoice_id
            and invoice.razorpay_invoice_id != notice.provider_invoice_id
            and notice.kind is not NoticeKind.PAYMENT
        ):
            raise _Ignored(
                ReviewReason.PROVIDER_INVOICE_MISMATCH,
                f"Invoice {invoice.id} is collected by {invoice.razorpay_invoice_id}, "
                f"not by {notice.provider_invoice_id}.",
                invoice,
            )
        return invoice

    def _saved(
        self, before: Invoice, after: Invoice, effects: list[Effect], extra: list[Change] | None = None
    ) -> bool:
        """Commit ``after`` with its effects; ``False`` when someone else changed the invoice first."""
        changes: list[Change] = [
            SaveInvoice(before, after),
            *emit(after.account_id, effects, self.clock()),
            *(extra or []),
        ]
        try:
            self.transactions.commit(changes)
        except ConflictError:
            logger.info("Invoice changed concurrently; reading it again", extra={"version": before.version})
            return False
        return True

    def _gave_up(self, invoice: Invoice) -> ConflictError:
        return ConflictError(
            f"Invoice {invoice.id} kept changing; gave up after {self.backoff.attempts} attempts "
            "(retry later)."
        )

    def _ignore(self, notice: PaymentNotice, ignored: _Ignored) -> Outcome:
        invoice = ignored.invoice
        logger.info("Webhook ignored", extra={"reason": ignored.reason.value})
        new = self._keep_for_review(notice, ignored.reason, ignored.message, invoice)
        return Outcome(
            status=OutcomeStatus.IGNORED if new else OutcomeStatus.DUPLICATE,
            invoice_id=invoice.id if invoice else None,
            reason=ignored.reason,
        )

    def _keep_for_review(
        self, notice: PaymentNotice, reason: ReviewReason, message: str, invoice: Invoice | None
    ) -> bool:
        return self.reviews.add(self._review_item(notice, reason, message, invoice))

    def _review_item(
        self, notice: PaymentNotice, reason: ReviewReason, message: str, invoice: Invoice | None
    ) -> ReviewItem:
        payment = notice.payment or notice.failed_payment
        return ReviewItem(
            reason=reason.value,
            message=message,
            event_id=notice.event_id,
            event_type=notice.event_type,
            occurred_at=notice.occurred_at,
            received_at=self.clock(),
            invoice_id=invoice.id if invoice else notice.invoice_id,
            razorpay_invoice_id=notice.provider_invoice_id,
            payment_id=payment.id if payment else None,
            amount=payment.amount if payment else None,
            currency=payment.currency if payment else None,
        )


def _on_another_link(notice: PaymentNotice, invoice: Invoice) -> bool:
    """A payment on an older payment link (replaced after a credit note): the current one may no
    longer collect the balance (``Relink`` converges it, after the commit)."""
    return (
        invoice.status is not InvoiceStatus.DRAFT
        and notice.provider_invoice_id is not None
        and invoice.razorpay_invoice_id is not None
        and notice.provider_invoice_id != invoice.razorpay_invoice_id
    )


def _payment_detail(payment: Payment, disposition: str, refunded: int) -> dict[str, object]:
    return {
        "payment_id": payment.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "disposition": disposition,  # held | refunded
        "refunded": refunded,
    }


def _event(detail_type: str, invoice: Invoice, extra: dict[str, object]) -> PublishEvent:
    return invoice_event(detail_type, invoice, **extra)
