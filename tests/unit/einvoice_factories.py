"""Builders for e-invoicing tests: B2B invoices (intra- and inter-state) and their credit notes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from invoicing.domain.credit_notes import CreditNote, CreditReason, CreditRequest, plan_credit
from invoicing.domain.einvoice import EInvoice, EInvoiceStatus
from invoicing.domain.invoice import Address, BillingPeriod, Customer, Invoice, LineItem, Supplier

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)  # 12:00 IST, FY 2026-27
SUPPLIER_GSTIN = "27AAPFU0939F1ZV"  # Maharashtra
INTRA_BUYER_GSTIN = "27AABCV1234K1ZD"  # another Maharashtra business
INTER_BUYER_GSTIN = "24AABCJ1087G1ZT"  # Gujarat
KARNATAKA_BUYER_GSTIN = "29AABCK4321M1ZE"


def supplier() -> Supplier:
    return Supplier(
        name="Example Cloud Pvt Ltd",
        gstin=SUPPLIER_GSTIN,
        state_code="27",
        address=Address(
            line1="4th Floor, Baner Tech Park", line2="Baner Road", city="Pune", state="Maharashtra",
            postal_code="411045",
        ),
    )  # fmt: skip


def buyer(gstin: str | None = INTRA_BUYER_GSTIN, **overrides: Any) -> Customer:
    state = gstin[:2] if gstin else overrides.pop("state_code", "27")
    data: dict[str, Any] = {
        "name": "Vyom Analytics LLP",
        "email": "accounts@vyom.example",
        "gstin": gstin,
        "state_code": state,
        "address": Address(line1="12 FC Road", city="Pune", state="Maharashtra", postal_code="411004"),
    }
    return Customer(**(data | overrides))


def lines(amounts_rupees: list[str], *, quantity: str = "1") -> tuple[LineItem, ...]:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    return tuple(
        LineItem(
            resource_type="vm",
            resource_name=f"vm-{index + 1}",
            description="GPU compute",
            usage_start=start,
            usage_end=start + timedelta(days=29),
            quantity=quantity,
            unit="hour",
            unit_rate=rate,
        )
        for index, rate in enumerate(amounts_rupees)
    )


def issued(
    *,
    gstin: str | None = INTRA_BUYER_GSTIN,
    line_items: tuple[LineItem, ...] | None = None,
    number: str = "INV/2627/000042",
    today: date = date(2026, 10, 1),
    now: datetime = NOW,
    e_invoice: EInvoice | None = None,
    invoice_id: str = "inv_einv000000001",
    account_id: str = "acc_1",
) -> Invoice:
    draft = Invoice.create_draft(
        account_id=account_id,
        supplier=supplier(),
        customer=buyer(gstin),
        billing_period=BillingPeriod(start=date(2026, 9, 1), end=date(2026, 9, 30)),
        line_items=line_items or lines(["900", "45.50"]),
        now=now - timedelta(hours=1),
        invoice_id=invoice_id,
    )
    return draft.issue(
        invoice_number=number,
        today=today,
        now=now,
        e_invoice=e_invoice or EInvoice(status=EInvoiceStatus.PENDING),
    )


def credit_note_of(
    invoice: Invoice,
    amounts: list[int],
    *,
    number: str = "CN/2627/000007",
    note_id: str = "cn_einv000000001",
    days_later: int = 5,
    e_invoice: EInvoice | None = None,
) -> CreditNote:
    """A credit note of ``amounts`` taxable paise on the invoice's first lines, as the credit-notes
    domain plans it (``days_later`` than the invoice); its e-invoice ``pending`` unless given."""
    assert invoice.date is not None
    request = CreditRequest(
        reason=CreditReason.EXCESS_CHARGED,
        description="Hours billed while the VM was stopped.",
        lines=tuple(enumerate(amounts)),
    )
    planned = plan_credit(
        invoice,
        request,
        note_id=note_id,
        credit_note_number=number,
        today=invoice.date + timedelta(days=days_later),
        now=NOW + timedelta(days=days_later),
    ).note
    return planned.model_copy(update={"e_invoice": e_invoice or EInvoice(status=EInvoiceStatus.PENDING)})
