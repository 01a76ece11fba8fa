"""What a read asks for and what it returns: list queries, pages, idempotency claims."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from invoicing.domain.invoice import BillingPeriod, Customer, Invoice, InvoiceStatus

T = TypeVar("T")


@dataclass(frozen=True)
class ListQuery:
    """One page of an account's invoices, newest first."""

    account_id: str
    statuses: frozenset[InvoiceStatus] | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    limit: int = 25
    cursor: str | None = None
    include_drafts: bool = False


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice as a list shows it: a row of the list, the CSV export and a statement's addressee.

    What a list page shows of each invoice, read from the account index's entries (one ``Query``
    a page).
    """

    id: str
    account_id: str
    status: InvoiceStatus
    invoice_number: str | None
    date: dt.date | None
    due_date: dt.date | None  # dt: the field above hides the type
    description: str | None
    billing_period: BillingPeriod
    customer: Customer
    currency: str
    amount: int
    taxable_amount: int
    tax_amount: int
    amount_paid: int
    amount_credited: int
    amount_refunded: int
    amount_due: int
    paid_at: dt.datetime | None

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceRow:
        return cls(
            id=invoice.id,
            account_id=invoice.account_id,
            status=invoice.status,
            invoice_number=invoice.invoice_number,
            date=invoice.date,
            due_date=invoice.due_date,
            description=invoice.description,
            billing_period=invoice.billing_period,
            customer=invoice.customer,
            currency=invoice.currency,
            amount=invoice.amount,
            taxable_amount=invoice.taxable_amount,
            tax_amount=invoice.tax_amount,
            amount_paid=invoice.amount_paid,
            amount_credited=invoice.amount_credited,
            amount_refunded=invoice.amount_refunded,
            amount_due=invoice.amount_due,
            paid_at=invoice.paid_at,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


@dataclass(frozen=True)
class IdempotencyClaim:
    """An ``Idempotency-Key`` and a hash of the request it arrived with."""

    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str, body: bytes) -> IdempotencyClaim:
        return cls(key=key, request_hash=hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class SweepPage:
    """One page of the sweep's index; ``last_key`` resumes after it (``None``: the shard is done)."""

    items: Sequence[Invoice]
    last_key: dict[str, Any] | None = None
