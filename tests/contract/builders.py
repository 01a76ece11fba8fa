"""Putting invoices into a store the way the services do: through ``Transactions.commit``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from invoicing.domain.changes import Change, SaveInvoice, TakeNumber
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import ist_date
from invoicing.repository import records
from tests.contract.conftest import Stores
from tests.unit.factories import NOW, draft, payment

SERIES = "INV/2627"


def create(stores: Stores, **overrides: Any) -> Invoice:
    invoice = draft(**({"now": stores.clock.now} | overrides))
    stores.transactions.commit([SaveInvoice(None, invoice)])
    return invoice


def save(stores: Stores, before: Invoice, after: Invoice, *extra: Change) -> Invoice:
    stores.transactions.commit([SaveInvoice(before, after), *extra])
    return after


def issue(
    stores: Stores,
    invoice: Invoice | None = None,
    *,
    now: datetime | None = None,
    today: date | None = None,
    **overrides: Any,
) -> Invoice:
    """Create (unless given) and issue an invoice with the series' next number, as the service does."""
    invoice = invoice or create(stores, **overrides)
    now = now or stores.clock.now
    sequence = stores.invoices.next_sequence(SERIES)
    number = f"{SERIES}/{sequence:06d}"
    issued = invoice.issue(
        invoice_number=number,
        today=today or ist_date(now),
        now=now,
        razorpay_invoice_id=f"inv_Rzp{invoice.id[-8:]}",
        payment_url="https://rzp.io/i/example",
    )
    stores.transactions.commit(
        [TakeNumber(SERIES, sequence, number, issued.id, issued.account_id), SaveInvoice(invoice, issued)]
    )
    return issued


def pay(stores: Stores, invoice: Invoice, amount: int, payment_id: str = "pay_1") -> Invoice:
    return save(stores, invoice, invoice.apply_payment(payment(amount, payment_id), stores.clock.now))


def overdue(stores: Stores, invoice: Invoice) -> Invoice:
    assert invoice.due_date is not None
    return save(stores, invoice, invoice.mark_overdue(invoice.due_date + timedelta(days=1), NOW))


def old_shape(invoice: Invoice) -> dict[str, Any]:
    """The invoice's item as written before ``doc`` (repository.packing): every field plain."""
    return {
        **records.invoice_key(invoice.id),
        "entity": "invoice",
        **invoice.model_dump(mode="json"),
        **{name: getattr(invoice, name) for name in records.DERIVED},
        "gsi1pk": records.account_partition(invoice.account_id),
        "gsi1sk": records.list_sort_key(invoice),
        "search_text": records.search_text(invoice),
    }
