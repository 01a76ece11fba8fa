"""The invoice entity and its status machine.

Every transition is a method that returns a *new* ``Invoice`` (one ``version`` higher) or raises
``InvalidTransitionError`` naming the status. Services orchestrate; only this module decides which
transitions are legal. Money is ``int`` paise; ``Decimal`` appears only in quantities and rates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invoicing.domain import gst
from invoicing.domain.einvoice import EInvoice
from invoicing.domain.errors import (
    DomainValidationError,
    DuplicateError,
    InvalidTransitionError,
    NotFoundError,
)
from invoicing.domain.ids import new_id
from invoicing.domain.limits import (
    MAX_AMOUNT_PAISE,
    MAX_QUANTITY,
    MAX_UNIT_RATE,
    Day,
    Timestamp,
    check_amount,
    check_timestamp,
)
from invoicing.domain.numbering import ist_date

MAX_LINES = 500  # an invoice made by a billing run; the operator's create route allows 50
MAX_MANUAL_LINES = 50
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

__all__ = ["new_id"]  # re-exported: ids used to be made here


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
# A credit note corrects an issued invoice whatever became of it, except a cancelled one (already
# reversed in full) and a draft (not a tax invoice yet).
CREDITABLE_STATUSES = PAYABLE_STATUSES | {InvoiceStatus.PAID, InvoiceStatus.EXPIRED}

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
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Address(_Frozen):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(default="IN", min_length=2, max_length=56)


class Customer(_Frozen):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
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
    start: Day
    end: Day

    @model_validator(mode="after")
    def _ordered(self) -> BillingPeriod:
        if self.start > self.end:
            raise ValueError("billing_period.start must be on or before billing_period.end")
        return self


class LineItem(_Frozen):
    resource_type: ResourceType
    resource_name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    usage_start: Timestamp
    usage_end: Timestamp
    quantity: Decimal
    unit: str = Field(min_length=1, max_length=32)
    unit_rate: Decimal
    sac_code: str = Field(default=gst.DEFAULT_SAC, pattern=gst.SAC_PATTERN)
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
            if quantity > MAX_QUANTITY:
                raise ValueError(f"quantity must not exceed {MAX_QUANTITY:,}")
            if unit_rate > MAX_UNIT_RATE:
                raise ValueError(f"unit_rate must not exceed {MAX_UNIT_RATE:,} rupees")
            amount = gst.line_amount(quantity, unit_rate)
            if amount > MAX_AMOUNT_PAISE:
                raise ValueError(f"the line amount must not exceed ₹{MAX_AMOUNT_PAISE // 100:,}")
            data["quantity"], data["unit_rate"], data["amount"] = quantity, unit_rate, amount
        return data

    @model_validator(mode="after")
    def _usage_ordered(self) -> LineItem:
        if self.usage_start > self.usage_end:
            raise ValueError("usage_start must be on or before usage_end")
        return self


class Payment(_Frozen):
    id: str = Field(min_length=1, max_length=64)
    amount: int = Field(gt=0, le=MAX_AMOUNT_PAISE)
    method: str = Field(min_length=1, max_length=32)
    paid_at: Timestamp
    currency: str = "INR"
    # What the payment drew on when it is not money from the customer now (method "advance"):
    # the receipt vouchers whose advances settled the invoice.
    receipts: tuple[str, ...] = ()


class RefundReason(StrEnum):
    CREDIT_NOTE = "credit_note"  # a credit note exceeded what was due
    OVERPAYMENT = "overpayment"  # money arrived beyond what was due (an older link, a closed invoice)


class RefundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class Refund(_Frozen):
    """Money returned (or being returned) to the customer against one captured payment.

    It counts in ``amount_refunded`` from the moment it is decided, whatever Razorpay later says:
    a failed refund is still owed to the customer and stays visible (``status``) for an operator.
    """

    id: str
    payment_id: str
    amount: int = Field(gt=0, le=MAX_AMOUNT_PAISE)
    reason: RefundReason
    credit_note_id: str | None = None
    status: RefundStatus = RefundStatus.PENDING
    razorpay_refund_id: str | None = None
    failure_reason: str | None = None
    created_at: Timestamp
    settled_at: Timestamp | None = None


class CreditNoteRef(_Frozen):
    """A credit note as the invoice lists it (the note itself is its own document)."""

    id: str
    credit_note_number: str
    date: Day
    amount: int = Field(gt=0, le=MAX_AMOUNT_PAISE)
    taxable_amount: int = Field(ge=0)
    cgst: int = Field(ge=0)
    sgst: int = Field(ge=0)
    igst: int = Field(ge=0)
    # taxable value credited per line (index into line_items): what "remains of a line" is computed from
    lines: tuple[tuple[int, int], ...] = ()


class Dispute(_Frozen):
    id: str
    invoice_id: str
    status: Literal["open", "resolved"] = "open"
    reason: str = Field(min_length=10, max_length=2000)
    expected_correction: str | None = Field(default=None, max_length=2000)
    outcome: Literal["credited", "rejected"] | None = None
    note: str | None = Field(default=None, max_length=2000)
    credit_note_id: str | None = None
    created_at: Timestamp
    resolved_at: Timestamp | None = None


Origin = Literal["manual", "billing_run"]


class Invoice(_Frozen):
    """One invoice, as the domain sees it. ``version`` grows by one with every change.

    Money, in integer paise, always satisfies
    ``amount_paid − amount_refunded + amount_credited + amount_due == amount``.
    """

    id: str
    account_id: str
    version: int = 1
    status: InvoiceStatus = InvoiceStatus.DRAFT
    origin: Origin = "manual"
    invoice_number: str | None = None
    currency: Literal["INR"] = "INR"
    date: Day | None = None
    due_date: Day | None = None
    billing_period: BillingPeriod
    description: str | None = None
    customer: Customer
    supplier: Supplier
    place_of_supply: str
    line_items: tuple[LineItem, ...]
    taxable_amount: int
    tax: gst.TaxBreakdown
    amount: int
    payments: tuple[Payment, ...] = ()
    # Payments captured on the provider's invoice while ours was still a draft (an interrupted
    # issue): applied by the issue that completes it.
    held_payments: tuple[Payment, ...] = ()
    credit_notes: tuple[CreditNoteRef, ...] = ()
    refunds: tuple[Refund, ...] = ()
    partial_payment: bool = False
    payment_terms_days: int = Field(default=15, ge=0, le=365)
    expire_by: Timestamp | None = None
    payment_url: str | None = None
    razorpay_invoice_id: str | None = None
    disputes: tuple[Dispute, ...] = ()
    # Sweep bookkeeping: the policy is snapshotted at issue so the schedule is derivable.
    reminder_days: tuple[int, ...] = ()
    grace_period_days: int | None = None
    reminders_sent: tuple[int, ...] = ()
    suspension_requested_at: Timestamp | None = None
    issued_at: Timestamp | None = None
    paid_at: Timestamp | None = None
    cancelled_at: Timestamp | None = None
    expired_at: Timestamp | None = None
    created_at: Timestamp
    updated_at: Timestamp
    notes: str | None = None
    terms: str | None = None
    # Its registration with the IRP (domain.einvoice): None for drafts, set at issue.
    e_invoice: EInvoice | None = None

    # ----------------------------------------------------------------- derived
    @property
    def amount_paid(self) -> int:
        return sum(p.amount for p in self.payments)

    @property
    def amount_credited(self) -> int:
        return sum(c.amount for c in self.credit_notes)

    @property
    def amount_refunded(self) -> int:
        return sum(r.amount for r in self.refunds)

    @property
    def amount_due(self) -> int:
        """What the customer still owes: ``amount − paid + refunded − credited`` (never negative)."""
        return self.amount - self.amount_paid + self.amount_refunded - self.amount_credited

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

    def needs_new_pdf(self, before: Invoice) -> bool:
        """Whether this version needs a PDF other than ``before``'s: it is past draft (drafts have
        none) and something printed on it changed (disputes and sweep bookkeeping are not printed)."""
        return self.status is not InvoiceStatus.DRAFT and any(
            getattr(before, name) != getattr(self, name) for name in _PRINTED
        )

    def renders_ahead(self, before: Invoice) -> bool:
        """Whether this version's PDF is rendered as it is committed, not on its first download.

        A render is a renderer invocation (~0.1–0.7 s of a 1 GB function), an S3 object and a
        write. Made ahead are the versions a customer fetches soon after they exist: the issued
        invoice (the e-mail and the portal link to it), the invoice settled in full (the copy for
        their books), the cancelled one, and one a credit note was applied to (corrections.md: the
        invoice's PDF shows its credits next to the note's own). Every other printed change (a part
        payment, going overdue or expiring, a note, a new payment link, a refund) is rendered on its
        first download (``GET /invoices/{id}/pdf`` answers 202 and queues it; a ZIP renders what
        it lacks): most of those versions are replaced before anyone asks for them.
        """
        if not self.needs_new_pdf(before):
            return False
        settled = self.status in _RENDERED_AHEAD and self.status is not before.status
        credited = self.credit_notes != before.credit_notes
        return before.status is InvoiceStatus.DRAFT or settled or credited

    def payment(self, payment_id: str) -> Payment | None:
        return next((p for p in (*self.payments, *self.held_payments) if p.id == payment_id), None)

    def refundable(self, payment_id: str) -> int:
        """What is left of a captured payment to refund."""
        paid = sum(p.amount for p in self.payments if p.id == payment_id)
        return paid - sum(r.amount for r in self.refunds if r.payment_id == payment_id)

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
        origin: Origin = "manual",
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
            origin=origin,
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
        # A draft stored before the bounds existed: refused here, never after Razorpay published it.
        check_amount(self.amount, "line_items")
        if self.expire_by is not None:
            check_timestamp(self.expire_by, "expire_by")
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
        e_invoice: EInvoice | None = None,
    ) -> Invoice:
        """Draft → issued. Payments held while it was a draft are applied in the same step."""
        self.check_issuable(now)
        issued = self._evolve(
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
            held_payments=(),
            e_invoice=e_invoice,
        )
        for held in self.held_payments:
            issued = issued._received(held, now)
        # One transition, one version: applying the held payments is part of the issue.
        return issued.model_copy(update={"version": self.version + 1})

    def attach_payment_link(self, razorpay_invoice_id: str, now: datetime) -> Invoice:
        """Remember the provider's (still unpayable, draft) invoice before it is issued there."""
        self._require("attach a payment link to", {InvoiceStatus.DRAFT})
        return self._evolve(now, razorpay_invoice_id=razorpay_invoice_id)

    def relink(self, razorpay_invoice_id: str | None, payment_url: str | None, now: datetime) -> Invoice:
        """The provider invoice that collects what is due now (after a credit note changed it)."""
        if self.status is InvoiceStatus.DRAFT:
            raise InvalidTransitionError("relink", self.status)
        return self._evolve(now, razorpay_invoice_id=razorpay_invoice_id, payment_url=payment_url)

    def apply_payment(self, payment: Payment, now: datetime) -> Invoice:
        """Record a captured payment; never refuses money it can account for.

        - an id already recorded raises ``DuplicateError``;
        - a draft cannot take a payment (``InvalidTransitionError``: see ``hold_payment``);
        - another currency cannot be accounted for (``DomainValidationError``);
        - otherwise it is recorded. What exceeds ``amount_due`` (an older link, a cancelled or paid
          invoice) is recorded too, together with a refund of the excess to that payment, so the
          money always shows on the invoice. A payable invoice whose balance reaches 0 is ``paid``;
          a part payment makes an issued invoice ``partially_paid`` (an overdue one stays overdue).
          Final statuses stay final; an expired invoice keeps its status and owes less.
        """
        self._check_new_payment(payment)
        self._require("record a payment on", PAYABLE_STATUSES | FINAL_STATUSES)
        return self._received(payment, now)

    def hold_payment(self, payment: Payment, now: datetime) -> Invoice:
        """A payment captured on the provider's invoice of a draft whose issue was interrupted: kept
        on the draft and applied by the issue that completes it (never lost, never refunded)."""
        self._check_new_payment(payment)
        self._require("hold a payment for", {InvoiceStatus.DRAFT})
        if self.razorpay_invoice_id is None:
            raise InvalidTransitionError(
                "hold a payment for", self.status, f"Draft {self.id} has no payment link to collect by."
            )
        return self._evolve(now, held_payments=(*self.held_payments, payment))

    def settle_refund(
        self,
        refund_id: str,
        status: RefundStatus,
        now: datetime,
        *,
        razorpay_refund_id: str | None = None,
        failure_reason: str | None = None,
    ) -> Invoice:
        """Record what the provider says about a pending refund. Settling it again raises
        ``DuplicateError``; a processed refund never turns failed (nor the other way)."""
        refund = next((r for r in self.refunds if r.id == refund_id), None)
        if refund is None:
            raise DomainValidationError(
                f"Invoice {self.id} has no refund {refund_id}.", [{"loc": ["refund_id"], "msg": "unknown"}]
            )
        if refund.status is not RefundStatus.PENDING:
            raise DuplicateError(f"Refund {refund_id} is already {refund.status}.")
        settled = refund.model_copy(
            update={
                "status": status,
                "razorpay_refund_id": razorpay_refund_id or refund.razorpay_refund_id,
                "failure_reason": failure_reason,
                "settled_at": now,
            }
        )
        return self._evolve(now, refunds=tuple(settled if r.id == refund_id else r for r in self.refunds))

    def note_refund_started(self, refund_id: str, razorpay_refund_id: str, now: datetime) -> Invoice:
        """The provider accepted the refund request (its id), still pending there."""
        refunds = tuple(
            r.model_copy(update={"razorpay_refund_id": razorpay_refund_id}) if r.id == refund_id else r
            for r in self.refunds
        )
        return self._evolve(now, refunds=refunds)

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

    def check_cancellable(self) -> None:
        self._require("cancel", {InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE})
        if self.amount_paid:
            raise InvalidTransitionError(
                "cancel", self.status, f"Cannot cancel invoice {self.id}: payments have been received."
            )

    def cancel(self, now: datetime, credit: CreditNoteRef | None = None) -> Invoice:
        """Issued or overdue, nothing paid → cancelled. ``credit`` is the cancellation's credit note
        (a full credit: the invoice then owes nothing); without one the balance is left as it was."""
        self.check_cancellable()
        credits = self.credit_notes if credit is None else (*self.credit_notes, credit)
        return self._evolve(
            now, status=InvoiceStatus.CANCELLED, cancelled_at=now, payment_url=None, credit_notes=credits
        )

    def record_e_invoice(self, e_invoice: EInvoice, now: datetime) -> Invoice:
        """The registration with the IRP moved on (``domain.einvoice`` decides how it may)."""
        if self.status is InvoiceStatus.DRAFT:
            raise InvalidTransitionError("register", self.status, "A draft is not registered with the IRP.")
        return self._evolve(now, e_invoice=e_invoice)

    def expire(self, now: datetime) -> Invoice:
        self._require("expire", PAYABLE_STATUSES)
        return self._evolve(now, status=InvoiceStatus.EXPIRED, expired_at=now, payment_url=None)

    def open_dispute(self, dispute: Dispute, now: datetime) -> Invoice:
        self._require("dispute", PAYABLE_STATUSES)
        return self._evolve(now, disputes=(*self.disputes, dispute))

    def ensure_deletable(self) -> None:
        self._require("delete", {InvoiceStatus.DRAFT})
        if self.origin == "billing_run":
            # Its usage is billed by it (billing.md: one invoice per account and month, no usage
            # lost): edit it or issue it. Stripe refuses to delete subscription drafts alike.
            raise InvalidTransitionError(
                "delete",
                self.status,
                f"Invoice {self.id} was made by a billing run and bills its usage; edit or issue it instead.",
            )

    # ------------------------------------------------------------- corrections
    def apply_credit(self, credit: CreditNoteRef, refunds: Iterable[Refund], now: datetime) -> Invoice:
        """A credit note's effect (``domain.credit_notes`` decides the note and its refunds).

        The credit first reduces ``amount_due``; exactly what exceeds it comes back as ``refunds``
        (pending, against captured payments). A payable invoice whose balance reaches 0 is ``paid``
        (settled): reminders and suspension stop. Final statuses stay as they are. The payment link
        is dropped: it collected the old balance (the relink that follows the commit sets the new one).
        """
        self._require("credit", CREDITABLE_STATUSES)
        refunds = tuple(refunds)
        if any(c.id == credit.id for c in self.credit_notes):
            raise DuplicateError(f"Credit note {credit.id} is already applied to invoice {self.id}.")
        excess = max(0, credit.amount - self.amount_due)
        if sum(r.amount for r in refunds) != excess or any(r.credit_note_id != credit.id for r in refunds):
            raise ValueError(
                "a credit note refunds exactly what exceeds the amount due, each refund naming it"
            )
        status, paid_at = self.status, self.paid_at
        if status in PAYABLE_STATUSES and credit.amount >= self.amount_due:
            status, paid_at = InvoiceStatus.PAID, paid_at or now
        return self._evolve(
            now,
            status=status,
            paid_at=paid_at,
            credit_notes=(*self.credit_notes, credit),
            refunds=(*self.refunds, *refunds),
            payment_url=None,
        )

    def resolve_dispute(
        self,
        dispute_id: str,
        *,
        outcome: Literal["credited", "rejected"],
        note: str,
        now: datetime,
        credit_note_id: str | None = None,
    ) -> Invoice:
        """Close an open dispute with its decision; with none left open, reminders and suspension resume."""
        dispute = next((d for d in self.disputes if d.id == dispute_id), None)
        if dispute is None:
            raise NotFoundError(f"Invoice {self.id} has no dispute {dispute_id}.")
        if dispute.status == "resolved":
            raise InvalidTransitionError(
                "resolve", dispute.status, f"Dispute {dispute_id} is already resolved ({dispute.outcome})."
            )
        if (outcome == "credited") != (credit_note_id is not None):
            raise ValueError("a dispute is resolved 'credited' with exactly one credit note")
        resolved = Dispute.model_validate(
            dispute.model_dump()
            | {
                "status": "resolved",
                "outcome": outcome,
                "note": note,
                "credit_note_id": credit_note_id,
                "resolved_at": now,
            }
        )
        disputes = tuple(resolved if d.id == dispute_id else d for d in self.disputes)
        return self._evolve(now, disputes=disputes)

    # ----------------------------------------------------------------- helpers
    def _check_new_payment(self, payment: Payment) -> None:
        if self.payment(payment.id) is not None:
            raise DuplicateError(f"Payment {payment.id} is already recorded on invoice {self.id}.")
        if payment.currency != self.currency:
            raise DomainValidationError(
                f"Payment {payment.id} is in {payment.currency}; the invoice is in {self.currency}.",
                [{"loc": ["currency"], "msg": "currency mismatch"}],
            )

    def _received(self, payment: Payment, now: datetime) -> Invoice:
        """``payment`` recorded (one version), the excess over what it can still collect refunded."""
        due = 0 if self.status is InvoiceStatus.CANCELLED else self.amount_due
        excess = max(0, payment.amount - due)
        refunds = self.refunds
        if excess:
            refund = Refund(
                id=new_id("rfd"),
                payment_id=payment.id,
                amount=excess,
                reason=RefundReason.OVERPAYMENT,
                created_at=now,
            )
            refunds = (*refunds, refund)
        status, paid_at = self.status, self.paid_at
        if self.status in PAYABLE_STATUSES:
            if payment.amount >= due:
                status, paid_at = InvoiceStatus.PAID, payment.paid_at
            elif self.status is InvoiceStatus.ISSUED:
                status = InvoiceStatus.PARTIALLY_PAID
        return self._evolve(
            now,
            status=status,
            payments=(*self.payments, payment),
            refunds=refunds,
            paid_at=paid_at,
            payment_url=None if status in FINAL_STATUSES else self.payment_url,
        )

    def _require(self, action: str, statuses: Iterable[InvoiceStatus]) -> None:
        if self.status not in set(statuses):
            raise InvalidTransitionError(action, self.status)

    def _evolve(self, now: datetime, **changes: Any) -> Invoice:
        # Field values as they are (nested models are not re-validated), the new ones validated.
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data |= changes | {"version": self.version + 1, "updated_at": now}
        return type(self).model_validate(data)

    @model_validator(mode="after")
    def _invariants(self) -> Invoice:
        if not 1 <= len(self.line_items) <= MAX_LINES:
            raise ValueError(f"an invoice has 1 to {MAX_LINES} line items")
        if self.amount_credited > self.amount:
            raise ValueError("amount_credited must not exceed amount")
        if self.amount_refunded > self.amount_paid:
            raise ValueError("amount_refunded must not exceed amount_paid")
        if self.amount_due < 0:
            raise ValueError("amount_due must not be negative")
        if self.status is InvoiceStatus.DRAFT and (self.payments or self.credit_notes or self.refunds):
            raise ValueError("a draft has no payments, credits or refunds")
        return self


# The statuses whose PDF is rendered as they are reached (besides the issued one): renders_ahead.
_RENDERED_AHEAD = frozenset({InvoiceStatus.PAID, InvoiceStatus.CANCELLED})
# Printed on the PDF: a change to any of these needs a new rendering.
_PRINTED = (
    "status",
    "payments",
    "credit_notes",
    "refunds",
    "notes",
    "terms",
    "expire_by",
    "invoice_number",
    "payment_url",
)


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
    amount = check_amount(taxable + tax.total, "line_items")
    return fields | {"place_of_supply": place, "taxable_amount": taxable, "tax": tax, "amount": amount}


def _check_expire_by(value: datetime | None, now: datetime) -> None:
    if value is None:
        return
    check_timestamp(value, "expire_by")
    if value <= now:
        raise DomainValidationError(
            "expire_by must be in the future.", [{"loc": ["expire_by"], "msg": "must be in the future"}]
        )


def _decimal(value: Any, field: str, *, places: int, positive: bool) -> Decimal:
    if isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str):
        raise ValueError(f'{field} must be a decimal string such as "0.5"')
    return _as_value_error(gst.parse_decimal, value, field=field, max_places=places, positive=positive)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _as_value_error(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Domain validators raise DomainValidationError; pydantic wants ValueError to build its details."""
    try:
        return fn(*args, **kwargs)
    except DomainValidationError as exc:
        raise ValueError(exc.message) from None
