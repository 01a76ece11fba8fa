"""The statement routes' contract (corrections.md, "Statements of account")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from invoicing.contracts.common import AccountId, DateIn, Request, Response, Timestamp
from invoicing.domain.documents import DownloadLink
from invoicing.domain.ledger import LedgerEntry
from invoicing.domain.statements import Statement, Totals


class StatementRequest(Request):
    account_id: AccountId
    start: DateIn = Field(alias="from", description="First day (YYYY-MM-DD), included.")
    end: DateIn = Field(
        alias="to", description="Last day (YYYY-MM-DD), included; not in the future, at most 366 days on."
    )


class StatementAcceptedResponse(Response):
    id: str
    status: Literal["pending"] = "pending"


class StatementEntryOut(Response):
    date: str = Field(description="YYYY-MM-DD: when it counts (invoice: issued; payment: received; ...).")
    type: Literal["invoice", "payment", "credit_note", "refund"]
    reference: str = Field(description="The invoice, credit note or payment number.")
    description: str
    debit: int = Field(description="Paise the customer came to owe (an invoice, a refund).")
    credit: int = Field(description="Paise that reduced what the customer owes (a payment, a credit note).")
    balance: int = Field(description="Paise owed after this entry (negative: held for the customer).")

    @classmethod
    def from_domain(cls, entry: LedgerEntry) -> StatementEntryOut:
        return cls(
            date=entry.date.isoformat(),
            type=entry.type.value,
            reference=entry.reference,
            description=entry.description,
            debit=entry.debit,
            credit=entry.credit,
            balance=entry.balance,
        )


class StatementTotalsOut(Response):
    invoiced: int
    paid: int
    credited: int
    refunded: int

    @classmethod
    def from_domain(cls, totals: Totals) -> StatementTotalsOut:
        return cls(
            invoiced=totals.invoiced, paid=totals.paid, credited=totals.credited, refunded=totals.refunded
        )


class StatementResponse(Response):
    id: str
    account_id: str
    from_: str = Field(alias="from", serialization_alias="from", description="YYYY-MM-DD")
    to: str = Field(description="YYYY-MM-DD")
    status: Literal["pending", "ready", "failed"]
    currency: str
    opening_balance: int | None = Field(description="Paise owed at the start of `from` (ready only).")
    closing_balance: int | None = Field(description="opening + debits − credits of the range (ready only).")
    totals: StatementTotalsOut | None = Field(description="What the range moved, by kind (ready only).")
    entries: list[StatementEntryOut] = Field(description="Oldest first; empty until ready.")
    pdf_url: str | None = Field(description="The PDF (presigned, at most 15 minutes); ready only.")
    csv_url: str | None = Field(description="The CSV (presigned, at most 15 minutes); ready only.")
    expires_at: Timestamp | None = Field(description="When the links stop working; ready only.")

    @classmethod
    def from_domain(
        cls,
        statement: Statement,
        entries: list[LedgerEntry],
        pdf: DownloadLink | None,
        csv: DownloadLink | None,
    ) -> StatementResponse:
        figures = statement.figures
        return cls.model_validate(
            {
                "id": statement.id,
                "account_id": statement.account_id,
                "from": statement.start.isoformat(),
                "to": statement.end.isoformat(),
                "status": statement.status.value,
                "currency": statement.currency,
                "opening_balance": figures.opening_balance if figures else None,
                "closing_balance": figures.closing_balance if figures else None,
                "totals": StatementTotalsOut.from_domain(figures.totals) if figures else None,
                "entries": [StatementEntryOut.from_domain(entry) for entry in entries],
                "pdf_url": pdf.url if pdf else None,
                "csv_url": csv.url if csv else None,
                "expires_at": min(pdf.expires_at, csv.expires_at) if pdf and csv else None,
            }
        )
