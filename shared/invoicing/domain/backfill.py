"""Rebuilding the ledger of an account older than the ledger, from its invoices.

Every entry the ledger books is derived from an invoice change (``ledger.invoice_entries``), so an
invoice as it stands, taken from nothing, yields every money event it ever recorded: its issue, its
payments, its credit notes, its processed refunds. A rebuild books those events of all the
account's invoices in date order, into a new generation of entries, each with its running balance.

Entries already booked are kept: one whose event the listing of invoices did not show (an index
that lags behind a commit, or an event that is not an invoice's) is booked with the rest on its own
date, so nothing booked is ever lost; and since every event carries its ``source`` (an invoice,
payment, credit note or refund id, unique per account), nothing is booked twice.

Within a day, events come in the order they happened where the invoice says when (issued, paid,
refund settled), then the rest (credit notes, entries only the ledger knew); events the ledger had
already booked keep their booking order among equals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.ledger import LedgerEntry, LedgerEvent, LedgerHead, invoice_entries

_LATER = "~"  # sorts after every ISO timestamp: events of a day whose moment is unknown come last


def _moments(invoice: Invoice) -> dict[str, datetime]:
    """When each of the invoice's money events happened, by ``source``, where the invoice says so;
    never before the invoice was issued (a payment held for a draft counts from its issue)."""
    issued = invoice.issued_at
    moments: dict[str, datetime] = {}
    if issued is not None:
        moments[invoice.id] = issued
    moments.update({payment.id: payment.paid_at for payment in invoice.payments})
    moments.update({r.id: r.settled_at for r in invoice.refunds if r.settled_at is not None})
    return {source: max(moment, issued) if issued else moment for source, moment in moments.items()}


def _as_event(entry: LedgerEntry) -> LedgerEvent:
    return LedgerEvent(
        account_id=entry.account_id,
        type=entry.type,
        date=entry.date,
        reference=entry.reference,
        description=entry.description,
        debit=entry.debit,
        credit=entry.credit,
        source=entry.source,
    )


def rebuild(
    account_id: str,
    invoices: Iterable[Invoice],
    booked: Iterable[LedgerEntry],
    *,
    generation: str,
) -> tuple[list[LedgerEntry], LedgerHead]:
    """The account's complete ledger, as a new ``generation``, and its head (``complete``)."""
    known = sorted(booked, key=lambda e: e.seq)
    seqs = {entry.source: entry.seq for entry in known if entry.source}
    unbooked = 1 << 62
    found: dict[str, tuple[tuple[str, str, int, int], LedgerEvent]] = {}
    order = 0
    for invoice in invoices:
        if invoice.account_id != account_id or invoice.status is InvoiceStatus.DRAFT:
            continue
        moments = _moments(invoice)
        for event in invoice_entries(None, invoice):
            moment = moments.get(event.source)
            when = moment.astimezone(UTC).isoformat() if moment else _LATER
            key = (event.date.isoformat(), when, seqs.get(event.source, unbooked), order)
            found[event.source] = (key, event)
            order += 1
    for entry in known:
        source = entry.source or f"seq:{entry.seq}"
        if source not in found:
            found[source] = ((entry.date.isoformat(), _LATER, entry.seq, order), _as_event(entry))
            order += 1
    events = [event for _, event in sorted(found.values(), key=lambda pair: pair[0])]
    return LedgerHead(generation=generation, complete=True).book(account_id, events)
