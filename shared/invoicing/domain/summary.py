"""Per-account totals, kept O(1): each change adds ``contribution(after) - contribution(before)``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from invoicing.domain.invoice import PENDING_STATUSES, Invoice, InvoiceStatus

SUMMARY_FIELDS = (
    "total_paid",
    "total_pending",
    "total_overdue",
    "count_paid",
    "count_pending",
    "count_overdue",
)


class AccountSummary(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    currency: str = "INR"
    total_paid: int = 0
    total_pending: int = 0
    total_overdue: int = 0
    count_paid: int = 0
    count_pending: int = 0
    count_overdue: int = 0


def contribution(invoice: Invoice | None) -> dict[str, int]:
    """What one invoice adds to its account's summary (drafts and absent invoices add nothing)."""
    totals = dict.fromkeys(SUMMARY_FIELDS, 0)
    if invoice is None or invoice.status is InvoiceStatus.DRAFT:
        return totals
    totals["total_paid"] = invoice.amount_paid - invoice.amount_refunded  # net of refunds
    if invoice.status in PENDING_STATUSES:
        totals["total_pending"], totals["count_pending"] = invoice.amount_due, 1
    elif invoice.status is InvoiceStatus.OVERDUE:
        totals["total_overdue"], totals["count_overdue"] = invoice.amount_due, 1
    elif invoice.status is InvoiceStatus.PAID:
        totals["count_paid"] = 1
    return totals


def delta(before: Invoice | None, after: Invoice | None) -> dict[str, int]:
    """The change to apply to the summary; only the non-zero entries."""
    old, new = contribution(before), contribution(after)
    return {name: new[name] - old[name] for name in SUMMARY_FIELDS if new[name] != old[name]}


def summarize(invoices: list[Invoice]) -> AccountSummary:
    """The summary recomputed from scratch (tests and repair tooling; never on a request path)."""
    totals = dict.fromkeys(SUMMARY_FIELDS, 0)
    for invoice in invoices:
        for name, value in contribution(invoice).items():
            totals[name] += value
    return AccountSummary(**totals)
