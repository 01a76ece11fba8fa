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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from invoicing.repository import records
from invoicing.repository.errors import error_code, translate_client_error

REVIEW_PREFIX = "REVIEW#"
FAILED_PAYMENT_PREFIX = "PAYMENT_FAILED#"


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


def review_key(occurred_at: datetime, event_id: str) -> dict[str, str]:
    when = occurred_at.astimezone(UTC)
    return {"pk": review_partition(when.strftime("%Y-%m")), "sk": f"{_ts(when)}#{event_id}"}


def review_partition(month: str) -> str:
    """``month`` is ``yyyy-mm`` (UTC)."""
    return f"{REVIEW_PREFIX}{month}"


def failed_payment_key(invoice_id: str, payment_id: str) -> dict[str, str]:
    return {"pk": records.invoice_key(invoice_id)["pk"], "sk": f"{FAILED_PAYMENT_PREFIX}{payment_id}"}


class ReviewRepository:
    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    # ----------------------------------------------------------------- writes
    def add(self, item: ReviewItem) -> bool:
        """One conditional ``PutItem``; ``False`` if this event's item was already kept."""
        stored = {
            **review_key(item.occurred_at, item.event_id),
            "entity": "review",
            "reason": item.reason,
            "message": item.message,
            "event_id": item.event_id,
            "event_type": item.event_type,
            "occurred_at": _ts(item.occurred_at),
            "received_at": _ts(item.received_at),
            "invoice_id": item.invoice_id,
            "razorpay_invoice_id": item.razorpay_invoice_id,
            "payment_id": item.payment_id,
            "amount": item.amount,
            "currency": item.currency,
        }
        return self._put_new(stored)

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
            "attempted_at": _ts(record.attempted_at),
            "event_id": record.event_id,
            "recorded_at": _ts(record.recorded_at),
        }
        return self._put_new(stored)

    # ------------------------------------------------------------------ reads
    def in_month(self, month: str) -> list[ReviewItem]:
        """One month's review items (``yyyy-mm``), oldest first: one ``Query`` per page."""
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=records.serialize({":pk": review_partition(month)}),
        )
        return [
            ReviewItem(
                reason=item["reason"],
                message=item["message"],
                event_id=item["event_id"],
                event_type=item["event_type"],
                occurred_at=_parse_ts(item["occurred_at"]),
                received_at=_parse_ts(item["received_at"]),
                invoice_id=item.get("invoice_id"),
                razorpay_invoice_id=item.get("razorpay_invoice_id"),
                payment_id=item.get("payment_id"),
                amount=item.get("amount"),
                currency=item.get("currency"),
            )
            for item in items
        ]

    def failed_payments(self, invoice_id: str) -> list[FailedPaymentRecord]:
        """An invoice's failed payment attempts: one ``Query`` per page."""
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=records.serialize(
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
                attempted_at=_parse_ts(item["attempted_at"]),
                event_id=item["event_id"],
                recorded_at=_parse_ts(item["recorded_at"]),
                error_code=item.get("error_code"),
                error_reason=item.get("error_reason"),
            )
            for item in items
        ]

    # ---------------------------------------------------------------- helpers
    def _put_new(self, item: dict[str, Any]) -> bool:
        plain = {key: value for key, value in item.items() if value is not None}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=records.serialize(plain),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translate_client_error(exc) from exc
        return True

    def _query(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            try:
                page = self._client.query(
                    TableName=self._table, **params, **({"ExclusiveStartKey": start} if start else {})
                )
            except ClientError as exc:
                raise translate_client_error(exc) from exc
            items += [records.deserialize(raw) for raw in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
