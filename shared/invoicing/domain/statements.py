"""Statements of account (corrections.md): one account's money events over a date range.

A statement is a job: requested (``pending``), then built in the background from the account's
ledger (``ready``) — a PDF and a CSV in the bucket — or ``failed``. The stored job stays small
whatever the range holds: its range, its status, the customer it is addressed to and, once ready,
the figures (``StatementFigures``): opening and closing balance, totals, how many entries and the
last entry's ``seq``. The entries themselves stay in the ledger: the ledger only ever grows at its
end and never books before a date it already holds, so the entries of the range up to that ``seq``
are exactly the ones the PDF and the CSV show, whenever they are read again.

Balances: positive = the customer owes. ``closing = opening + debits − credits`` of the range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from invoicing.domain.errors import DomainValidationError
from invoicing.domain.invoice import Customer, Supplier
from invoicing.domain.ledger import EntryType, LedgerEntry

MAX_DAYS = 366  # a range covers at most this many days, both ends included
RETENTION = timedelta(days=7)  # the bucket's lifecycle removes exports/ after 7 days; the job goes too


class StatementStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


def check_range(start: date, end: date, today: date) -> None:
    """``start``…``end`` is a range a statement may cover on ``today`` (India's date), else a 422."""
    if end < start:
        raise DomainValidationError(
            "to must not be before from.", [{"loc": ["body", "to"], "msg": "must not be before from"}]
        )
    if end > today:
        raise DomainValidationError(
            f"to must not be in the future (today is {today.isoformat()} in India).",
            [{"loc": ["body", "to"], "msg": "must not be in the future"}],
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise DomainValidationError(
            f"A statement covers at most {MAX_DAYS} days.",
            [{"loc": ["body", "to"], "msg": f"at most {MAX_DAYS} days after from (both included)"}],
        )


@dataclass(frozen=True)
class Totals:
    """What the range moved, by kind (paise, all ≥ 0)."""

    invoiced: int = 0
    paid: int = 0
    credited: int = 0
    refunded: int = 0

    def add(self, entry: LedgerEntry) -> Totals:
        field = {
            EntryType.INVOICE: "invoiced",
            EntryType.PAYMENT: "paid",
            EntryType.CREDIT_NOTE: "credited",
            EntryType.REFUND: "refunded",
        }[entry.type]
        return replace(self, **{field: getattr(self, field) + entry.debit + entry.credit})

    @property
    def debits(self) -> int:
        return self.invoiced + self.refunded

    @property
    def credits(self) -> int:
        return self.paid + self.credited


@dataclass(frozen=True)
class StatementFigures:
    """A ready statement's numbers, and where its entries end in the ledger."""

    opening_balance: int
    totals: Totals
    entry_count: int
    last_seq: int  # the last entry of the range it includes (entries of the range after it came later)
    generation: str = ""  # the ledger generation it was read from

    @property
    def closing_balance(self) -> int:
        return self.opening_balance + self.totals.debits - self.totals.credits


class LedgerInconsistentError(RuntimeError):
    """The ledger's running balances do not add up (a bug or a corrupted ledger): never printed."""


class Running:
    """Figures accumulated entry by entry (a statement's entries are read page by page)."""

    def __init__(self, opening: int) -> None:
        self.opening = opening
        self.balance = opening
        self.totals = Totals()
        self.count = 0
        self.last_seq = 0

    def add(self, entry: LedgerEntry) -> None:
        self.balance += entry.debit - entry.credit
        if entry.balance != self.balance:
            raise LedgerInconsistentError(
                f"ledger entry {entry.seq} of {entry.account_id} carries balance {entry.balance}, "
                f"but the opening balance and the entries before it add up to {self.balance}"
            )
        self.totals = self.totals.add(entry)
        self.count += 1
        self.last_seq = entry.seq

    def figures(self, *, head_seq: int, generation: str) -> StatementFigures:
        return StatementFigures(
            opening_balance=self.opening,
            totals=self.totals,
            entry_count=self.count,
            last_seq=self.last_seq if self.count else head_seq,
            generation=generation,
        )


@dataclass(frozen=True)
class Statement:
    """A statement job as stored (small: no entries)."""

    id: str
    account_id: str
    start: date
    end: date
    status: StatementStatus
    created_at: datetime
    expires_at: datetime
    customer: Customer | None = None  # as on the account's latest invoice when requested
    currency: str = "INR"
    figures: StatementFigures | None = None  # ready only
    failure_reason: str | None = None

    @property
    def pdf_key(self) -> str:
        """``exports/{account}/{id}.pdf``: under the prefix the bucket's lifecycle expires."""
        return f"exports/{self.account_id}/{self.id}.pdf"

    @property
    def csv_key(self) -> str:
        return f"exports/{self.account_id}/{self.id}.csv"

    @property
    def filename(self) -> str:
        """``statement-acc_1-2026-04-01-2026-09-30`` (the PDF and the CSV add their extension)."""
        return f"statement-{self.account_id}-{self.start.isoformat()}-{self.end.isoformat()}"


@dataclass(frozen=True)
class StatementDocument:
    """What the PDF prints: who to whom, the range, its figures and every entry (oldest first)."""

    statement: Statement
    supplier: Supplier
    figures: StatementFigures
    entries: Sequence[LedgerEntry]
    generated_at: datetime
