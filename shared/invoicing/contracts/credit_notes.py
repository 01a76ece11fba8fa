"""Credit notes and dispute decisions (corrections.md) as HTTP models, with the explicit mapping
to and from the domain.

Requests reject unknown fields (422). A credit note body names either ``lines`` (each an index
into the invoice's ``line_items`` and a taxable amount in paise) or ``"full": true``; whether a line
has that much left is the domain's rule (422 pointing at the line).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from invoicing.contracts.common import Request, Response, StrictBool, StrictInt, Timestamp
from invoicing.contracts.einvoices import EInvoiceOut
from invoicing.contracts.invoices import TaxOut
from invoicing.domain.credit_notes import MAX_DESCRIPTION, CreditNoteView, CreditReason, CreditRequest
from invoicing.domain.invoice import MAX_LINES
from invoicing.domain.limits import MAX_AMOUNT_PAISE
from invoicing.domain.queries import IdempotencyClaim

Reason = Literal["deficient_service", "excess_charged", "discount", "cancellation", "other"]


# ------------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------------
class CreditLineIn(Request):
    line: StrictInt = Field(ge=0, lt=MAX_LINES, description="Index into the invoice's line_items.")
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT_PAISE, description="Taxable value to credit, in paise.")


class CreateCreditNoteRequest(Request):
    reason: Reason
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION)
    ]
    lines: list[CreditLineIn] | None = Field(default=None, min_length=1, max_length=MAX_LINES)
    full: StrictBool | None = Field(default=None, description="true: credit everything not yet credited.")

    @model_validator(mode="after")
    def _lines_or_full(self) -> CreateCreditNoteRequest:
        if bool(self.lines) == bool(self.full):
            raise ValueError('send either "lines" or "full": true')
        return self

    def to_domain(self) -> CreditRequest:
        return CreditRequest(
            reason=CreditReason(self.reason),
            description=self.description,
            lines=tuple((line.line, line.amount) for line in self.lines or ()),
            full=bool(self.full),
        )

    def claim(self, key: str | None, invoice_id: str) -> IdempotencyClaim | None:
        """The key with a hash of the parsed body and the invoice it is for (a key reused on another
        invoice, or with another body, is a 409)."""
        if not key:
            return None
        body = {"invoice_id": invoice_id, **self.model_dump(mode="json")}
        return IdempotencyClaim.of(key, json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


class ResolveDisputeRequest(Request):
    outcome: Literal["credited", "rejected"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    credit_note: CreateCreditNoteRequest | None = Field(
        default=None, description="The credit note to issue; required when the outcome is credited."
    )

    @model_validator(mode="after")
    def _credit_note_with_credited(self) -> ResolveDisputeRequest:
        if (self.outcome == "credited") != (self.credit_note is not None):
            raise ValueError("credit_note is required when the outcome is credited, and only then")
        return self


# ------------------------------------------------------------------------------------------------
# Responses
# ------------------------------------------------------------------------------------------------
class CreditNoteLineOut(Response):
    line: int
    description: str
    sac_code: str
    taxable_amount: int


class CreditNoteRefundOut(Response):
    status: Literal["pending", "processed", "failed"]
    razorpay_refund_ids: list[str]


class CreditNoteResponse(Response):
    """The CreditNote object of corrections.md."""

    id: str
    account_id: str
    invoice_id: str
    invoice_number: str
    invoice_date: date
    credit_note_number: str
    date: date
    reason: Reason
    description: str
    lines: list[CreditNoteLineOut]
    taxable_amount: int
    tax: TaxOut
    tax_amount: int
    amount: int = Field(description="taxable_amount + tax_amount")
    applied_to_due: int = Field(description="The part that reduced the invoice's amount_due.")
    refund_amount: int = Field(description="The part returned to the customer: amount - applied_to_due.")
    refund: CreditNoteRefundOut | None
    created_at: Timestamp
    e_invoice: EInvoiceOut | None = Field(
        description="Its registration with the IRP as a CRN (einvoice.md); null before e-invoicing."
    )

    @classmethod
    def from_domain(cls, view: CreditNoteView) -> CreditNoteResponse:
        note = view.note
        status = view.refund_status
        return cls(
            id=note.id,
            account_id=note.account_id,
            invoice_id=note.invoice_id,
            invoice_number=note.invoice_number,
            invoice_date=note.invoice_date,
            credit_note_number=note.credit_note_number,
            date=note.date,
            reason=note.reason.value,
            description=note.description,
            lines=[
                CreditNoteLineOut(
                    line=line.line,
                    description=line.description,
                    sac_code=line.sac_code,
                    taxable_amount=line.taxable_amount,
                )
                for line in note.lines
            ],
            taxable_amount=note.taxable_amount,
            tax=TaxOut(rate=note.tax.rate, cgst=note.tax.cgst, sgst=note.tax.sgst, igst=note.tax.igst),
            tax_amount=note.tax_amount,
            amount=note.amount,
            applied_to_due=note.applied_to_due,
            refund_amount=note.refund_amount,
            refund=None
            if status is None
            else CreditNoteRefundOut(
                status=status.value,
                razorpay_refund_ids=[r.razorpay_refund_id for r in view.refunds if r.razorpay_refund_id],
            ),
            created_at=note.created_at,
            e_invoice=EInvoiceOut.from_domain(note.e_invoice),
        )


class CreditNoteListResponse(Response):
    items: list[CreditNoteResponse]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class DisputeOut(Response):
    """The Dispute object of corrections.md."""

    id: str
    invoice_id: str
    status: Literal["open", "resolved"]
    reason: str
    expected_correction: str | None
    outcome: Literal["credited", "rejected"] | None
    note: str | None
    credit_note_id: str | None
    created_at: Timestamp
    resolved_at: Timestamp | None


class DisputeListResponse(Response):
    items: list[DisputeOut]
