"""What a person must look at: provider events that could not be applied as they came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ReviewReason(StrEnum):
    UNKNOWN_INVOICE = "unknown_invoice"
    UNKNOWN_LINK = "unknown_link"
    UNHANDLED_EVENT = "unhandled_event"
    UNREADABLE_PAYLOAD = "unreadable_payload"
    PROVIDER_INVOICE_MISMATCH = "provider_invoice_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    INVOICE_NOT_PAYABLE = "invoice_not_payable"
    PAYMENT_NOT_CAPTURED = "payment_not_captured"
    PAYMENT_HELD = "payment_held"  # captured for a draft whose issue was interrupted
    PAYMENT_REFUNDED = "payment_refunded"  # captured beyond what is due: refunded automatically
    LATE_EXPIRY = "late_expiry"
    UNKNOWN_REFUND = "unknown_refund"


@dataclass(frozen=True)
class ReviewItem:
    reason: str
    message: str
    event_id: str
    event_type: str
    occurred_at: datetime
    received_at: datetime
    invoice_id: str | None = None
    razorpay_invoice_id: str | None = None
    payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    top_up_id: str | None = None  # a wallet top-up's event
    razorpay_payment_link_id: str | None = None


@dataclass(frozen=True)
class FailedPaymentRecord:
    invoice_id: str
    payment_id: str
    amount: int
    currency: str
    method: str
    attempted_at: datetime
    event_id: str
    recorded_at: datetime
    error_code: str | None = None
    error_reason: str | None = None
