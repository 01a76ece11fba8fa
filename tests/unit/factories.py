"""Small builders for domain objects, shared by unit and integration tests.

Every builder returns a valid object with plain defaults; keyword overrides replace any field.
``NOW`` is a fixed instant (12:00 IST on 1 October 2026, financial year 2026-27).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from invoicing.domain.invoice import (
    Address,
    BillingPeriod,
    Customer,
    Dispute,
    Invoice,
    LineItem,
    Payment,
    Supplier,
)
from invoicing.domain.numbering import ist_date

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)

SUPPLIER_GSTIN = "27AAPFU0939F1ZV"  # state 27, Maharashtra
INTRA_STATE_GSTIN = "27AAPFU0939F1ZV"  # same state as the supplier
INTER_STATE_GSTIN = "24AABCJ1087G1ZT"  # state 24, Gujarat

DEFAULT_NUMBER = "INV/2627/000001"


def address(**overrides: Any) -> Address:
    data: dict[str, Any] = {
        "line1": "4th Floor, Example Towers",
        "city": "Pune",
        "state": "Maharashtra",
        "postal_code": "411001",
        "country": "IN",
    }
    return Address(**(data | overrides))


def supplier(**overrides: Any) -> Supplier:
    data: dict[str, Any] = {
        "name": "Example Cloud Pvt Ltd",
        "gstin": SUPPLIER_GSTIN,
        "state_code": "27",
        "address": address(),
    }
    return Supplier(**(data | overrides))


def customer(intra_state: bool = True, **overrides: Any) -> Customer:
    """A customer with a GSTIN in the supplier's state (intra-state) or in Gujarat (inter-state)."""
    gstin = INTRA_STATE_GSTIN if intra_state else INTER_STATE_GSTIN
    data: dict[str, Any] = {
        "name": "Acme Analytics LLP",
        "email": "billing@acme.example",
        "gstin": gstin,
        "state_code": gstin[:2],
        "address": address(
            city="Mumbai" if intra_state else "Ahmedabad",
            state="Maharashtra" if intra_state else "Gujarat",
            postal_code="400001" if intra_state else "380001",
        ),
    }
    return Customer(**(data | overrides))


def line(**overrides: Any) -> LineItem:
    """720 hours of a VM at ₹1.25 an hour: 90000 paise."""
    data: dict[str, Any] = {
        "resource_type": "vm",
        "resource_name": "vm-web-1",
        "description": "General purpose VM",
        "usage_start": datetime(2026, 9, 1, tzinfo=UTC),
        "usage_end": datetime(2026, 9, 30, 18, 29, tzinfo=UTC),
        "quantity": "720",
        "unit": "hour",
        "unit_rate": "1.25",
    }
    return LineItem(**(data | overrides))


def billing_period(start: date = date(2026, 9, 1), end: date = date(2026, 9, 30)) -> BillingPeriod:
    return BillingPeriod(start=start, end=end)


def draft(**overrides: Any) -> Invoice:
    """A draft for ``acc_1`` with one intra-state line; any ``Invoice.create_draft`` argument overrides."""
    data: dict[str, Any] = {
        "account_id": "acc_1",
        "supplier": supplier(),
        "customer": customer(),
        "billing_period": billing_period(),
        "line_items": [line()],
        "now": NOW,
    }
    return Invoice.create_draft(**(data | overrides))


def issued(
    invoice: Invoice | None = None,
    *,
    now: datetime = NOW,
    today: date | None = None,
    invoice_number: str = DEFAULT_NUMBER,
    reminder_days: Iterable[int] = (3, 7),
    grace_period_days: int = 7,
    **draft_overrides: Any,
) -> Invoice:
    """``invoice`` (or a fresh ``draft(**draft_overrides)``) issued at ``now``.

    ``today`` defaults to the IST date of ``now``.
    """
    if invoice is None:
        invoice = draft(**draft_overrides)
    elif draft_overrides:
        raise TypeError("pass either an invoice or draft overrides, not both")
    return invoice.issue(
        invoice_number=invoice_number,
        today=today or ist_date(now),
        now=now,
        reminder_days=reminder_days,
        grace_period_days=grace_period_days,
        payment_url="https://rzp.io/i/example",
        razorpay_invoice_id="inv_RzpExample0001",
    )


def payment(amount: int, payment_id: str = "pay_1", **overrides: Any) -> Payment:
    data: dict[str, Any] = {"id": payment_id, "amount": amount, "method": "upi", "paid_at": NOW}
    return Payment(**(data | overrides))


def dispute(dispute_id: str = "dsp_1", invoice_id: str = "inv_1", **overrides: Any) -> Dispute:
    data: dict[str, Any] = {
        "id": dispute_id,
        "invoice_id": invoice_id,
        "reason": "The VM was stopped for half of September.",
        "created_at": NOW,
    }
    return Dispute(**(data | overrides))
