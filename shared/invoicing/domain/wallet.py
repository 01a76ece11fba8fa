"""Prepaid accounts (billing.md, "Prepaid"): wallet top-ups, GST receipt vouchers, and the month's
invoice settled from the advances they brought. Pure rules, no I/O.

GST on a service is due when an advance is received (CGST Act s.13), so every top-up paid gets a
**receipt voucher** (CGST Rule 50) with its own gap-free number of the financial year
(``RV/2627/000001``, the same counter and marker design as invoices: ``TakeNumber``), and the
month's consumption gets a tax invoice adjusted against those advances.

Money, in integer paise:

- a top-up's ``amount`` is the credit it adds: the *taxable value* of the advance (₹100 to
  ₹10,00,000); its ``tax`` is GST on it at the profile's place of supply (CGST + SGST or IGST,
  each half-up), and its ``total`` = amount + tax is what the customer pays;
- the wallet's balance is the taxable value of the advances received and not yet adjusted; each
  receipt's *advance* keeps what remains of its own taxable value, and the balance is always the
  sum of them (both move in the same transactions);
- drawing ``t`` of taxable value pays ``t`` plus the tax already paid on it, at the invoice's split
  (:func:`plan_settlement`). When what remains covers the taxable value of what the invoice owes,
  the invoice is paid in full (the payment is its ``amount_due``, exactly); otherwise every advance
  is drawn to 0 and the payment is that taxable value plus its tax, half-up per component, and
  the rest stays due. The advances are drawn oldest receipt first.

A settlement is a payment with ``method: "advance"`` naming the receipt numbers it drew on, and a
record of what it took from each receipt's advance (``SettlementRecord``). It moves no money (the
ledger books nothing for it: the top-up was the payment) and is recorded once per invoice (its
payment id is derived from the invoice's, and its record is kept once per invoice).
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from invoicing.domain import gst
from invoicing.domain.changes import Change
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    DuplicateError,
    InvalidTransitionError,
)
from invoicing.domain.invoice import (
    PAYABLE_STATUSES,
    Customer,
    Invoice,
    Payment,
    Supplier,
)
from invoicing.domain.ledger import ADVANCE
from invoicing.domain.limits import Day, Timestamp
from invoicing.domain.numbering import financial_year, format_invoice_number, series_key

PREFIX = "RV"
MIN_TOP_UP_PAISE = 100_00  # ₹100
MAX_TOP_UP_PAISE = 10_00_000_00  # ₹10,00,000
LINK_LIFETIME = timedelta(days=7)  # the payment link's expire_by
# One settlement draws on at most this many receipts (a transaction holds 100 items: the invoice,
# its summary, the wallet and the outbox message join them).
MAX_DRAWS = 90
RECEIPT_DESCRIPTION = "Advance for GPU cloud services (prepaid wallet top-up)"
_ALPHABET = string.ascii_letters + string.digits


class TopUpStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    EXPIRED = "expired"


class AmountMismatchError(DomainValidationError):
    """A payment that is not exactly what the top-up's link collects (amount or currency)."""


class AdvanceMovedError(ConflictError):
    """An advance, or the wallet's balance, is no longer what the settlement read: read again."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ------------------------------------------------------------------------------------- rules
def series(today: date) -> str:
    """The receipt vouchers' series of the financial year of ``today``: ``RV/2627``."""
    return series_key(PREFIX, financial_year(today))


def number(today: date, sequence: int) -> str:
    return format_invoice_number(PREFIX, financial_year(today), sequence)


def check_amount(amount: int) -> int:
    """A top-up's credit: ₹100 to ₹10,00,000 (422 otherwise, pointing at the body's amount)."""
    if not MIN_TOP_UP_PAISE <= amount <= MAX_TOP_UP_PAISE:
        msg = f"must be between {MIN_TOP_UP_PAISE} and {MAX_TOP_UP_PAISE} paise (₹100 to ₹10,00,000)"
        raise DomainValidationError(f"amount {msg}; got {amount}.", [{"loc": ["body", "amount"], "msg": msg}])
    return amount


def keyed_id(account_id: str, key: str) -> str:
    """The top-up id an ``Idempotency-Key`` names (``top_`` + 14 alphanumerics): a retry of the same
    request makes the same id, hence the same Razorpay ``reference_id`` (never a second link)."""
    value = int.from_bytes(hashlib.sha256(f"{account_id}\n{key}".encode()).digest(), "big")
    chars = []
    for _ in range(14):
        value, digit = divmod(value, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "top_" + "".join(chars)


# ------------------------------------------------------------------------------------ top-ups
class ReceiptRef(_Frozen):
    """The receipt voucher as its top-up lists it."""

    id: str
    receipt_number: str
    date: Day
    payment_id: str
    method: str


class TopUp(_Frozen):
    """One wallet top-up: a Razorpay payment link for ``total``; paid → its receipt voucher."""

    id: str
    account_id: str
    version: int = 1
    status: TopUpStatus = TopUpStatus.CREATED
    currency: Literal["INR"] = "INR"
    amount: int = Field(ge=MIN_TOP_UP_PAISE, le=MAX_TOP_UP_PAISE)
    tax: gst.TaxBreakdown
    total: int
    supplier: Supplier
    customer: Customer  # the recipient, from the billing profile when the top-up was made
    place_of_supply: str
    payment_url: str | None = None
    razorpay_payment_link_id: str | None = None
    expire_by: Timestamp
    request_hash: str | None = None  # the Idempotency-Key's request, when one was sent
    receipt: ReceiptRef | None = None
    created_at: Timestamp
    updated_at: Timestamp
    paid_at: Timestamp | None = None
    expired_at: Timestamp | None = None

    @classmethod
    def create(
        cls,
        *,
        top_up_id: str,
        account_id: str,
        amount: int,
        supplier: Supplier,
        customer: Customer,
        now: datetime,
        request_hash: str | None = None,
    ) -> TopUp:
        """A top-up of ``amount`` (its taxable value), GST at the customer's place of supply."""
        check_amount(amount)
        place = gst.place_of_supply(customer.gstin, customer.state_code)
        tax = gst.compute_tax(amount, supplier.state_code, place)
        return cls(
            id=top_up_id,
            account_id=account_id,
            amount=amount,
            tax=tax,
            total=amount + tax.total,
            supplier=supplier,
            customer=customer,
            place_of_supply=place,
            expire_by=now + LINK_LIFETIME,
            request_hash=request_hash,
            created_at=now,
            updated_at=now,
        )

    @property
    def intra_state(self) -> bool:
        return self.supplier.state_code == self.place_of_supply

    def with_link(self, provider_id: str, payment_url: str | None) -> TopUp:
        """The (not yet stored) top-up with the payment link that collects it."""
        return self.model_copy(update={"razorpay_payment_link_id": provider_id, "payment_url": payment_url})

    def check_payment(self, payment: Payment) -> None:
        """Refuse what is not exactly what the link collects: another amount or currency."""
        if payment.currency != self.currency or payment.amount != self.total:
            raise AmountMismatchError(
                f"Payment {payment.id} of {payment.amount} {payment.currency} does not match top-up "
                f"{self.id}, which collects {self.total} {self.currency}.",
                [{"loc": ["amount"], "msg": "does not match the payment link"}],
            )

    def pay(self, payment: Payment, receipt: ReceiptRef, now: datetime) -> TopUp:
        """created (or expired: the money came all the same) → paid, with its receipt voucher (its
        link collects nothing more: no ``payment_url``).

        The same payment again raises ``DuplicateError``; another payment of a paid top-up
        ``InvalidTransitionError`` (it is never credited twice); a payment that is not exactly
        ``total`` in INR ``AmountMismatchError``.
        """
        if self.receipt is not None:
            if self.receipt.payment_id == payment.id:
                raise DuplicateError(f"Payment {payment.id} is already recorded on top-up {self.id}.")
            raise InvalidTransitionError(
                "pay",
                self.status,
                f"Top-up {self.id} is already paid by {self.receipt.payment_id}; "
                f"payment {payment.id} cannot be credited again.",
            )
        self.check_payment(payment)
        return self._evolve(
            now, status=TopUpStatus.PAID, receipt=receipt, paid_at=payment.paid_at, payment_url=None
        )

    def expire(self, now: datetime) -> TopUp:
        """created → expired (its link expired unpaid). Expired again: ``DuplicateError``; a paid
        top-up never expires (``InvalidTransitionError``)."""
        if self.status is TopUpStatus.EXPIRED:
            raise DuplicateError(f"Top-up {self.id} is already expired.")
        if self.status is not TopUpStatus.CREATED:
            raise InvalidTransitionError("expire", self.status, f"Top-up {self.id} is {self.status}.")
        return self._evolve(now, status=TopUpStatus.EXPIRED, expired_at=now, payment_url=None)

    def _evolve(self, now: datetime, **changes: Any) -> TopUp:
        data = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self).model_validate(data | changes | {"version": self.version + 1, "updated_at": now})

    @model_validator(mode="after")
    def _adds_up(self) -> TopUp:
        if self.total != self.amount + self.tax.total:
            raise ValueError("total must be amount + tax")
        if (self.status is TopUpStatus.PAID) != (self.receipt is not None):
            raise ValueError("a top-up has a receipt voucher exactly when it is paid")
        return self


# ---------------------------------------------------------------------------- receipt voucher
class ReceiptVoucher(_Frozen):
    """One receipt voucher (CGST Rule 50), as printed. Immutable once issued.

    Supplier, recipient and place of supply are the top-up's, copied: the voucher is a document of
    its own.
    """

    id: str
    version: int = 1
    account_id: str
    top_up_id: str
    receipt_number: str
    date: Day
    currency: Literal["INR"] = "INR"
    supplier: Supplier
    customer: Customer
    place_of_supply: str
    description: str
    sac_code: str = gst.DEFAULT_SAC
    amount: int  # the advance's taxable value
    tax: gst.TaxBreakdown
    total: int
    payment_id: str
    method: str
    paid_at: Timestamp
    created_at: Timestamp

    @property
    def tax_amount(self) -> int:
        return self.tax.total

    @property
    def intra_state(self) -> bool:
        return self.supplier.state_code == self.place_of_supply

    def ref(self) -> ReceiptRef:
        return ReceiptRef(
            id=self.id,
            receipt_number=self.receipt_number,
            date=self.date,
            payment_id=self.payment_id,
            method=self.method,
        )

    @model_validator(mode="after")
    def _adds_up(self) -> ReceiptVoucher:
        if self.total != self.amount + self.tax.total:
            raise ValueError("total must be amount + tax")
        return self


def issue_receipt(
    top_up: TopUp, payment: Payment, *, receipt_id: str, receipt_number: str, today: date, now: datetime
) -> ReceiptVoucher:
    """The receipt voucher for the advance ``payment`` brought to ``top_up``, dated ``today`` (IST)."""
    top_up.check_payment(payment)
    return ReceiptVoucher(
        id=receipt_id,
        account_id=top_up.account_id,
        top_up_id=top_up.id,
        receipt_number=receipt_number,
        date=today,
        supplier=top_up.supplier,
        customer=top_up.customer,
        place_of_supply=top_up.place_of_supply,
        description=RECEIPT_DESCRIPTION,
        amount=top_up.amount,
        tax=top_up.tax,
        total=top_up.total,
        payment_id=payment.id,
        method=payment.method,
        paid_at=payment.paid_at,
        created_at=now,
    )


@dataclass(frozen=True)
class ReceiptDocument:
    """A receipt voucher and the version of it whose PDF is stored (``None``: none yet)."""

    receipt: ReceiptVoucher
    pdf_version: int | None

    @property
    def pdf_is_current(self) -> bool:
        return self.pdf_version == self.receipt.version


def pdf_key(receipt: ReceiptVoucher) -> str:
    """``pdfs/{account_id}/{receipt_id}/v{version}.pdf``: beside its account's invoices' PDFs."""
    return f"pdfs/{receipt.account_id}/{receipt.id}/v{receipt.version}.pdf"


def pdf_filename(receipt: ReceiptVoucher) -> str:
    """``RV/2627/000001`` → ``RV-2627-000001.pdf``."""
    return f"{receipt.receipt_number.replace('/', '-')}.pdf"


# ---------------------------------------------------------------------------------- advances
@dataclass(frozen=True)
class Advance:
    """What remains (taxable value) of one receipt's advance; drawn oldest receipt first."""

    account_id: str
    receipt_id: str
    receipt_number: str
    received_on: date  # the receipt voucher's date
    amount: int
    remaining: int

    @classmethod
    def of(cls, receipt: ReceiptVoucher) -> Advance:
        return cls(
            account_id=receipt.account_id,
            receipt_id=receipt.id,
            receipt_number=receipt.receipt_number,
            received_on=receipt.date,
            amount=receipt.amount,
            remaining=receipt.amount,
        )

    @property
    def order(self) -> str:
        """Oldest first: by the receipt's date, then its number (the order of the series)."""
        return f"{self.received_on.isoformat()}#{self.receipt_number}"


@dataclass(frozen=True)
class Draw:
    """``taken`` of an advance's taxable value, conditional on it still having ``advance.remaining``."""

    advance: Advance
    taken: int

    def __post_init__(self) -> None:
        if not 0 < self.taken <= self.advance.remaining:
            raise ValueError("a draw takes more than 0 and at most what remains of the advance")

    @property
    def after(self) -> int:
        return self.advance.remaining - self.taken


def settlement_payment_id(invoice_id: str) -> str:
    """The one advance payment an invoice can have (a repeat is a ``DuplicateError``)."""
    return f"adv_{invoice_id}"


def tax_on(invoice: Invoice, taxable: int) -> int:
    """GST on ``taxable`` at the invoice's split, each component half-up."""
    return gst.compute_tax(taxable, invoice.supplier.state_code, invoice.place_of_supply).total


def taxable_covering(invoice: Invoice, due: int) -> int:
    """The least taxable value ``t`` whose ``t + tax(t)`` pays ``due`` (``t + tax(t)`` grows by at
    least one paisa with every paisa of ``t``). For a whole invoice it is its ``taxable_amount``."""
    if due <= 0:
        return 0
    rate = Decimal(invoice.tax.rate)
    t = int((Decimal(due) * 100 / (100 + rate)).to_integral_value(rounding=ROUND_FLOOR))
    while t + tax_on(invoice, t) < due:
        t += 1
    while t > 0 and (t - 1) + tax_on(invoice, t - 1) >= due:
        t -= 1
    return t


@dataclass(frozen=True)
class DrawnReceipt:
    """What one settlement took (taxable value) from one receipt voucher's advance."""

    receipt_id: str
    receipt_number: str
    taken: int


@dataclass(frozen=True)
class SettlementRecord:
    """The settlement as kept beside the wallet, once per invoice: which receipt vouchers' advances
    were adjusted against which invoice, by how much taxable value each, and what that paid on the
    invoice (``amount`` = ``drawn`` + its tax). What finance reconciles advances and invoices by."""

    account_id: str
    invoice_id: str
    invoice_number: str | None
    payment_id: str
    amount: int
    draws: tuple[DrawnReceipt, ...]
    settled_at: datetime

    def __post_init__(self) -> None:
        if not self.draws or any(d.taken <= 0 for d in self.draws):
            raise ValueError("a settlement draws more than 0 from at least one receipt")
        if self.amount < self.drawn:
            raise ValueError("a settlement pays at least the taxable value it draws")

    @property
    def drawn(self) -> int:
        return sum(d.taken for d in self.draws)


@dataclass(frozen=True)
class Settlement:
    """An invoice settled (in full or in part) from advances: the payment and the draws."""

    before: Invoice
    after: Invoice
    payment: Payment
    draws: tuple[Draw, ...]

    @property
    def drawn(self) -> int:
        return sum(d.taken for d in self.draws)

    @property
    def paid_in_full(self) -> bool:
        return self.after.amount_due == 0

    def record(self) -> SettlementRecord:
        return SettlementRecord(
            account_id=self.after.account_id,
            invoice_id=self.after.id,
            invoice_number=self.after.invoice_number,
            payment_id=self.payment.id,
            amount=self.payment.amount,
            draws=tuple(
                DrawnReceipt(d.advance.receipt_id, d.advance.receipt_number, d.taken) for d in self.draws
            ),
            settled_at=self.payment.paid_at,
        )


def plan_settlement(invoice: Invoice, advances: Sequence[Advance], now: datetime) -> Settlement | None:
    """Settle what ``invoice`` owes from ``advances`` (oldest first), or ``None``: nothing to do (not
    payable, nothing due, already settled from advances once, or no advance left)."""
    if invoice.status not in PAYABLE_STATUSES or invoice.amount_due <= 0:
        return None
    if any(p.method == ADVANCE for p in invoice.payments):
        return None
    usable = sorted((a for a in advances if a.remaining > 0), key=lambda a: a.order)[:MAX_DRAWS]
    available = sum(a.remaining for a in usable)
    if available <= 0:
        return None
    due = invoice.amount_due
    needed = taxable_covering(invoice, due)
    if available >= needed:
        drawn, amount = needed, due
    else:
        drawn, amount = available, min(due, available + tax_on(invoice, available))
    draws: list[Draw] = []
    left = drawn
    for advance in usable:
        if not left:
            break
        take = min(advance.remaining, left)
        draws.append(Draw(advance, take))
        left -= take
    payment = Payment(
        id=settlement_payment_id(invoice.id),
        amount=amount,
        method=ADVANCE,
        paid_at=now,
        receipts=tuple(d.advance.receipt_number for d in draws),
    )
    after = invoice.apply_payment(payment, now)
    if after.amount_refunded != invoice.amount_refunded:  # pragma: no cover - amount <= due
        raise AssertionError("an advance settlement never pays beyond what is due")
    return Settlement(before=invoice, after=after, payment=payment, draws=tuple(draws))


# ------------------------------------------------------------------------------------ changes
@dataclass(frozen=True)
class SaveTopUp(Change):
    """A new top-up (``before`` is None: absent) or its next version (still at ``before``)."""

    before: TopUp | None
    after: TopUp

    def __post_init__(self) -> None:
        if self.before is None:
            if self.after.version != 1:
                raise ValueError("a new top-up starts at version 1")
        elif self.after.id != self.before.id or self.after.version != self.before.version + 1:
            raise ValueError("after must be the next version of before")


@dataclass(frozen=True)
class IssueReceipt(Change):
    """A new receipt voucher: the document, its advance (all of its taxable value remaining), the
    wallet's balance grown by it, and the ledger's credit of its total, in one transaction."""

    receipt: ReceiptVoucher

    @property
    def advance(self) -> Advance:
        return Advance.of(self.receipt)


@dataclass(frozen=True)
class DrawAdvances(Change):
    """Advances drawn by a settlement: each conditional on what remained of it when read, and the
    wallet's balance lowered by their sum, conditional on it covering that sum (never below 0)."""

    account_id: str
    draws: tuple[Draw, ...]

    def __post_init__(self) -> None:
        if not self.draws or any(d.advance.account_id != self.account_id for d in self.draws):
            raise ValueError("a draw takes from the account's own advances, at least one")
        if len({d.advance.receipt_id for d in self.draws}) != len(self.draws):
            raise ValueError("an advance is drawn once per settlement")

    @property
    def total(self) -> int:
        return sum(d.taken for d in self.draws)


@dataclass(frozen=True)
class RecordSettlement(Change):
    """The settlement's record, kept once per invoice (a second one is a ``ConflictError``), in the
    transaction that records the invoice's payment and draws the advances."""

    record: SettlementRecord


@dataclass(frozen=True)
class KeepUnapplied(Change):
    """A payment on one of our links that is refunded instead of credited (once per payment)."""

    payment_id: str
    account_id: str
    top_up_id: str | None
    reason: str
