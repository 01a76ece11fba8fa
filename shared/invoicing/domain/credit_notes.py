"""Credit notes (CGST Act s.34, CGST Rule 53): the document that corrects an issued tax invoice.

An issued invoice is never edited: it is corrected by a credit note with its own gap-free number
(``CN/2627/000001``), issued in the same commit as its effect on the invoice. This module decides,
purely, everything a credit note is and does:

- **which invoices** may be credited (``issued``, ``partially_paid``, ``overdue``, ``paid``,
  ``expired``; a draft or a cancelled invoice is a 409) and **until when**: not after 30 November
  following the end of the financial year of the invoice (s.34(2));
- **what remains of a line**: its amount less the taxable value earlier credit notes took from it;
  no line is credited beyond that (422);
- **its tax**: the invoice's split (CGST + SGST, or IGST), each component half-up on the credited
  taxable value, never more than what remains of that component; a credit that takes the last of
  every line takes exactly what remains of each component, so the invoice nets to zero;
- **its effect**: it first reduces ``amount_due``; what exceeds that is refunded against the
  invoice's captured payments, newest first, one refund per payment, with ids derived from the
  credit note's id (so a repeat at the provider is recognised).

A cancellation is a full credit note with reason ``cancellation`` (``plan_cancellation``).

**E-invoicing** (einvoice.md). A credit note to a B2B buyer is registered with the IRP as a ``CRN``
naming its invoice, like an invoice (``registering``: ``pending`` at issue, ``not_applicable`` for
B2C, the supplier's own GSTIN, e-invoicing ``off``, or when the invoice's own IRN was just cancelled
at the IRP, which leaves nothing there to reverse). Its registration is the only thing about a
note that changes after issue: each step is a new version (``record_e_invoice``, written by
``ReviseCreditNote`` conditional on the version read), so the PDF that prints the IRN is a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from invoicing.domain import gst
from invoicing.domain.changes import Change
from invoicing.domain.einvoice import EInvoice, EInvoiceStatus, Mode, at_issue
from invoicing.domain.errors import DomainValidationError, InvalidTransitionError
from invoicing.domain.invoice import (
    CREDITABLE_STATUSES,
    CreditNoteRef,
    Customer,
    Invoice,
    Refund,
    RefundReason,
    RefundStatus,
    Supplier,
)
from invoicing.domain.limits import MAX_AMOUNT_PAISE, Day, Timestamp
from invoicing.domain.numbering import financial_year, format_invoice_number, series_key

PREFIX = "CN"
MAX_DESCRIPTION = 500


class CreditReason(StrEnum):
    DEFICIENT_SERVICE = "deficient_service"
    EXCESS_CHARGED = "excess_charged"
    DISCOUNT = "discount"
    CANCELLATION = "cancellation"
    OTHER = "other"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class CreditLine(_Frozen):
    """The taxable value credited on one line of the invoice (``line`` indexes its line_items)."""

    line: int = Field(ge=0)
    description: str
    sac_code: str
    taxable_amount: int = Field(gt=0, le=MAX_AMOUNT_PAISE)


class CreditNote(_Frozen):
    """One credit note, as printed (Rule 53) and as the API shows it. Immutable once issued.

    Supplier, recipient and place of supply are the invoice's, copied: the note is a document of
    its own. ``refund_ids`` name the refunds it made on the invoice (their status lives there).
    """

    id: str
    version: int = 1
    account_id: str
    invoice_id: str
    invoice_number: str
    invoice_date: Day
    credit_note_number: str
    date: Day
    reason: CreditReason
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    currency: Literal["INR"] = "INR"
    supplier: Supplier
    customer: Customer
    place_of_supply: str
    lines: tuple[CreditLine, ...] = Field(min_length=1)
    taxable_amount: int = Field(ge=0)
    tax: gst.TaxBreakdown
    amount: int = Field(gt=0, le=MAX_AMOUNT_PAISE)
    applied_to_due: int = Field(ge=0)
    refund_ids: tuple[str, ...] = ()
    created_at: Timestamp
    # Its registration with the IRP (domain.einvoice; None: issued before e-invoicing existed), and
    # when that last moved it to a new version (None: it is still as issued).
    e_invoice: EInvoice | None = None
    updated_at: Timestamp | None = None

    @property
    def tax_amount(self) -> int:
        return self.tax.total

    @property
    def refund_amount(self) -> int:
        """What was returned (or is being returned) to the customer: ``amount − applied_to_due``."""
        return self.amount - self.applied_to_due

    @property
    def intra_state(self) -> bool:
        return self.supplier.state_code == self.place_of_supply

    @property
    def changed_at(self) -> datetime:
        return self.updated_at or self.created_at

    def record_e_invoice(self, e_invoice: EInvoice, now: datetime) -> CreditNote:
        """The registration with the IRP moved on (``domain.einvoice`` decides how it may): the
        note's next version."""
        return self.model_copy(
            update={"e_invoice": e_invoice, "version": self.version + 1, "updated_at": now}
        )

    def ref(self) -> CreditNoteRef:
        """The note as its invoice lists it (with the taxable value taken from each line)."""
        return CreditNoteRef(
            id=self.id,
            credit_note_number=self.credit_note_number,
            date=self.date,
            amount=self.amount,
            taxable_amount=self.taxable_amount,
            cgst=self.tax.cgst,
            sgst=self.tax.sgst,
            igst=self.tax.igst,
            lines=tuple((line.line, line.taxable_amount) for line in self.lines),
        )

    @model_validator(mode="after")
    def _adds_up(self) -> CreditNote:
        if self.taxable_amount != sum(line.taxable_amount for line in self.lines):
            raise ValueError("taxable_amount must be the sum of the lines")
        if self.amount != self.taxable_amount + self.tax.total:
            raise ValueError("amount must be taxable_amount + tax")
        if self.applied_to_due > self.amount:
            raise ValueError("applied_to_due must not exceed amount")
        if len({line.line for line in self.lines}) != len(self.lines):
            raise ValueError("a line is credited once per credit note")
        return self


@dataclass(frozen=True)
class CreditRequest:
    """What an operator asks for: ``lines`` as (line index, taxable paise), or ``full``."""

    reason: CreditReason
    description: str
    lines: tuple[tuple[int, int], ...] = ()
    full: bool = False

    def __post_init__(self) -> None:
        if self.full == bool(self.lines):
            raise ValueError("a credit request names either lines or full, not both")


@dataclass(frozen=True)
class Credit:
    """A planned credit note and the invoice it leaves."""

    note: CreditNote
    invoice: Invoice

    @property
    def refunds(self) -> tuple[Refund, ...]:
        ids = set(self.note.refund_ids)
        return tuple(r for r in self.invoice.refunds if r.id in ids)


# ------------------------------------------------------------------------------------ changes
@dataclass(frozen=True)
class SaveCreditNote(Change):
    """Store a newly issued credit note (a new item: never overwrites one)."""

    note: CreditNote


@dataclass(frozen=True)
class ReviseCreditNote(Change):
    """Store a credit note's next version (its e-invoice moved), conditional on ``before.version``."""

    before: CreditNote
    after: CreditNote


# -------------------------------------------------------------------------------------- rules
def series(today: date) -> str:
    """The credit notes' series of the financial year of ``today``: ``CN/2627``."""
    return series_key(PREFIX, financial_year(today))


def number(today: date, sequence: int) -> str:
    return format_invoice_number(PREFIX, financial_year(today), sequence)


def deadline(invoice_date: date) -> date:
    """The last day a credit note may be issued for an invoice of ``invoice_date``: 30 November
    following the end of the invoice's financial year (CGST Act s.34(2))."""
    fy_end_year = invoice_date.year + 1 if invoice_date.month >= 4 else invoice_date.year
    return date(fy_end_year, 11, 30)


def check_creditable(invoice: Invoice, today: date) -> None:
    """Refuse (409) a credit note the invoice's status or age does not allow."""
    if invoice.status not in CREDITABLE_STATUSES:
        raise InvalidTransitionError(
            "credit",
            invoice.status,
            f"Cannot issue a credit note for an invoice in status '{invoice.status}'.",
        )
    assert invoice.date is not None and invoice.invoice_number is not None
    last = deadline(invoice.date)
    if today > last:
        raise InvalidTransitionError(
            "credit",
            invoice.status,
            f"Invoice {invoice.invoice_number} of {invoice.date.isoformat()} can no longer be credited: "
            f"a credit note must be issued by 30 November following the end of the invoice's "
            f"financial year ({last.isoformat()}).",
        )


def credited_per_line(invoice: Invoice) -> list[int]:
    """The taxable value already credited on each line."""
    credited = [0] * len(invoice.line_items)
    for note in invoice.credit_notes:
        for index, amount in note.lines:
            credited[index] += amount
    return credited


def remaining_per_line(invoice: Invoice) -> list[int]:
    """What remains of each line to be credited."""
    return [
        line.amount - done for line, done in zip(invoice.line_items, credited_per_line(invoice), strict=True)
    ]


def remaining_tax(invoice: Invoice) -> gst.TaxBreakdown:
    """What remains of each tax component once the earlier credit notes took theirs."""
    return gst.TaxBreakdown(
        rate=invoice.tax.rate,
        cgst=invoice.tax.cgst - sum(c.cgst for c in invoice.credit_notes),
        sgst=invoice.tax.sgst - sum(c.sgst for c in invoice.credit_notes),
        igst=invoice.tax.igst - sum(c.igst for c in invoice.credit_notes),
    )


def credit_tax(invoice: Invoice, taxable: int, *, takes_the_rest: bool) -> gst.TaxBreakdown:
    """The invoice's split on ``taxable``: each component half-up, capped by what remains of it;
    the credit that takes the rest of every line takes exactly the rest of every component."""
    left = remaining_tax(invoice)
    if takes_the_rest:
        return left
    computed = gst.compute_tax(taxable, invoice.supplier.state_code, invoice.place_of_supply)
    return gst.TaxBreakdown(
        rate=invoice.tax.rate,
        cgst=min(computed.cgst, left.cgst),
        sgst=min(computed.sgst, left.sgst),
        igst=min(computed.igst, left.igst),
    )


def _line_description(invoice: Invoice, index: int) -> str:
    line = invoice.line_items[index]
    return f"{line.resource_name} — {line.description}" if line.description else line.resource_name


def credit_lines(invoice: Invoice, request: CreditRequest) -> tuple[CreditLine, ...]:
    """The lines a request credits, refused (422, pointing into the body) beyond what remains."""
    remaining = remaining_per_line(invoice)
    if request.full:
        wanted = [(index, left) for index, left in enumerate(remaining) if left > 0]
        if not wanted:
            raise DomainValidationError(
                f"Nothing remains to be credited on invoice {invoice.invoice_number}.",
                [{"loc": ["body", "full"], "msg": "every line is already credited in full"}],
            )
    else:
        wanted = list(request.lines)
    seen: set[int] = set()
    lines = []
    for position, (index, amount) in enumerate(wanted):
        loc = ["body", "lines", position]
        if not 0 <= index < len(invoice.line_items):
            raise DomainValidationError(
                f"lines.{position}.line: invoice {invoice.invoice_number} has no line {index} "
                f"(it has {len(invoice.line_items)}).",
                [{"loc": [*loc, "line"], "msg": f"no line {index} on the invoice"}],
            )
        if index in seen:
            raise DomainValidationError(
                f"lines.{position}.line: line {index} is named twice.",
                [{"loc": [*loc, "line"], "msg": "each line at most once"}],
            )
        seen.add(index)
        if amount > remaining[index]:
            raise DomainValidationError(
                f"lines.{position}.amount: {amount} paise is more than what remains of line {index} "
                f"({remaining[index]} paise).",
                [{"loc": [*loc, "amount"], "msg": f"at most {remaining[index]} paise remain of this line"}],
            )
        line = invoice.line_items[index]
        lines.append(
            CreditLine(
                line=index,
                description=_line_description(invoice, index),
                sac_code=line.sac_code,
                taxable_amount=amount,
            )
        )
    return tuple(lines)


def refunds_for(invoice: Invoice, amount: int, note_id: str, now: datetime) -> tuple[Refund, ...]:
    """``amount`` refunded against the invoice's captured payments, newest first, one refund each.

    Payments settled from advances (method ``advance``) are not money the provider holds: they are
    never refunded here, and a credit that would need them is refused.
    """
    refunds: list[Refund] = []
    left = amount
    newest_first = sorted(
        enumerate(invoice.payments), key=lambda pair: (pair[1].paid_at, pair[0]), reverse=True
    )
    suffix = note_id.partition("_")[2] or note_id
    for _, payment in newest_first:
        if not left:
            break
        if payment.method == "advance" or payment.receipts:
            continue
        take = min(invoice.refundable(payment.id), left)
        if take <= 0:
            continue
        refunds.append(
            Refund(
                id=f"rfd_{suffix}_{len(refunds) + 1}",
                payment_id=payment.id,
                amount=take,
                reason=RefundReason.CREDIT_NOTE,
                credit_note_id=note_id,
                status=RefundStatus.PENDING,
                created_at=now,
            )
        )
        left -= take
    if left:
        raise DomainValidationError(
            f"Invoice {invoice.invoice_number} was partly settled from advances; a credit beyond what was "
            "paid in money cannot be refunded through the payment provider.",
            [{"loc": ["body"], "msg": "exceeds what can be refunded to the customer's payments"}],
        )
    return tuple(refunds)


def _note(
    invoice: Invoice,
    lines: tuple[CreditLine, ...],
    *,
    note_id: str,
    credit_note_number: str,
    today: date,
    now: datetime,
    reason: CreditReason,
    description: str,
) -> CreditNote:
    taxable = sum(line.taxable_amount for line in lines)
    takes_the_rest = sum(remaining_per_line(invoice)) == taxable
    tax = credit_tax(invoice, taxable, takes_the_rest=takes_the_rest)
    amount = taxable + tax.total
    assert invoice.invoice_number is not None and invoice.date is not None
    return CreditNote(
        id=note_id,
        account_id=invoice.account_id,
        invoice_id=invoice.id,
        invoice_number=invoice.invoice_number,
        invoice_date=invoice.date,
        credit_note_number=credit_note_number,
        date=today,
        reason=reason,
        description=description,
        supplier=invoice.supplier,
        customer=invoice.customer,
        place_of_supply=invoice.place_of_supply,
        lines=lines,
        taxable_amount=taxable,
        tax=tax,
        amount=amount,
        applied_to_due=min(amount, invoice.amount_due),
        created_at=now,
    )


def plan_credit(
    invoice: Invoice,
    request: CreditRequest,
    *,
    note_id: str,
    credit_note_number: str,
    today: date,
    now: datetime,
) -> Credit:
    """The credit note ``request`` makes on ``invoice``, and the invoice after it (one version)."""
    check_creditable(invoice, today)
    lines = credit_lines(invoice, request)
    note = _note(
        invoice,
        lines,
        note_id=note_id,
        credit_note_number=credit_note_number,
        today=today,
        now=now,
        reason=request.reason,
        description=request.description,
    )
    refunds = refunds_for(invoice, note.refund_amount, note_id, now)
    note = note.model_copy(update={"refund_ids": tuple(r.id for r in refunds)})
    return Credit(note=note, invoice=invoice.apply_credit(note.ref(), refunds, now))


def plan_cancellation(
    invoice: Invoice, *, note_id: str, credit_note_number: str, today: date, now: datetime
) -> Credit:
    """Cancel an unpaid invoice with a full credit note (reason ``cancellation``): it owes nothing."""
    invoice.check_cancellable()
    check_creditable(invoice, today)
    request = CreditRequest(
        reason=CreditReason.CANCELLATION,
        description=f"Cancellation of tax invoice {invoice.invoice_number}.",
        full=True,
    )
    note = _note(
        invoice,
        credit_lines(invoice, request),
        note_id=note_id,
        credit_note_number=credit_note_number,
        today=today,
        now=now,
        reason=request.reason,
        description=request.description,
    )
    return Credit(note=note, invoice=invoice.cancel(now, credit=note.ref()))


def resolving(credit: Credit, dispute_id: str, note: str, now: datetime) -> Credit:
    """``credit``, also resolving an open dispute of its invoice as ``credited`` by its note.

    One commit is one version of the invoice: the resolution rides on the credit's version.
    """
    resolved = credit.invoice.resolve_dispute(
        dispute_id, outcome="credited", note=note, now=now, credit_note_id=credit.note.id
    )
    return Credit(note=credit.note, invoice=resolved.model_copy(update={"version": credit.invoice.version}))


def registering(credit: Credit, mode: Mode) -> Credit:
    """``credit`` with its note's e-invoice as it starts (einvoice.md): ``pending`` for a B2B buyer
    with e-invoicing on, else ``not_applicable`` -- also when the invoice's IRN was cancelled at the
    IRP by this very cancellation (nothing registered is left for the note to reverse)."""
    note, invoice = credit.note, credit.invoice
    state = at_issue(mode, note.supplier.gstin, note.customer.gstin)
    if invoice.e_invoice is not None and invoice.e_invoice.status is EInvoiceStatus.CANCELLED:
        state = EInvoice(status=EInvoiceStatus.NOT_APPLICABLE)
    return Credit(note=note.model_copy(update={"e_invoice": state}), invoice=invoice)


def refund_status(refunds: Sequence[Refund]) -> RefundStatus | None:
    """One status for a credit note's refunds: failed if any failed, pending while any is pending."""
    if not refunds:
        return None
    statuses = {r.status for r in refunds}
    if RefundStatus.FAILED in statuses:
        return RefundStatus.FAILED
    if RefundStatus.PENDING in statuses:
        return RefundStatus.PENDING
    return RefundStatus.PROCESSED


@dataclass(frozen=True)
class CreditNoteView:
    """A credit note with the refunds it made, as they stand on its invoice now."""

    note: CreditNote
    refunds: tuple[Refund, ...] = ()

    @property
    def refund_status(self) -> RefundStatus | None:
        return refund_status(self.refunds)


@dataclass(frozen=True)
class CreditNoteDocument:
    """A credit note and the version of it whose PDF is stored (``None``: none yet)."""

    note: CreditNote
    pdf_version: int | None

    @property
    def pdf_is_current(self) -> bool:
        return self.pdf_version == self.note.version


def pdf_key(note: CreditNote) -> str:
    """``pdfs/{account_id}/{credit_note_id}/v{version}.pdf``: beside its account's invoices' PDFs."""
    return f"pdfs/{note.account_id}/{note.id}/v{note.version}.pdf"


def pdf_filename(note: CreditNote) -> str:
    """``CN/2627/000001`` → ``CN-2627-000001.pdf``."""
    return f"{note.credit_note_number.replace('/', '-')}.pdf"
