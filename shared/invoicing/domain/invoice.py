"""The invoice entity and its status machine.

Every transition is a method that returns a *new* ``Invoice`` (one ``version`` higher) or raises
``InvalidTransitionError`` naming the status. Services orchestrate; only this module decides which
transitions are legal. Money is ``int`` paise; ``Decimal`` appears only in quantities and rates.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from invoicing.domain import gst
from invoicing.domain.errors import DomainValidationError, DuplicateError, InvalidTransitionError
from invoicing.domain.numbering import ist_date

MAX_LINES = 50
_ID_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """``prefix`` + ``_`` + 14 random alphanumerics, e.g. ``inv_8fKq2LmZp0aB3c``."""
    return f"{prefix}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(14))


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    OVERDUE = "overdue"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({InvoiceStatus.PAID, InvoiceStatus.EXPIRED, InvoiceStatus.CANCELLED})
PAYABLE_STATUSES = frozenset({InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE})
PENDING_STATUSES = frozenset({InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID})

# The portal's filter values (api.md) onto stored statuses.
STATUS_FILTERS: dict[str, frozenset[InvoiceStatus]] = {
    "paid": frozenset({InvoiceStatus.PAID}),
    "pending": PENDING_STATUSES,
    "overdue": frozenset({InvoiceStatus.OVERDUE}),
    "cancelled": frozenset({InvoiceStatus.CANCELLED}),
    "expired": frozenset({InvoiceStatus.EXPIRED}),
    "draft": frozenset({InvoiceStatus.DRAFT}),
}

# Fields an operator may change, by status (api.md, PATCH /invoices/{id}).
DRAFT_FIELDS = frozenset(
    {
        "customer",
        "billing_period",
        "line_items",
        "description",
        "payment_terms_days",
        "partial_payment",
        "expire_by",
        "notes",
        "terms",
    }
)
OPEN_FIELDS = frozenset({"notes", "terms", "expire_by", "partial_payment"})
FINAL_FIELDS = frozenset({"notes"})


class ResourceType(StrEnum):
    POD = "pod"
    VM = "vm"
    STORAGE = "storage"
    NETWORK = "network"
    OTHER = "other"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Frozen):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(default="IN", min_length=2, max_length=56)


class Customer(_Frozen):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    gstin: str | None = None
    state_code: str
    address: Address

    @field_validator("gstin")
    @classmethod
    def _gstin(cls, value: str | None) -> str | None:
        return None if value in (None, "") else _as_value_error(gst.validate_gstin, value)

    @field_validator("state_code")
    @classmethod
    def _state(cls, value: str) -> str:
        return _as_value_error(gst.validate_state_code, value)

    @model_validator(mode="after")
    def _gstin_matches_state(self) -> Customer:
        if self.gstin and gst.gstin_state_code(self.gstin) != self.state_code:
            raise ValueError(
                f"state_code {self.state_code} does not match the GSTIN's state code "
                f"{gst.gstin_state_code(self.gstin)}"
            )
        return self


class Supplier(_Frozen):
    name: str = Field(min_length=1)
    gstin: str
    state_code: str
    address: Address

    @field_validator("gstin")
    @classmethod
    def _gstin(cls, value: str) -> str:
        return _as_value_error(gst.validate_gstin, value)

    @model_validator(mode="after")
    def _state_from_gstin(self) -> Supplier:
        if gst.gstin_state_code(self.gstin) != self.state_code:
            raise ValueError("supplier state_code must match its GSTIN")
        return self


class BillingPeriod(_Frozen):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> BillingPeriod:
        if self.start > self.end:
            raise ValueError("billing_period.start must be on or before billing_period.end")
        return self


class LineItem(_Frozen):
    resource_type: ResourceType
    resource_name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    usage_start: AwareDatetime
    usage_end: AwareDatetime
    quantity: Decimal
    unit: str = Field(min_length=1, max_length=32)
    unit_rate: Decimal
    sac_code: str = Field(default=gst.DEFAULT_SAC, pattern=r"^99\d{4}$")
    amount: int

    @model_validator(mode="before")
    @classmethod
    def _compute_amount(cls, data: Any) -> Any:
        """The amount is always derived: quantity × unit_rate in paise, half-up."""
        if isinstance(data, dict):
            data = dict(data)
            quantity = _decimal(data.get("quantity"), "quantity", places=6, positive=True)
            unit_rate = _decimal(data.get("unit_rate"), "unit_rate", places=6, positive=False)
            if unit_rate < 0:
                raise ValueError("unit_rate must not be negative")
            data["quantity"], data["unit_rate"] = quantity, unit_rate
            data["amount"] = gst.line_amount(quantity, unit_rate)
        return data

    @model_validator(mode="after")
    def _usage_ordered(self) -> LineItem:
        if self.usage_start > self.usage_end:
            raise ValueError("usage_start must be on or before usage_end")
        return self


class Payment(_Frozen):
    id: str = Field(min_length=1)
    amount: int = Field(gt=0)
    method: str = Field(min_length=1)
    paid_at: AwareDatetime
    currency: str = "INR"


class Dispute(_Frozen):
    id: str
    invoice_id: str
    status: Literal["open", "resolved"] = "open"
    reason: str = Field(min_length=10, max_length=2000)
    expected_correction: str | None = Field(default=None, max_length=2000)
    created_at: AwareDatetime


class Invoice(_Frozen):
    """One invoice, as the domain sees it. ``version`` grows by one with every change."""

    id: str
    account_id: str
    version: int = 1
    status: InvoiceStatus = InvoiceStatus.DRAFT
    invoice_number: str | None = None
    currency: Literal["INR"] = "INR"
    date: dt.date | None = None
    due_date: dt.date | None = None
    billing_period: BillingPeriod
    description: str | None = None
    customer: Customer
    supplier: Supplier
    place_of_supply: str
    line_items: tuple[LineItem, ...]
    taxable_amount: int
    tax: gst.TaxBreakdown
    amount: int
    amount_paid: int = 0
    payments: tuple[Payment, ...] = ()
    partial_payment: bool = False
    payment_terms_days: int = Field(default=15, ge=0, le=365)
    expire_by: AwareDatetime | None = None
    payment_url: str | None = None
    razorpay_invoice_id: str | None = None
    disputes: tuple[Dispute, ...] = ()
    # Sweep bookkeeping: the policy is snapshotted at issue so the schedule is derivable.
    reminder_days: tuple[int, ...] = ()
    grace_period_days: int | None = None
    reminders_sent: tuple[int, ...] = ()
    suspension_requested_at: AwareDatetime | None = None
    issued_at: AwareDatetime | None = None
    paid_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    expired_at: AwareDatetime | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    notes: str | None = None
    terms: str | None = None

    # ----------------------------------------------------------------- derived
    @property
    def amount_due(self) -> int:
        return self.amount - self.amount_paid

    @property
    def tax_amount(self) -> int:
        return self.tax.total

    @property
    def disputed(self) -> bool:
        return any(d.status == "open" for d in self.disputes)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def next_sweep_on(self) -> dt.date | None:
        """The first date (IST) on which the daily sweep has something to do for this invoice.

        ``None`` means the sweep never needs to look at it again: it leaves the sparse index.
        """
        if self.status not in PAYABLE_STATUSES or self.due_date is None:
            return None
        candidates: list[dt.date] = []
        if self.expire_by is not None:
            # The sweep runs once a day; the day after expire_by's IST date is surely past it.
            candidates.append(ist_date(self.expire_by) + timedelta(days=1))
        if self.status in PENDING_STATUSES:
            candidates.append(self.due_date + timedelta(days=1))
        elif not self.disputed:
            candidates += [
                self.due_date + timedelta(days=d) for d in self.reminder_days if d not in self.reminders_sent
            ]
            if self.grace_period_days is not None and self.suspension_requested_at is None:
                candidates.append(self.due_date + timedelta(days=self.grace_period_days))
        return min(candidates, default=None)

    # ------------------------------------------------------------ construction
    @classmethod
    def create_draft(
        cls,
        *,
        account_id: str,
        supplier: Supplier,
        customer: Customer,
        billing_period: BillingPeriod,
        line_items: Iterable[LineItem],
        now: datetime,
        invoice_id: str | None = None,
        description: str | None = None,
        payment_terms_days: int = 15,
        partial_payment: bool = False,
        expire_by: datetime | None = None,
        notes: str | None = None,
        terms: str | None = None,
    ) -> Invoice:
        _check_expire_by(expire_by, now)
        fields = {
            "customer": customer,
            "billing_period": billing_period,
            "line_items": tuple(line_items),
            "description": description,
            "payment_terms_days": payment_terms_days,
            "partial_payment": partial_payment,
            "expire_by": expire_by,
            "notes": notes,
            "terms": terms,
        }
        return cls(
            id=invoice_id or new_id("inv"),
            account_id=account_id,
            supplier=supplier,
            created_at=now,
            updated_at=now,
            **_priced(supplier, fields),
        )

    # ------------------------------------------------------------- transitions
    def revise(self, changes: dict[str, Any], now: datetime) -> Invoice:
        """PATCH: which fields may change depends on the status; totals follow the lines."""
        allowed = (
            DRAFT_FIELDS
            if self.status is InvoiceStatus.DRAFT
            else FINAL_FIELDS
            if self.is_final
            else OPEN_FIELDS
        )
        refused = sorted(set(changes) - allowed)
        if refused:
            raise InvalidTransitionError(
                "change",
                self.status,
                f"Cannot change {', '.join(refused)} of an invoice in status '{self.status}'.",
            )
        if "expire_by" in changes:
            _check_expire_by(changes["expire_by"], now)
        if self.status is InvoiceStatus.DRAFT:
            merged = {name: getattr(self, name) for name in DRAFT_FIELDS} | changes
            merged["line_items"] = tuple(merged["line_items"])
            return self._evolve(now, **_priced(self.supplier, merged))
        return self._evolve(now, **changes)

    def check_issuable(self, now: datetime) -> None:
        """Refuse early (before any call to the payment provider) what ``issue`` would refuse."""
        self._require("issue", {InvoiceStatus.DRAFT})
        if self.amount <= 0:
            raise DomainValidationError(
                "An invoice must have something to collect; its amount is 0.",
                [{"loc": ["line_items"], "msg": "the invoice total must be greater than 0"}],
            )
        if self.expire_by is not None and self.expire_by <= now:
            raise DomainValidationError(
                "expire_by is in the past; change it before issuing.",
                [{"loc": ["expire_by"], "msg": "must be in the future"}],
            )

    def issue(
        self,
        *,
        invoice_number: str,
        today: dt.date,
        now: datetime,
        reminder_days: Iterable[int] = (3, 7),
        grace_period_days: int = 7,
        razorpay_invoice_id: str | None = None,
        payment_url: str | None = None,
    ) -> Invoice:
        self.check_issuable(now)
        return self._evolve(
            now,
            status=InvoiceStatus.ISSUED,
            invoice_number=invoice_number,
            date=today,
            due_date=today + timedelta(days=self.payment_terms_days),
            issued_at=now,
            reminder_days=tuple(sorted(set(reminder_days))),
            grace_period_days=grace_period_days,
            razorpay_invoice_id=razorpay_invoice_id,
            payment_url=payment_url,
        )

    def attach_payment_link(self, razorpay_invoice_id: str, now: datetime) -> Invoice:
        """Remember the provider's (still unpayable, draft) invoice before it is issued there."""
        self._require("attach a payment link to", {InvoiceStatus.DRAFT})
        return self._evolve(now, razorpay_invoice_id=razorpay_invoice_id)

    def apply_payment(self, payment: Payment, now: datetime) -> Invoice:
        """Record a captured payment. A payment id already recorded raises ``DuplicateError``."""
        if any(p.id == payment.id for p in self.payments):
            raise DuplicateError(f"Payment {payment.id} is already recorded on invoice {self.id}.")
        self._require("record a payment on", PAYABLE_STATUSES)
        if payment.currency != self.currency:
            raise DomainValidationError(
                f"Payment {payment.id} is in {payment.currency}; the invoice is in {self.currency}.",
                [{"loc": ["currency"], "msg": "currency mismatch"}],
            )
        if payment.amount > self.amount_due:
            raise DomainValidationError(
                f"Payment {payment.id} of {payment.amount} paise exceeds the {self.amount_due} paise due.",
                [{"loc": ["amount"], "msg": "exceeds amount due"}],
            )
        paid = self.amount_paid + payment.amount
        if paid == self.amount:
            status, paid_at = InvoiceStatus.PAID, payment.paid_at
        elif not self.partial_payment:
            raise DomainValidationError(
                f"Partial payment {payment.id} on invoice {self.id}, which does not allow partial payments.",
                [{"loc": ["amount"], "msg": "partial payments are not enabled"}],
            )
        else:
            status = (
                InvoiceStatus.OVERDUE
                if self.status is InvoiceStatus.OVERDUE
                else InvoiceStatus.PARTIALLY_PAID
            )
            paid_at = None
        return self._evolve(
            now,
            status=status,
            amount_paid=paid,
            payments=(*self.payments, payment),
            paid_at=paid_at,
            payment_url=None if status is InvoiceStatus.PAID else self.payment_url,
        )

    def mark_overdue(self, today: dt.date, now: datetime) -> Invoice:
        self._require("mark overdue", PENDING_STATUSES)
        assert self.due_date is not None
        if self.due_date >= today:
            raise InvalidTransitionError(
                "mark overdue", self.status, f"Invoice {self.id} is not past its due date {self.due_date}."
            )
        return self._evolve(now, status=InvoiceStatus.OVERDUE)

    def record_reminder(self, day: int, now: datetime) -> Invoice:
        self._require("send a reminder for", {InvoiceStatus.OVERDUE})
        if day in self.reminders_sent:
            raise DuplicateError(f"Reminder for day {day} was already sent for invoice {self.id}.")
        if self.disputed:
            raise InvalidTransitionError(
                "send a reminder for", self.status, "Reminders are paused while a dispute is open."
            )
        return self._evolve(now, reminders_sent=tuple(sorted((*self.reminders_sent, day))))

    def request_suspension(self, now: datetime) -> Invoice:
        self._require("request suspension for", {InvoiceStatus.OVERDUE})
        if self.suspension_requested_at is not None:
            raise DuplicateError(f"Suspension was already requested for invoice {self.id}.")
        if self.disputed:
            raise InvalidTransitionError(
                "request suspension for", self.status, "Suspension is paused while a dispute is open."
            )
        return self._evolve(now, suspension_requested_at=now)

    def cancel(self, now: datetime) -> Invoice:
        self._require("cancel", {InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE})
        if self.amount_paid:
            raise InvalidTransitionError(
                "cancel", self.status, f"Cannot cancel invoice {self.id}: payments have been received."
            )
        return self._evolve(now, status=InvoiceStatus.CANCELLED, cancelled_at=now, payment_url=None)

    def expire(self, now: datetime) -> Invoice:
        self._require("expire", PAYABLE_STATUSES)
        return self._evolve(now, status=InvoiceStatus.EXPIRED, expired_at=now, payment_url=None)

    def open_dispute(self, dispute: Dispute, now: datetime) -> Invoice:
        self._require("dispute", PAYABLE_STATUSES)
        return self._evolve(now, disputes=(*self.disputes, dispute))

    def ensure_deletable(self) -> None:
        self._require("delete", {InvoiceStatus.DRAFT})

    # ----------------------------------------------------------------- helpers
    def _require(self, action: str, statuses: Iterable[InvoiceStatus]) -> None:
        if self.status not in set(statuses):
            raise InvalidTransitionError(action, self.status)

    def _evolve(self, now: datetime, **changes: Any) -> Invoice:
        data = self.model_dump() | changes | {"version": self.version + 1, "updated_at": now}
        return type(self).model_validate(data)

    @model_validator(mode="after")
    def _invariants(self) -> Invoice:
        if not 1 <= len(self.line_items) <= MAX_LINES:
            raise ValueError(f"an invoice has 1 to {MAX_LINES} line items")
        if not 0 <= self.amount_paid <= self.amount:
            raise ValueError("amount_paid must lie between 0 and amount")
        if sum(p.amount for p in self.payments) != self.amount_paid:
            raise ValueError("amount_paid must equal the sum of the recorded payments")
        return self


def _priced(supplier: Supplier, fields: dict[str, Any]) -> dict[str, Any]:
    """Fill place of supply, taxable value, tax and amount from the lines: one rule, one place."""
    lines: tuple[LineItem, ...] = fields["line_items"]
    if not 1 <= len(lines) <= MAX_LINES:
        raise DomainValidationError(
            f"An invoice has 1 to {MAX_LINES} line items; got {len(lines)}.",
            [{"loc": ["line_items"], "msg": f"must have 1 to {MAX_LINES} items"}],
        )
    customer: Customer = fields["customer"]
    place = gst.place_of_supply(customer.gstin, customer.state_code)
    taxable = sum(line.amount for line in lines)
    tax = gst.compute_tax(taxable, supplier.state_code, place)
    return fields | {
        "place_of_supply": place,
        "taxable_amount": taxable,
        "tax": tax,
        "amount": taxable + tax.total,
    }


def _check_expire_by(value: datetime | None, now: datetime) -> None:
    if value is not None and value.tzinfo is None:
        raise DomainValidationError(
            "expire_by must carry a time zone (use Z for UTC).",
            [{"loc": ["expire_by"], "msg": "must be a timestamp with a time zone"}],
        )
    if value is not None and value <= now:
        raise DomainValidationError(
            "expire_by must be in the future.", [{"loc": ["expire_by"], "msg": "must be in the future"}]
        )


def _decimal(value: Any, field: str, *, places: int, positive: bool) -> Decimal:
    if isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str):
        raise ValueError(f'{field} must be a decimal string such as "0.5"')
    return _as_value_error(gst.parse_decimal, value, field=field, max_places=places, positive=positive)


def _as_value_error(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Domain validators raise DomainValidationError; pydantic wants ValueError to build its details."""
    try:
        return fn(*args, **kwargs)
    except DomainValidationError as exc:
        raise ValueError(exc.message) from exc
