"""Payment use cases driven by the payment provider's notifications: record a payment, expire.

A notice (what one Razorpay webhook says, already mapped to domain terms by
``adapters.razorpay_webhooks``) takes effect at most once however often, and in whatever order, it
arrives:

- the domain decides: ``apply_payment`` refuses a payment id it already holds (``DuplicateError``)
  and any move out of a final status (``InvalidTransitionError``); the amount paid is the sum of the
  distinct payments recorded, never a total copied from the event;
- every transition is stored with ``repository.save`` — conditional on the stored status and
  version, money and summary in one transaction — so a replay after the idempotency record has
  expired, or the same payment reported by two event types, changes nothing. A stale version
  (someone else wrote in between) is retried here by reading the invoice again, a few times;
- what cannot be applied (unknown invoice, unknown event type, currency or amount mismatch, money
  for an invoice that can no longer take it) is answered ``ignored`` and kept as a review item;
- side effects (domain events, the PDF render job) follow the commit.

Transient failures (``RetryableError``, a ``ConflictError`` that outlived the retries) propagate:
the caller answers 5xx and Razorpay delivers the event again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    DuplicateError,
    InvalidTransitionError,
    NotFoundError,
)
from invoicing.domain.invoice import Invoice, InvoiceStatus, Payment
from invoicing.observability import logger
from invoicing.repository.invoices import InvoiceRepository
from invoicing.repository.reviews import FailedPaymentRecord, ReviewItem, ReviewRepository
from invoicing.services.ports import EventPublisher, RenderQueue

SAVE_ATTEMPTS = 3


class NoticeKind(StrEnum):
    PAYMENT = "payment"  # payment.captured, invoice.paid, invoice.partially_paid
    EXPIRY = "expiry"  # invoice.expired
    FAILED_PAYMENT = "failed_payment"  # payment.failed
    UNHANDLED = "unhandled"  # an event type we do not act on
    UNREADABLE = "unreadable"  # a handled type whose payload we could not read


class ReviewReason(StrEnum):
    UNKNOWN_INVOICE = "unknown_invoice"
    UNHANDLED_EVENT = "unhandled_event"
    UNREADABLE_PAYLOAD = "unreadable_payload"
    PROVIDER_INVOICE_MISMATCH = "provider_invoice_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    INVOICE_NOT_PAYABLE = "invoice_not_payable"
    PAYMENT_NOT_CAPTURED = "payment_not_captured"
    LATE_EXPIRY = "late_expiry"
    SIDE_EFFECTS_FAILED = "side_effects_failed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FailedPaymentAttempt(_Frozen):
    """A payment attempt that failed at the provider: recorded, never applied."""

    id: str = Field(min_length=1)
    amount: int = Field(ge=0)
    currency: str
    method: str
    error_code: str | None = None
    error_reason: str | None = None
    attempted_at: AwareDatetime


class PaymentNotice(_Frozen):
    """One provider notification in domain terms. ``event_id`` is the de-duplication key."""

    event_id: str = Field(min_length=1)
    event_type: str
    kind: NoticeKind
    occurred_at: AwareDatetime
    invoice_id: str | None = None  # ours, when the provider echoes it back (invoice notes)
    provider_invoice_id: str | None = None  # the provider's invoice id
    payment: Payment | None = None
    payment_captured: bool = True
    failed_payment: FailedPaymentAttempt | None = None
    problem: str | None = None  # why an UNREADABLE payload could not be read (locations only)


class OutcomeStatus(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class Outcome(_Frozen):
    """What a notice did. ``status`` is the answer; the rest is for logs and metrics."""

    status: OutcomeStatus
    invoice_id: str | None = None
    effect: str | None = None  # PaymentRecorded, InvoiceExpired, PaymentFailed
    reason: ReviewReason | None = None  # why it was ignored (and kept for review)

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


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PaymentService:
    repository: InvoiceRepository
    reviews: ReviewRepository
    events: EventPublisher | None = None
    renders: RenderQueue | None = None
    clock: Callable[[], datetime] = _utcnow
    attempts: int = SAVE_ATTEMPTS

    def handle(self, notice: PaymentNotice) -> Outcome:
        """Apply one notice. Raises only on transient failures (the caller answers 5xx)."""
        try:
            if notice.kind is NoticeKind.PAYMENT:
                return self.record_payment(notice)
            if notice.kind is NoticeKind.EXPIRY:
                return self.expire(notice)
            if notice.kind is NoticeKind.FAILED_PAYMENT:
                return self.record_failed_payment(notice)
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
        invoice = self._find(notice)
        if not notice.payment_captured:
            raise _Ignored(
                ReviewReason.PAYMENT_NOT_CAPTURED, f"Payment {payment.id} is not captured.", invoice
            )
        for attempt in range(self.attempts):
            if attempt:
                invoice = self.repository.get(invoice.id)
            try:
                after = invoice.apply_payment(payment, self.clock())
            except DuplicateError:
                return Outcome(status=OutcomeStatus.DUPLICATE, invoice_id=invoice.id)
            except InvalidTransitionError as exc:
                raise _Ignored(ReviewReason.INVOICE_NOT_PAYABLE, exc.message, invoice) from None
            except DomainValidationError as exc:
                raise _Ignored(_mismatch(exc), exc.message, invoice) from None
            if self._saved(invoice, after):
                events = ["InvoicePaid" if after.status is InvoiceStatus.PAID else "InvoicePartiallyPaid"]
                if after.status is InvoiceStatus.PAID and invoice.suspension_requested_at is not None:
                    events.append("ServiceRestorationRequested")
                self._after_commit(notice, after, events)
                logger.info(
                    "Payment recorded",
                    extra={"payment_id": payment.id, "amount": payment.amount, "status": after.status.value},
                )
                return Outcome(status=OutcomeStatus.PROCESSED, invoice_id=after.id, effect="PaymentRecorded")
        raise self._gave_up(invoice)

    def expire(self, notice: PaymentNotice) -> Outcome:
        invoice = self._find(notice)
        for attempt in range(self.attempts):
            if attempt:
                invoice = self.repository.get(invoice.id)
            if invoice.status is InvoiceStatus.EXPIRED:
                return Outcome(status=OutcomeStatus.DUPLICATE, invoice_id=invoice.id)
            try:
                after = invoice.expire(self.clock())
            except InvalidTransitionError as exc:
                # A late expiry never moves a paid (or cancelled) invoice backwards.
                raise _Ignored(ReviewReason.LATE_EXPIRY, exc.message, invoice) from None
            if self._saved(invoice, after):
                self._after_commit(notice, after, ["InvoiceExpired"])
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

    # ---------------------------------------------------------------- helpers
    def _find(self, notice: PaymentNotice) -> Invoice:
        """Our invoice: by our id when the provider echoes it, else through the provider's id."""
        try:
            if notice.invoice_id:
                invoice = self.repository.get(notice.invoice_id)
            elif notice.provider_invoice_id:
                invoice = self.repository.find_by_provider_invoice(notice.provider_invoice_id)
            else:
                raise NotFoundError("The event names no invoice.")
        except NotFoundError as exc:
            raise _Ignored(ReviewReason.UNKNOWN_INVOICE, exc.message) from None
        logger.append_keys(invoice_id=invoice.id)
        if (
            notice.provider_invoice_id
            and invoice.razorpay_invoice_id
            and invoice.razorpay_invoice_id != notice.provider_invoice_id
        ):
            raise _Ignored(
                ReviewReason.PROVIDER_INVOICE_MISMATCH,
                f"Invoice {invoice.id} is collected by {invoice.razorpay_invoice_id}, "
                f"not by {notice.provider_invoice_id}.",
                invoice,
            )
        return invoice

    def _saved(self, before: Invoice, after: Invoice) -> bool:
        """Store ``after``; ``False`` when someone else changed the invoice first (read again)."""
        try:
            self.repository.save(before, after)
        except ConflictError:
            logger.info("Invoice changed concurrently; reading it again", extra={"version": before.version})
            return False
        return True

    def _gave_up(self, invoice: Invoice) -> ConflictError:
        return ConflictError(
            f"Invoice {invoice.id} kept changing; gave up after {self.attempts} attempts (retry later)."
        )

    def _after_commit(self, notice: PaymentNotice, after: Invoice, events: list[str]) -> None:
        """Events and the render job follow the commit.

        The state change is committed and cannot be undone, and a redelivery of this event would
        find the transition already applied (``duplicate``), so failing here would not bring the
        effects back. A failure is therefore logged, counted and kept as a review item instead.
        """
        try:
            if self.events is not None:
                for name in events:
                    self.events.publish(name, after)
            if self.renders is not None:
                self.renders.enqueue(after)
        except Exception as exc:
            logger.exception("Side effects failed after commit", extra={"version": after.version})
            self._keep_for_review(
                notice,
                ReviewReason.SIDE_EFFECTS_FAILED,
                f"{', '.join(events)} or the render job of version {after.version} failed: "
                f"{type(exc).__name__}.",
                after,
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
        payment = notice.payment or notice.failed_payment
        return self.reviews.add(
            ReviewItem(
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
        )


def _mismatch(exc: DomainValidationError) -> ReviewReason:
    fields = {str(detail.get("loc", [""])[0]) for detail in exc.details}
    return ReviewReason.CURRENCY_MISMATCH if "currency" in fields else ReviewReason.AMOUNT_MISMATCH
