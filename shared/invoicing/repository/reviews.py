"""What the webhook keeps besides invoices: review items and failed payment attempts.

Same single table as the invoices (``records`` documents the other keys):

- review item: ``REVIEW#{yyyy-mm}`` / ``{occurred_at}#{event_id}`` — a provider event that could not
  be applied (unknown invoice or event type, currency or amount mismatch, money for a closed
  invoice, ...), for a person to look at. The month partition keeps one month's items together
  and is read with one ``Query``. The key is derived from the event (its own timestamp and id),
  so a redelivered event finds its item already there instead of adding another.
- failed payment: ``INVOICE#{invoice_id}`` / ``PAYMENT_FAILED#{payment_id}`` — a payment attempt the
  provider reported as failed, next to the invoice it was meant for (no status change).

Both are written with ``attribute_not_exists``: writing the same thing twice is a no-op that
reports ``False``. Items hold ids, amounts, reasons and error codes only — never the payload, which
carries the customer's name, email, phone and VPA.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from invoicing.domain.reviews import FailedPaymentRecord, ReviewItem
from invoicing.repository import records
from invoicing.repository.table import Table, parse_ts, serialize, ts

REVIEW_PREFIX = "REVIEW#"
FAILED_PAYMENT_PREFIX = "PAYMENT_FAILED#"


def review_key(occurred_at: datetime, event_id: str) -> dict[str, str]:
    when = occurred_at.astimezone(UTC)
    return {"pk": review_partition(when.strftime("%Y-%m")), "sk": f"{ts(when)}#{event_id}"}


def review_partition(month: str) -> str:
    """``month`` is ``yyyy-mm`` (UTC)."""
    return f"{REVIEW_PREFIX}{month}"


def failed_payment_key(invoice_id: str, payment_id: str) -> dict[str, str]:
    return {"pk": records.invoice_key(invoice_id)["pk"], "sk": f"{FAILED_PAYMENT_PREFIX}{payment_id}"}


def review_to_item(item: ReviewItem) -> dict[str, Any]:
    """A review item as stored (no customer data: ids, amounts, reasons)."""
    return {
        **review_key(item.occurred_at, item.event_id),
        "entity": "review",
        "reason": item.reason,
        "message": item.message,
        "event_id": item.event_id,
        "event_type": item.event_type,
        "occurred_at": ts(item.occurred_at),
        "received_at": ts(item.received_at),
        "invoice_id": item.invoice_id,
        "razorpay_invoice_id": item.razorpay_invoice_id,
        "payment_id": item.payment_id,
        "amount": item.amount,
        "currency": item.currency,
        "top_up_id": item.top_up_id,
        "razorpay_payment_link_id": item.razorpay_payment_link_id,
    }


class DynamoReviewStore:
    """``services.ports.ReviewStore`` on the invoices table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    # ----------------------------------------------------------------- writes
    def add(self, item: ReviewItem) -> bool:
        """One conditional ``PutItem``; ``False`` if this event's item was already kept."""
        return self._table.put_new(review_to_item(item))

    def add_failed_payment(self, record: FailedPaymentRecord) -> bool:
        """One conditional ``PutItem``; ``False`` if that payment's failure was already recorded."""
        stored = {
            **failed_payment_key(record.invoice_id, record.payment_id),
            "entity": "failed_payment",
            "invoice_id": record.invoice_id,
            "payment_id": record.payment_id,
            "amount": record.amount,
            "currency": record.currency,
            "method": record.method,
            "error_code": record.error_code,
            "error_reason": record.error_reason,
            "attempted_at": ts(record.attempted_at),
            "event_id": record.event_id,
            "recorded_at": ts(record.recorded_at),
        }
        return self._table.put_new(stored)

    # ------------------------------------------------------------------ reads
    def in_month(self, month: str) -> list[ReviewItem]:
        """One month's review items (``yyyy-mm``), oldest first: one ``Query`` per page."""
        items = self._table.query_all(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=serialize({":pk": review_partition(month)}),
        )
        return [
            ReviewItem(
                reason=item["reason"],
                message=item["message"],
                event_id=item["event_id"],
                event_type=item["event_type"],
                occurred_at=parse_ts(item["occurred_at"]),
                received_at=parse_ts(item["received_at"]),
                invoice_id=item.get("invoice_id"),
                razorpay_invoice_id=item.get("razorpay_invoice_id"),
                payment_id=item.get("payment_id"),
                amount=item.get("amount"),
                currency=item.get("currency"),
                top_up_id=item.get("top_up_id"),
                razorpay_payment_link_id=item.get("razorpay_payment_link_id"),
            )
            for item in items
        ]

    def failed_payments(self, invoice_id: str) -> list[FailedPaymentRecord]:
        """An invoice's failed payment attempts: one ``Query`` per page."""
        items = self._table.query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialize(
                {":pk": records.invoice_key(invoice_id)["pk"], ":prefix": FAILED_PAYMENT_PREFIX}
            ),
        )
        return [
            FailedPaymentRecord(
                invoice_id=item["invoice_id"],
                payment_id=item["payment_id"],
                amount=item["amount"],
                currency=item["currency"],
                method=item["method"],
                attempted_at=parse_ts(item["attempted_at"]),
                event_id=item["event_id"],
                recorded_at=parse_ts(item["recorded_at"]),
                error_code=item.get("error_code"),
                error_reason=item.get("error_reason"),
            )
            for item in items
        ]
