"""The HTTP contract (api.md) as pydantic models, and the explicit mapping to and from the domain.

Requests reject unknown fields (422). Their shape is checked here; the domain's own rules (GSTIN
check digits, state codes, decimal strings, ordering of dates) run when a request is mapped to
domain objects, and a refusal there comes back as a 422 whose ``loc`` points into the body.

Responses: money is ``int`` paise, quantities and rates decimal strings, dates ``YYYY-MM-DD``,
timestamps ISO 8601 in UTC with ``Z``. Internal bookkeeping (``version``, the sweep's reminder
schedule, the dispute records) never leaves through them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    model_validator,
)

from invoicing.domain.errors import DomainValidationError
from invoicing.domain.invoice import (
    MAX_LINES,
    Address,
    BillingPeriod,
    Customer,
    Dispute,
    Invoice,
    LineItem,
)
from invoicing.domain.summary import AccountSummary

if TYPE_CHECKING:
    from invoicing.adapters.storage import DownloadLink
    from invoicing.repository.downloads import Download

T = TypeVar("T")


def utc_timestamp(value: datetime) -> str:
    """``2026-10-01T06:30:00Z``: UTC, with ``Z`` (microseconds only when there are any)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[AwareDatetime, PlainSerializer(utc_timestamp, return_type=str, when_used="json")]
Status = Literal["draft", "issued", "partially_paid", "overdue", "paid", "expired", "cancelled"]
ResourceType = Literal["pod", "vm", "storage", "network", "other"]
AccountId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
DecimalString = Annotated[
    str,
    StringConstraints(pattern=r"^[+-]?[0-9]+(\.[0-9]+)?$", max_length=40),
    Field(description='A decimal string such as "720", "0.5" or "0.013900" (up to 6 decimals).'),
]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,255}$")]
Text = Annotated[str, StringConstraints(max_length=2000)]


# ------------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------------
class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(_Request):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(default="IN", min_length=2, max_length=56)


class CustomerIn(_Request):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    gstin: str | None = Field(default=None, description="15-character GSTIN; null for unregistered buyers.")
    state_code: str = Field(description='Two-digit GST state code, e.g. "29".')
    address: AddressIn


class BillingPeriodIn(_Request):
    start: date
    end: date


class LineItemIn(_Request):
    """A line as the operator sends it; its ``amount`` is always computed (sending one is a 422)."""

    resource_type: ResourceType
    resource_name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    usage_start: AwareDatetime
    usage_end: AwareDatetime
    quantity: DecimalString
    unit: str = Field(min_length=1, max_length=32)
    unit_rate: DecimalString
    sac_code: str = Field(default="998315", pattern=r"^99\d{4}$")


class CreateInvoiceRequest(_Request):
    account_id: AccountId
    customer: CustomerIn
    billing_period: BillingPeriodIn
    line_items: list[LineItemIn] = Field(min_length=1, max_length=MAX_LINES)
    description: Text | None = None
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    partial_payment: bool = False
    expire_by: AwareDatetime | None = None
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


class PatchInvoiceRequest(_Request):
    """Only the fields sent change; ``null`` clears an optional text or the expiry.

    A draft takes any of them; an issued, partially paid or overdue invoice only ``notes``,
    ``terms``, ``expire_by`` and ``partial_payment``; a final one only ``notes`` (else 409).
    """

    customer: CustomerIn | None = None
    billing_period: BillingPeriodIn | None = None
    line_items: list[LineItemIn] | None = Field(default=None, min_length=1, max_length=MAX_LINES)
    description: Text | None = None
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    partial_payment: bool | None = None
    expire_by: AwareDatetime | None = None
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


class DisputeRequest(_Request):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]
    expected_correction: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = (
        None
    )


InvoiceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class DownloadRequest(_Request):
    invoice_ids: list[InvoiceId] = Field(
        min_length=1, max_length=100, description="1–100 distinct invoice ids; the ZIP holds one PDF each."
    )

    @model_validator(mode="after")
    def _distinct(self) -> DownloadRequest:
        seen: set[str] = set()
        for invoice_id in self.invoice_ids:
            if invoice_id in seen:
                raise ValueError(f"invoice_ids names {invoice_id} more than once")
            seen.add(invoice_id)
        return self


def _customer(value: CustomerIn) -> Customer:
    return _domain(lambda: Customer.model_validate(value.model_dump()), ("body", "customer"))


def _billing_period(value: BillingPeriodIn) -> BillingPeriod:
    return _domain(lambda: BillingPeriod.model_validate(value.model_dump()), ("body", "billing_period"))


def _lines(values: list[LineItemIn]) -> tuple[LineItem, ...]:
    return tuple(_line(line, index) for index, line in enumerate(values))


def _line(value: LineItemIn, index: int) -> LineItem:
    return _domain(lambda: LineItem.model_validate(value.model_dump()), ("body", "line_items", index))


def _domain(build: Callable[[], T], loc: tuple[str | int, ...]) -> T:
    """Build a domain value; its refusal becomes a 422 whose ``loc`` points into the request body."""
    try:
        return build()
    except ValidationError as exc:
        details = [
            {"loc": [*loc, *err["loc"]], "msg": validation_message(err)}
            for err in exc.errors(include_url=False)
        ]
        where = ".".join(str(part) for part in details[0]["loc"][1:])
        raise DomainValidationError(f"{where}: {details[0]['msg']}.", details) from None


def validation_message(error: dict[str, Any]) -> str:
    """pydantic's message without its "Value error, " prefix (the domain's own words follow it)."""
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


# ------------------------------------------------------------------------------------------------
# Responses
# ------------------------------------------------------------------------------------------------
class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class AddressOut(_Response):
    line1: str
    line2: str | None
    city: str
    state: str
    postal_code: str
    country: str

    @classmethod
    def from_domain(cls, address: Address) -> AddressOut:
        return cls(
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            state=address.state,
            postal_code=address.postal_code,
            country=address.country,
        )


class CustomerOut(_Response):
    name: str
    email: str
    gstin: str | None
    state_code: str
    address: AddressOut


class SupplierOut(_Response):
    name: str
    gstin: str
    state_code: str
    address: AddressOut


class BillingPeriodOut(_Response):
    start: date
    end: date


class LineItemOut(_Response):
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


class TaxOut(_Response):
    rate: str
    cgst: int
    sgst: int
    igst: int


class PaymentOut(_Response):
    id: str
    amount: int
    method: str
    paid_at: Timestamp


class InvoiceResponse(_Response):
    """The Invoice object of api.md."""

    id: str
    account_id: str
    invoice_number: str | None
    status: Status
    currency: Literal["INR"]
    date: date | None
    due_date: date | None
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
    amount_due: int
    payments: list[PaymentOut]
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
            billing_period=BillingPeriodOut(
                start=invoice.billing_period.start, end=invoice.billing_period.end
            ),
            description=invoice.description,
            customer=CustomerOut(
                name=customer.name,
                email=customer.email,
                gstin=customer.gstin,
                state_code=customer.state_code,
                address=AddressOut.from_domain(customer.address),
            ),
            supplier=SupplierOut(
                name=supplier.name,
                gstin=supplier.gstin,
                state_code=supplier.state_code,
                address=AddressOut.from_domain(supplier.address),
            ),
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
            amount_due=invoice.amount_due,
            payments=[
                PaymentOut(id=p.id, amount=p.amount, method=p.method, paid_at=p.paid_at)
                for p in invoice.payments
            ],
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
        )


class InvoiceSummaryRow(_Response):
    """One row of the list (api.md's InvoiceSummary)."""

    id: str
    invoice_number: str | None
    date: date | None
    due_date: date | None
    status: Status
    description: str | None
    billing_period: BillingPeriodOut
    amount: int
    amount_due: int
    currency: Literal["INR"]

    @classmethod
    def from_domain(cls, invoice: Invoice) -> InvoiceSummaryRow:
        return cls(
            id=invoice.id,
            invoice_number=invoice.invoice_number,
            date=invoice.date,
            due_date=invoice.due_date,
            status=invoice.status.value,
            description=invoice.description,
            billing_period=BillingPeriodOut(
                start=invoice.billing_period.start, end=invoice.billing_period.end
            ),
            amount=invoice.amount,
            amount_due=invoice.amount_due,
            currency=invoice.currency,
        )


class ListResponse(_Response):
    items: list[InvoiceSummaryRow]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class SummaryResponse(_Response):
    currency: Literal["INR"]
    total_paid: int
    total_pending: int
    total_overdue: int
    count_paid: int
    count_pending: int
    count_overdue: int

    @classmethod
    def from_domain(cls, summary: AccountSummary) -> SummaryResponse:
        return cls(
            currency=summary.currency,
            total_paid=summary.total_paid,
            total_pending=summary.total_pending,
            total_overdue=summary.total_overdue,
            count_paid=summary.count_paid,
            count_pending=summary.count_pending,
            count_overdue=summary.count_overdue,
        )


class PayResponse(_Response):
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


class DisputeResponse(_Response):
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


class PdfLinkResponse(_Response):
    url: str = Field(description="Presigned S3 GET (at most 15 minutes); saves as `filename`.")
    expires_at: Timestamp
    filename: str

    @classmethod
    def from_domain(cls, link: DownloadLink) -> PdfLinkResponse:
        return cls(url=link.url, expires_at=link.expires_at, filename=link.filename)


class RenderingResponse(_Response):
    status: Literal["rendering"] = "rendering"


class DownloadAcceptedResponse(_Response):
    id: str
    status: Literal["pending"] = "pending"


class DownloadResponse(_Response):
    id: str
    status: Literal["pending", "ready", "failed"]
    url: str | None = Field(description="The ZIP (presigned, at most 15 minutes) once ready; else null.")
    expires_at: Timestamp | None = Field(description="When `url` stops working; null without one.")
    count: int = Field(description="How many invoices (PDFs) the ZIP holds.")

    @classmethod
    def from_domain(cls, download: Download, link: DownloadLink | None) -> DownloadResponse:
        return cls(
            id=download.id,
            status=download.status.value,
            url=link.url if link else None,
            expires_at=link.expires_at if link else None,
            count=download.count,
        )


class ErrorDetail(_Response):
    loc: list[str | int]
    msg: str


class ErrorBody(_Response):
    code: str = Field(description="snake_case, e.g. not_found, invalid_state, validation_error")
    message: str = Field(description="One human sentence.")
    details: list[ErrorDetail]


class ErrorResponse(_Response):
    error: ErrorBody


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
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rupees(paise: int) -> str:
    """Paise as rupees with two decimals, for accountants: ``123450`` → ``"1234.50"``."""
    sign = "-" if paise < 0 else ""
    whole, fraction = divmod(abs(paise), 100)
    return f"{sign}{whole}.{fraction:02d}"


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab/CR) gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(invoice: Invoice) -> list[str]:
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
    return cells


def csv_export(invoices: Iterable[Invoice]) -> str:
    """The export: a header row, then one row per invoice (CRLF line ends, RFC 4180 quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for invoice in invoices:
        writer.writerow(csv_row(invoice))
    return buffer.getvalue()
