"""The e-invoice contract (einvoice.md): the ``e_invoice`` object and the operator routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from invoicing.contracts.common import Request, Response, Timestamp
from invoicing.domain.einvoice import EInvoice, EInvoiceEntry

EInvoiceStatusValue = Literal["not_applicable", "pending", "generated", "retrying", "failed", "cancelled"]


class EInvoiceErrorOut(Response):
    code: str
    message: str
    kind: Literal["validation", "transient", "duplicate_mismatch"]


class EInvoiceOut(Response):
    status: EInvoiceStatusValue
    irn: str | None = Field(description="64 hex characters, once generated.")
    ack_no: str | None = Field(description="15 digits, once generated.")
    ack_date: Timestamp | None
    signed_qr: str | None = Field(description="The IRP's signed QR JWT (RS256).")
    error: EInvoiceErrorOut | None
    attempts: int
    cancelled_at: Timestamp | None

    @classmethod
    def from_domain(cls, state: EInvoice | None) -> EInvoiceOut | None:
        if state is None:
            return None
        return cls(
            status=state.status.value,
            irn=state.irn,
            ack_no=state.ack_no,
            ack_date=state.ack_date,
            signed_qr=state.signed_qr,
            error=EInvoiceErrorOut(**state.error.model_dump(mode="json")) if state.error else None,
            attempts=state.attempts,
            cancelled_at=state.cancelled_at,
        )


class EInvoiceRow(Response):
    document_id: str
    type: Literal["invoice", "credit_note"]
    number: str | None
    account_id: str
    e_invoice: EInvoiceOut

    @classmethod
    def from_domain(cls, entry: EInvoiceEntry) -> EInvoiceRow:
        state = EInvoiceOut.from_domain(entry.e_invoice)
        assert state is not None
        return cls(
            document_id=entry.document_id,
            type=entry.document,
            number=entry.number,
            account_id=entry.account_id,
            e_invoice=state,
        )


class EInvoiceListResponse(Response):
    items: list[EInvoiceRow]
    next_cursor: str | None


class ListEInvoicesQuery(Request):
    status: Literal["failed", "retrying", "pending"] = Field(
        default="failed", description="Registrations in this status (default failed), newest change first."
    )


class EInvoiceRetryResponse(Response):
    document_id: str
    e_invoice: EInvoiceOut
