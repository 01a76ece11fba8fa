"""What a read asks for and what it returns: list queries, pages, idempotency claims."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from invoicing.domain.invoice import Invoice, InvoiceStatus

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
