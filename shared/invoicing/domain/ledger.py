"""The account ledger: one entry per money event, each carrying the running balance after it.

Positive balance = the customer owes us. Entries are *derived* from what a commit changes — the one
rule is :func:`invoice_entries` — and written in the same transaction as that change, so the
ledger can never disagree with the invoices it summarises:

- an invoice issued: a debit of its ``amount`` on its issue date;
- a payment received (any method but ``advance``): a credit on the day it was paid;
- a credit note: a credit of its ``amount`` on its date;
- a refund, once Razorpay has processed it: a debit on the day it was processed (a pending or
  failed refund has not moved money yet);
- a prepaid top-up paid: a credit of its ``total`` on the day it was paid (``topup_entry``, booked by
  the commit that issues its receipt voucher);
- settling an invoice from advances moves no money and adds no entry (so a negative balance is
  advance not yet used).

Booking order. Entries are numbered in commit order (``seq``) and each one's ``balance`` is the
previous entry's plus its debit minus its credit. Their ``date`` is the event's date, except that
an entry is never booked before the latest date already in the ledger (a payment made yesterday
but reported today is booked today): dates never go backwards, so a statement can read any date
range straight off the ledger and its running balance is always the one printed.

Accounts older than the ledger. Their head says ``complete=False`` (or is missing while the account
already has invoices): entries before the ledger existed are not booked yet. ``domain.backfill``
rebuilds such a ledger from the account's invoices into a new *generation* of entries, and the
head switches to it in one conditional write; statements read only complete ledgers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from invoicing.domain.invoice import Invoice, InvoiceStatus, RefundStatus
from invoicing.domain.numbering import ist_date

ADVANCE = "advance"  # a payment drawn from the account's prepaid advances


class EntryType(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    REFUND = "refund"


@dataclass(frozen=True)
class LedgerEvent:
    """A money event before it is booked (no sequence or running balance yet)."""

    account_id: str
    type: EntryType
    date: date
    reference: str  # invoice, credit note or payment number shown on a statement
    description: str
    debit: int = 0
    credit: int = 0
    source: str = ""  # what it records ("inv_…", "pay_…", "cn_…", "rfd_…"): unique per account


@dataclass(frozen=True)
class LedgerEntry:
    """A booked event: its place in the ledger and the balance after it."""

    account_id: str
    seq: int
    date: date
    type: EntryType
    reference: str
    description: str
    debit: int
    credit: int
    balance: int
    source: str


@dataclass(frozen=True)
class LedgerHead:
    """Where an account's ledger stands: the last entry's number, balance and date.

    ``generation`` names the set of entries that is current ("" for the first one; a backfill
    writes a new one). ``complete`` is False while entries from before the ledger may be missing.
    """

    seq: int = 0
    balance: int = 0
    last_date: date | None = None
    generation: str = ""
    complete: bool = True

    def book(self, account_id: str, events: list[LedgerEvent]) -> tuple[list[LedgerEntry], LedgerHead]:
        """``events`` booked after this head, in order; and the head after them."""
        entries: list[LedgerEntry] = []
        head = self
        for event in events:
            booked = max(event.date, head.last_date) if head.last_date else event.date
            balance = head.balance + event.debit - event.credit
            entry = LedgerEntry(
                account_id=account_id,
                seq=head.seq + 1,
                date=booked,
                type=event.type,
                reference=event.reference,
                description=event.description,
                debit=event.debit,
                credit=event.credit,
                balance=balance,
                source=event.source,
            )
            entries.append(entry)
            head = replace(head, seq=entry.seq, balance=balance, last_date=booked)
        return entries, head


def invoice_entries(before: Invoice | None, after: Invoice) -> list[LedgerEvent]:
    """The money events a change of an invoice records (in the order they happened)."""
    if after.status is InvoiceStatus.DRAFT:
        return []
    events: list[LedgerEvent] = []
    number = after.invoice_number or after.id
    if before is None or before.status is InvoiceStatus.DRAFT:
        assert after.date is not None
        events.append(
            LedgerEvent(
                after.account_id,
                EntryType.INVOICE,
                after.date,
                number,
                after.description or f"Invoice {number}",
                debit=after.amount,
                source=after.id,
            )
        )
    known_payments = {p.id for p in before.payments} if before else set()
    for payment in after.payments:
        if payment.id in known_payments or payment.method == ADVANCE:
            continue
        events.append(
            LedgerEvent(
                after.account_id,
                EntryType.PAYMENT,
                ist_date(payment.paid_at),
                payment.id,
                f"Payment for {number} ({payment.method})",
                credit=payment.amount,
                source=payment.id,
            )
        )
    known_notes = {c.id for c in before.credit_notes} if before else set()
    for note in after.credit_notes:
        if note.id not in known_notes:
            events.append(
                LedgerEvent(
                    after.account_id,
                    EntryType.CREDIT_NOTE,
                    note.date,
                    note.credit_note_number,
                    f"Credit note against {number}",
                    credit=note.amount,
                    source=note.id,
                )
            )
    processed_before = (
        {r.id for r in before.refunds if r.status is RefundStatus.PROCESSED} if before else set()
    )
    for refund in after.refunds:
        if refund.status is RefundStatus.PROCESSED and refund.id not in processed_before:
            assert refund.settled_at is not None
            events.append(
                LedgerEvent(
                    after.account_id,
                    EntryType.REFUND,
                    ist_date(refund.settled_at),
                    refund.razorpay_refund_id or refund.id,
                    f"Refund on {number}",
                    debit=refund.amount,
                    source=refund.id,
                )
            )
    return events


def topup_entry(
    account_id: str, *, top_up_id: str, receipt_number: str, paid_on: date, total: int, method: str
) -> LedgerEvent:
    """A prepaid top-up paid: a payment, credit of its ``total`` (GST included), referenced by its
    receipt voucher's number. Settling invoices from the advance later books nothing."""
    return LedgerEvent(
        account_id,
        EntryType.PAYMENT,
        paid_on,
        receipt_number,
        f"Wallet top-up ({method}), receipt voucher {receipt_number}",
        credit=total,
        source=top_up_id,
    )
