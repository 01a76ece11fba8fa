"""The invoice routes' contract (api.md, corrections.md) as pydantic models, and the explicit mapping
to and from the domain.

Requests reject unknown fields (422). Their shape is checked here; the domain's own rules (GSTIN
check digits, state codes, decimal strings, ordering of dates, magnitudes) run when a request is
mapped to domain objects, and a refusal there comes back as a 422 whose ``loc`` points into the body.

Responses: money is ``int`` paise, quantities and rates decimal strings, dates ``YYYY-MM-DD``,
timestamps ISO 8601 in UTC with ``Z``. Internal bookkeeping (``version``, the sweep's reminder
schedule, the dispute records) never leaves through them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from invoicing.contracts.common import (
    AccountId,
    DateIn,
    DecimalString,
    Request,
    Response,
    StrictBool,
    StrictInt,
    Text,
    Timestamp,
    TimestampIn,
    csv_cell,
    domain_value,
    rupees,
    utc_timestamp,
)
from invoicing.contracts.einvoices import EInvoiceOut
from invoicing.domain.gst import DEFAULT_SAC, SAC_PATTERN
from invoicing.domain.invoice import (
    EMAIL_PATTERN,
    MAX_MANUAL_LINES,
    STATUS_FILTERS,
    BillingPeriod,
    Customer,
    Dispute,
    Invoice,
    InvoiceStatus,
    LineItem,
)
from invoicing.domain.queries import InvoiceRow, ListQuery

Status = Literal["draft", "issued", "partially_paid", "overdue", "paid", "expired", "cancelled"]
ResourceType = Literal["pod", "vm", "storage", "network", "other"]


# ------------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------------
class AddressIn(Request):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(default="IN", min_length=2, max_length=56)


class CustomerIn(Request):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    gstin: str | None = Field(
        default=None,
        pattern=r"^[0-9]{2}[A-Za-z]{5}[0-9]{4}[A-Za-z][1-9A-Za-z][Zz][0-9A-Za-z]$",
        description="15-character GSTIN (format and mod-36 check digit are verified; its first two digits "
        "must equal state_code); null for unregistered buyers.",
    )
    state_code: str = Field(
        pattern=r"^(0[1-9]|[12][0-9]|3[0-8]|97)$", description='Two-digit GST state code, e.g. "29".'
    )
    address: AddressIn


class BillingPeriodIn(Request):
    start: DateIn
    end: DateIn


class LineItemIn(Request):
    """A line as the operator sends it; its ``amount`` is always computed (sending one is a 422)."""

    resource_type: ResourceType
    resource_name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    usage_start: TimestampIn
    usage_end: TimestampIn
    quantity: DecimalString = Field(description="Greater than zero; up to 12 digits and 6 decimals.")
    unit: str = Field(min_length=1, max_length=32)
    unit_rate: DecimalString
    sac_code: str = Field(default=DEFAULT_SAC, pattern=SAC_PATTERN)


class CreateInvoiceRequest(Request):
    account_id: AccountId
    customer: CustomerIn
    billing_period: BillingPeriodIn
    line_items: list[LineItemIn] = Field(min_length=1, max_length=MAX_MANUAL_LINES)
    description: Text | None = None
    payment_terms_days: StrictInt | None = Field(default=None, ge=0, le=365)
    partial_payment: StrictBool = False
    expire_by: TimestampIn | None = None
    notes: Text | None = None
    terms: Text | None = None

    def to_fields(self) -> dict[str, Any]:
        """The domain's ``create_draft`` arguments (without ``account_id``)."""
        fields: dict[str, Any] = {
            "customer": _customer(self.customer),
            "billing_period": _billing_period(self.billing_period),
            "line_items": _lines(self.line_items),
            "description": self.description,
            "partial_payment": self.partial_payment,
            "expire_by": self.expire_by,
            "notes": self.notes,
            "terms": self.terms,
        }
        if self.payment_terms_days is not None:
            fields["payment_terms_days"] = self.payment_terms_days
        return fields


class PatchInvoiceRequest(Request):
    """Only the fields sent change; ``null`` clears an optional text or the expiry.

    A draft takes any of them; an issued, partially paid or overdue invoice only ``notes``,
    ``terms``, ``expire_by`` and ``partial_payment``; a final one only ``notes`` (else 409).
    """

    customer: CustomerIn | None = None
    billing_period: BillingPeriodIn | None = None
    line_items: list[LineItemIn] | None = Field(default=None, min_length=1, max_length=MAX_MANUAL_LINES)
    description: Text | None = None
    payment_terms_days: StrictInt | None = Field(default=None, ge=0, le=365)
    partial_payment: StrictBool | None = None
    expire_by: TimestampIn | None = None
    notes: Text | None = None
    terms: Text | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> PatchInvoiceRequest:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in ("customer", "billing_period", "line_items", "payment_terms_days", "partial_payment"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def to_changes(self) -> dict[str, Any]:
        """The domain's ``revise`` changes: exactly the fields that were sent."""
        converters: dict[str, Callable[[Any], Any]] = {
            "customer": _customer,
            "billing_period": _billing_period,
            "line_items": _lines,
        }
        return {
            name: converters.get(name, lambda value: value)(getattr(self, name))
            for name in sorted(self.model_fields_set)
        }


_FILTERS = "|".join(STATUS_FILTERS)


class ListInvoicesQuery(Request):
    """The list's (and the CSV export's) query string."""

    status: str | None = Field(
        default=None,
        max_length=200,
        description="Comma-separated: paid, pending, overdue, cancelled, expired, draft (operators).",
        json_schema_extra={"pattern": f"^ *({_FILTERS})( *, *({_FILTERS}))* *$"},
    )
    date_from: DateIn | None = Field(default=None, alias="from", description="Issued on or after.")
    date_to: DateIn | None = Field(default=None, alias="to", description="Issued on or before.")
    q: str | None = Field(default=None, max_length=100, description="Invoice number or description.")
    account_id: AccountId | None = Field(
        default=None, description="Required for operators; a customer's own."
    )

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, raw: str | None) -> str | None:
        unknown = [v.strip() for v in (raw or "").split(",") if v.strip() and v.strip() not in STATUS_FILTERS]
        if unknown:
            raise ValueError(f"unknown status filter {unknown[0]!r}; use {', '.join(STATUS_FILTERS)}")
        return raw

    @field_validator("date_to")
    @classmethod
    def _range(cls, date_to: date | None, info: ValidationInfo) -> date | None:
        """A field's check, so the error points at ``to`` (a model's would name the route's parameter)."""
        date_from = info.data.get("date_from")
        if date_from and date_to and date_from > date_to:
            raise ValueError("`to` must be on or after `from`")
        return date_to

    def to_query(self, *, limit: int = 25, cursor: str | None = None) -> ListQuery:
        return ListQuery(
            account_id=self.account_id or "",
            statuses=_statuses(self.status),
            date_from=self.date_from,
            date_to=self.date_to,
            q=(self.q.strip() or None) if self.q else None,
            limit=limit,
            cursor=cursor,
        )


def _statuses(raw: str | None) -> frozenset[InvoiceStatus] | None:
    values = [value.strip() for value in (raw or "").split(",") if value.strip()]
    return frozenset().union(*(STATUS_FILTERS[value] for value in values)) if values else None


class DisputeRequest(Request):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]
    expected_correction: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = (
        None
    )


def _customer(value: CustomerIn) -> Customer:
    return to_customer(value, ("body", "customer"))


def to_customer(value: CustomerIn, loc: tuple[str | int, ...]) -> Customer:
    """A customer as the domain takes it (GSTIN checksum, state agreement), or a 422 at ``loc``."""
    return domain_value(lambda: Customer.model_validate(value.model_dump()), loc)


def _billing_period(value: BillingPeriodIn) -> BillingPeriod:
    return domain_value(lambda: BillingPeriod.model_validate(value.model_dump()), ("body", "billing_period"))


def _lines(values: list[LineItemIn]) -> tuple[LineItem, ...]:
    return tuple(_line(line, index) for index, line in enumerate(values))


def _line(value: LineItemIn, index: int) -> LineItem:
    return domain_value(lambda: LineItem.model_validate(value.model_dump()), ("body", "line_items", index))


# ------------------------------------------------------------------------------------------------
# Responses
# ------------------------------------------------------------------------------------------------
class AddressOut(Response):
    line1: str
    line2: str | None
    city: str
    state: str
    postal_code: str
    country: str


class CustomerOut(Response):
    name: str
    email: str
    gstin: str | None
    state_code: str
    address: AddressOut


class SupplierOut(Response):
    name: str
    gstin: str
    state_code: str
    address: AddressOut


class BillingPeriodOut(Response):
    start: date
    end: date


class LineItemOut(Response):
    resource_type: ResourceType
    resource_name: str
    description: str
    usage_start: Timestamp
    usage_end: Timestamp
    quantity: str
    unit: str
    unit_rate: str
    sac_code: str
    amount: int = Field(description="quantity × unit_rate in paise, rounded half-up")


class TaxOut(Response):
    rate: str
    cgst: int
    sgst: int
    igst: int


class PaymentOut(Response):
    id: str
    amount: int
    method: str
    paid_at: Timestamp
    receipts: list[str] = Field(description='For method "advance": the receipt vouchers drawn on.')


class CreditNoteRefOut(Response):
    id: str
    credit_note_number: str
    date: date
    amount: int


class RefundOut(Response):
    id: str
    payment_id: str
    amount: int
    reason: Literal["credit_note", "overpayment"]
    credit_note_id: str | None
    status: Literal["pending", "processed", "failed"]
    created_at: Timestamp


class InvoiceResponse(Response):
    """The Invoice object of api.md."""

    id: str
    account_id: str
    invoice_number: str | None
    status: Status
    currency: Literal["INR"]
    date: date | None
    due_date: dt.date | None  # dt: the field above hides the type
    billing_period: BillingPeriodOut
    description: str | None
    customer: CustomerOut
    supplier: SupplierOut
    place_of_supply: str
    line_items: list[LineItemOut]
    taxable_amount: int
    tax: TaxOut
    tax_amount: int
    amount: int
    amount_paid: int
    amount_refunded: int = Field(description="Money returned (or being returned) to the customer.")
    amount_credited: int = Field(description="The sum of the invoice's credit notes.")
    amount_due: int = Field(
        description="amount_paid - amount_refunded + amount_credited + amount_due == amount"
    )
    payments: list[PaymentOut]
    refunds: list[RefundOut]
    credit_notes: list[CreditNoteRefOut]
    origin: Literal["manual", "billing_run"]
    partial_payment: bool
    payment_terms_days: int
    expire_by: Timestamp | None
    payment_url: str | None
    razorpay_invoice_id: str | None
    disputed: bool
    issued_at: Timestamp | None
    paid_at: Timestamp | None
    cancelled_at: Timestamp | None
    expired_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    notes: str | None
    terms: str | None
    e_invoice: EInvoiceOut | None = Field(
        description="Registration with the IRP (einvoice.md); null for drafts."
    )

    @classmethod
    def from_domain(cls, invoice: Invoice) -> InvoiceResponse:
        customer, supplier = invoice.customer, invoice.supplier
        return cls(
            id=invoice.id,
            account_id=invoice.account_id,
            invoice_number=invoice.invoice_number,
            status=invoice.status.value,
            currency=invoice.currency,
            date=invoice.date,
            due_date=invoice.due_date,
            billing_period=BillingPeriodOut.of(invoice.billing_period),
            description=invoice.description,
            customer=CustomerOut.of(customer),
            supplier=SupplierOut.of(supplier),
            place_of_supply=invoice.place_of_supply,
            line_items=[
                LineItemOut(
                    resource_type=line.resource_type.value,
                    resource_name=line.resource_name,
                    description=line.description,
                    usage_start=line.usage_start,
                    usage_end=line.usage_end,
                    quantity=format(line.quantity, "f"),
                    unit=line.unit,
                    unit_rate=format(line.unit_rate, "f"),
                    sac_code=line.sac_code,
                    amount=line.amount,
                )
                for line in invoice.line_items
            ],
            taxable_amount=invoice.taxable_amount,
            tax=TaxOut(
                rate=invoice.tax.rate, cgst=invoice.tax.cgst, sgst=invoice.tax.sgst, igst=invoice.tax.igst
            ),
            tax_amount=invoice.tax_amount,
            amount=invoice.amount,
            amount_paid=invoice.amount_paid,
            amount_refunded=invoice.amount_refunded,
            amount_credited=invoice.amount_credited,
            amount_due=invoice.amount_due,
            payments=[
                PaymentOut(
                    id=p.id, amount=p.amount, method=p.method, paid_at=p.paid_at, receipts=list(p.receipts)
                )
                for p in invoice.payments
            ],
            refunds=[
                RefundOut(
                    id=r.id,
                    payment_id=r.payment_id,
                    amount=r.amount,
                    reason=r.reason.value,
                    credit_note_id=r.credit_note_id,
                    status=r.status.value,
                    created_at=r.created_at,
                )
                for r in invoice.refunds
            ],
            credit_notes=[
                CreditNoteRefOut(
                    id=c.id, credit_note_number=c.credit_note_number, date=c.date, amount=c.amount
                )
                for c in invoice.credit_notes
            ],
            origin=invoice.origin,
            partial_payment=invoice.partial_payment,
            payment_terms_days=invoice.payment_terms_days,
            expire_by=invoice.expire_by,
            payment_url=invoice.payment_url,
            razorpay_invoice_id=invoice.razorpay_invoice_id,
            disputed=invoice.disputed,
            issued_at=invoice.issued_at,
            paid_at=invoice.paid_at,
            cancelled_at=invoice.cancelled_at,
            expired_at=invoice.expired_at,
            created_at=invoice.created_at,
            updated_at=invoice.updated_at,
            notes=invoice.notes,
            terms=invoice.terms,
            e_invoice=EInvoiceOut.from_domain(invoice.e_invoice),
        )


class InvoiceSummaryRow(Response):
    """One row of the list (api.md's InvoiceSummary)."""

    id: str
    invoice_number: str | None
    date: date | None
    due_date: dt.date | None  # dt: the field above hides the type
    status: Status
    description: str | None
    billing_period: BillingPeriodOut
    amount: int
    amount_due: int
    currency: Literal["INR"]

    @classmethod
    def from_domain(cls, invoice: InvoiceRow) -> InvoiceSummaryRow:
        return cls(
            id=invoice.id,
            invoice_number=invoice.invoice_number,
            date=invoice.date,
            due_date=invoice.due_date,
            status=invoice.status.value,
            description=invoice.description,
            billing_period=BillingPeriodOut.of(invoice.billing_period),
            amount=invoice.amount,
            amount_due=invoice.amount_due,
            currency=invoice.currency,
        )


class ListResponse(Response):
    items: list[InvoiceSummaryRow]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class SummaryResponse(Response):
    currency: Literal["INR"]
    total_paid: int
    total_pending: int
    total_overdue: int
    count_paid: int
    count_pending: int
    count_overdue: int


class PayResponse(Response):
    invoice_id: str
    amount_due: int
    currency: Literal["INR"]
    payment_url: str | None = Field(description="Razorpay's hosted page: UPI, cards, net banking, wallets.")

    @classmethod
    def from_domain(cls, invoice: Invoice) -> PayResponse:
        return cls(
            invoice_id=invoice.id,
            amount_due=invoice.amount_due,
            currency=invoice.currency,
            payment_url=invoice.payment_url,
        )


class DisputeResponse(Response):
    id: str
    invoice_id: str
    status: Literal["open", "resolved"]
    reason: str
    expected_correction: str | None
    created_at: Timestamp

    @classmethod
    def from_domain(cls, dispute: Dispute) -> DisputeResponse:
        return cls(
            id=dispute.id,
            invoice_id=dispute.invoice_id,
            status=dispute.status,
            reason=dispute.reason,
            expected_correction=dispute.expected_correction,
            created_at=dispute.created_at,
        )


# ------------------------------------------------------------------------------------------------
# CSV export
# ------------------------------------------------------------------------------------------------
CSV_COLUMNS = (
    "invoice_number",
    "date",
    "due_date",
    "status",
    "billing_period_start",
    "billing_period_end",
    "description",
    "taxable_amount",
    "tax_amount",
    "amount",
    "amount_paid",
    "amount_due",
    "currency",
    "paid_at",
    "amount_credited",
    "amount_refunded",
)


def csv_row(invoice: InvoiceRow) -> list[str]:
    values: list[Any] = [
        invoice.invoice_number,
        invoice.date.isoformat() if invoice.date else None,
        invoice.due_date.isoformat() if invoice.due_date else None,
        invoice.status.value,
        invoice.billing_period.start.isoformat(),
        invoice.billing_period.end.isoformat(),
        invoice.description,
    ]
    cells = [csv_cell(value) for value in values]
    money = (
        invoice.taxable_amount,
        invoice.tax_amount,
        invoice.amount,
        invoice.amount_paid,
        invoice.amount_due,
    )
    cells += [rupees(amount) for amount in money]
    cells += [invoice.currency, utc_timestamp(invoice.paid_at) if invoice.paid_at else ""]
    cells += [rupees(invoice.amount_credited), rupees(invoice.amount_refunded)]
    return cells


def csv_lines(invoices: Iterable[InvoiceRow]) -> Iterator[str]:
    """The export, one CRLF-terminated line at a time (RFC 4180 quoting): a header, then a row each,
    made as the invoices arrive (never all rows at once)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(row: Iterable[str]) -> str:
        writer.writerow(row)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(CSV_COLUMNS)
    for invoice in invoices:
        yield line(csv_row(invoice))


def csv_export(invoices: Iterable[InvoiceRow]) -> str:
    """The whole export as one string (small exports)."""
    return "".join(csv_lines(invoices))
