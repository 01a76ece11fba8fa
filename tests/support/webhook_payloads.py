"""Razorpay's webhook payloads for a seeded invoice: Razorpay's own samples (``razorpay_samples/``,
copied unchanged from Razorpay's documentation) with the ids, amounts and notes of one of our invoices.

The handler's tests (``tests/integration/webhook``) sign and deliver them; the service tests
(``tests/services/test_webhook_notices.py``)
read them with the adapter's ``parse_notice``, as the handler does, and hand the notice to the service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from invoicing.domain.invoice import Invoice
from tests.unit.factories import NOW

SAMPLES = Path(__file__).with_name("razorpay_samples")
EVENT_CREATED_AT = int(NOW.timestamp())


def sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / f"razorpay-webhook-{name}.json").read_text())
    return document


# ----------------------------------------------------------------------------- payload builders
def payment_entity(
    document: dict[str, Any],
    *,
    payment_id: str,
    amount: int,
    razorpay_invoice_id: str | None,
    method: str = "upi",
    currency: str = "INR",
) -> None:
    entity = document["payload"]["payment"]["entity"]
    entity.update(
        id=payment_id,
        amount=amount,
        currency=currency,
        method=method,
        invoice_id=razorpay_invoice_id,
        created_at=EVENT_CREATED_AT,
    )


def invoice_entity(
    document: dict[str, Any], *, razorpay_invoice_id: str, invoice_id: str | None, amount: int | None = None
) -> None:
    entity = document["payload"]["invoice"]["entity"]
    entity["id"] = razorpay_invoice_id
    entity["notes"] = {"invoice_id": invoice_id} if invoice_id else []
    if amount is not None:
        entity["amount"] = amount


def payment_captured(invoice: Invoice, payment_id: str, amount: int, **options: Any) -> dict[str, Any]:
    document = sample("payment-captured")
    payment_entity(
        document,
        payment_id=payment_id,
        amount=amount,
        razorpay_invoice_id=options.pop("razorpay_invoice_id", invoice.razorpay_invoice_id),
        **options,
    )
    document["created_at"] = EVENT_CREATED_AT
    return document


def invoice_paid(
    invoice: Invoice,
    payment_id: str,
    amount: int,
    *,
    partially: bool = False,
    with_notes: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """``invoice.paid`` (or ``invoice.partially_paid``) carrying the payment that triggered it."""
    document = sample("invoice-partially-paid" if partially else "invoice-paid")
    assert invoice.razorpay_invoice_id
    invoice_entity(
        document,
        razorpay_invoice_id=invoice.razorpay_invoice_id,
        invoice_id=invoice.id if with_notes else None,
        amount=invoice.amount,
    )
    payment_entity(
        document,
        payment_id=payment_id,
        amount=amount,
        razorpay_invoice_id=invoice.razorpay_invoice_id,
        **options,
    )
    document["created_at"] = EVENT_CREATED_AT
    return document


def invoice_expired(invoice: Invoice, *, with_notes: bool = True) -> dict[str, Any]:
    document = sample("invoice-expired")
    assert invoice.razorpay_invoice_id
    invoice_entity(
        document,
        razorpay_invoice_id=invoice.razorpay_invoice_id,
        invoice_id=invoice.id if with_notes else None,
    )
    document["created_at"] = EVENT_CREATED_AT
    return document


def payment_failed(invoice: Invoice, payment_id: str, amount: int) -> dict[str, Any]:
    document = sample("payment-failed")
    payment_entity(
        document, payment_id=payment_id, amount=amount, razorpay_invoice_id=invoice.razorpay_invoice_id
    )
    document["payload"]["payment"]["entity"]["method"] = "wallet"
    document["created_at"] = EVENT_CREATED_AT
    return document
