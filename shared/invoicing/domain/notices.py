"""What a payment provider tells us (one webhook), in domain terms.

``adapters.razorpay_webhooks`` maps Razorpay's payloads onto these; ``services.payments`` acts on
them. Nothing here knows Razorpay's shapes.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from invoicing.domain.invoice import Payment


class NoticeKind(StrEnum):
    PAYMENT = "payment"  # payment.captured, invoice.paid, invoice.partially_paid, payment_link.paid
    EXPIRY = "expiry"  # invoice.expired, payment_link.expired
    FAILED_PAYMENT = "failed_payment"  # payment.failed
    REFUND = "refund"  # refund.processed, refund.failed
    UNHANDLED = "unhandled"  # an event type we do not act on
    UNREADABLE = "unreadable"  # a handled type whose payload we could not read


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class FailedPaymentAttempt(_Frozen):
    """A payment attempt that failed at the provider: recorded, never applied."""

    id: str = Field(min_length=1)
    amount: int = Field(ge=0)
    currency: str
    method: str
    error_code: str | None = None
    error_reason: str | None = None
    attempted_at: AwareDatetime


class RefundNotice(_Frozen):
    """The provider settled a refund: ``processed`` or ``failed``."""

    provider_refund_id: str
    payment_id: str
    amount: int = Field(ge=0)
    status: str  # processed | failed
    refund_id: str | None = None  # ours, echoed in the refund's notes
    invoice_id: str | None = None  # ours, echoed in the refund's notes


class PaymentNotice(_Frozen):
    """One provider notification in domain terms. ``event_id`` is the de-duplication key."""

    event_id: str = Field(min_length=1)
    event_type: str
    kind: NoticeKind
    occurred_at: AwareDatetime
    invoice_id: str | None = None  # ours, when the provider echoes it back (invoice notes)
    provider_invoice_id: str | None = None  # the provider's invoice id
    top_up_id: str | None = None  # ours, for a wallet top-up's payment link
    provider_link_id: str | None = None  # the provider's payment link id
    ours: bool = False  # the provider object carries our ids: we created it
    account_id: str | None = None  # ours, when the provider echoes it back
    payment: Payment | None = None
    payment_captured: bool = True
    failed_payment: FailedPaymentAttempt | None = None
    refund: RefundNotice | None = None
    problem: str | None = None  # why an UNREADABLE payload could not be read (locations only)
