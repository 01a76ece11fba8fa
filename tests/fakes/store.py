"""One in-memory table: the invoice, document, download, review and outbox stores, and the commit.

``commit`` checks every change's condition first, in order, and raises what the first failing one
means (exactly the errors ``repository.commit`` raises); only then does it apply them all. Derived
bookkeeping (the account summary) follows the invoice changes, as in DynamoDB.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from invoicing.domain import summary
from invoicing.domain.changes import (
    Change,
    Emit,
    IdempotentReplay,
    KeepIdempotency,
    KeepReview,
    LinkProvider,
    SaveInvoice,
    TakeNumber,
)
from invoicing.domain.documents import Download, DownloadStatus, InvoiceDocument, InvoiceOwner
from invoicing.domain.errors import BadRequestError, ConflictError, NotFoundError, SequenceTakenError
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.ledger import LedgerEntry, LedgerEvent, LedgerHead, invoice_entries
from invoicing.domain.outbox import Effect, OutboxMessage
from invoicing.domain.queries import InvoiceRow, ListQuery, Page, SweepPage
from invoicing.domain.reviews import FailedPaymentRecord, ReviewItem
from invoicing.domain.summary import SUMMARY_FIELDS, AccountSummary
from invoicing.domain.sweep import SWEEP_SHARDS

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def _sweep_shard(invoice_id: str) -> int:
    import zlib

    return zlib.crc32(invoice_id.encode()) % SWEEP_SHARDS


def _ts(value: datetime) -> str:
    from datetime import UTC

    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _list_key(invoice: Invoice) -> str:
    if invoice.status is InvoiceStatus.DRAFT or invoice.date is None:
        return f"DRAFT#{_ts(invoice.created_at)}#{invoice.id}"
    assert invoice.issued_at is not None
    return f"{invoice.date.isoformat()}#{_ts(invoice.issued_at)}#{invoice.id}"


@dataclass
class _Outboxed:
    message: OutboxMessage
    due: datetime
    last_error: str | None = None


@dataclass
class InMemoryStore:
    """Every store port of the invoices table, and ``Transactions``, over plain dicts."""

    clock: Any = None  # returns now (for outbox due times and idempotency expiry)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    pdf_versions: dict[str, int] = field(default_factory=dict)
    pdf_failures: dict[str, int] = field(default_factory=dict)
    render_requests: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    summaries: dict[str, dict[str, int]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    markers: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)
    pointers: dict[str, dict[str, str]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    reviews: dict[tuple[str, str], ReviewItem] = field(default_factory=dict)
    failed_payments: dict[tuple[str, str], FailedPaymentRecord] = field(default_factory=dict)
    downloads: dict[str, Download] = field(default_factory=dict)
    outbox: dict[str, _Outboxed] = field(default_factory=dict)
    extra: dict[str, dict[Any, Any]] = field(default_factory=dict)
    ledger_heads: dict[str, LedgerHead] = field(default_factory=dict)
    ledger_entries: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    commits: int = 0

    def _now(self) -> datetime:
        from datetime import UTC

        return self.clock() if self.clock is not None else datetime.now(UTC)

    # ------------------------------------------------------------------ Transactions
    def commit(self, changes: Sequence[Change]) -> None:
        """Check every change's condition (the first failure raises), then apply them all."""
        handlers = []
        for change in changes:
            handler = HANDLERS.get(type(change))
            if handler is None:
                raise TypeError(f"no fake handler is registered for {type(change).__name__}")
            handlers.append((handler, change))
        for (check, _), change in handlers:
            check(self, change)
        for (_, apply), change in handlers:
            apply(self, change)
        self.commits += 1

    def book(self, events: list[LedgerEvent]) -> None:
        """Book money events after each account's ledger head (as the DynamoDB commit does)."""
        by_account: dict[str, list[LedgerEvent]] = {}
        for event in events:
            by_account.setdefault(event.account_id, []).append(event)
        for account_id, account_events in by_account.items():
            head = self.ledger_heads.get(account_id) or self.new_head(
                account_id, booking={e.source for e in account_events}
            )
            entries, after = head.book(account_id, account_events)
            self.ledger_entries.setdefault(account_id, []).extend(entries)
            self.ledger_heads[account_id] = after

    def new_head(self, account_id: str, booking: Collection[str] = ()) -> LedgerHead:
        """The head of an account without one: complete unless it has issued invoices already (from
        before the ledger) other than those being booked now (``repository.ledger.read_head``)."""
        older = any(
            i.account_id == account_id and i.status is not InvoiceStatus.DRAFT and i.id not in booking
            for i in self.invoices.values()
        )
        return LedgerHead(complete=not older)

    def collection(self, name: str) -> dict[Any, Any]:
        """A feature's own documents (credit notes, profiles, ...), by key."""
        return self.extra.setdefault(name, {})

    # ------------------------------------------------------------------ InvoiceStore
    def get(self, invoice_id: str) -> Invoice:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise NotFoundError(f"No invoice {invoice_id}.")
        return invoice

    def summary(self, account_id: str) -> AccountSummary:
        totals = self.summaries.get(account_id, {})
        return AccountSummary(**{name: totals.get(name, 0) for name in SUMMARY_FIELDS})

    def find_by_provider_invoice(self, razorpay_invoice_id: str) -> Invoice:
        pointer = self.pointers.get(razorpay_invoice_id)
        if pointer is None or pointer["kind"] != "razorpay_invoice":
            raise NotFoundError(f"No invoice is collected by Razorpay invoice {razorpay_invoice_id}.")
        return self.get(pointer["document_id"])

    def next_sequence(self, series: str) -> int:
        return self.counters.get(series, 0) + 1

    def owners(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceOwner]:
        return {
            i: InvoiceOwner(i, self.invoices[i].account_id, self.invoices[i].status)
            for i in dict.fromkeys(invoice_ids)
            if i in self.invoices
        }

    def list_page(self, query: ListQuery) -> Page[InvoiceRow]:
        def wanted(invoice: Invoice) -> bool:
            if invoice.account_id != query.account_id:
                return False
            if invoice.status is InvoiceStatus.DRAFT and (
                not query.include_drafts or query.date_from or query.date_to
            ):
                return False
            if query.statuses is not None and invoice.status not in query.statuses:
                return False
            if invoice.date is not None:
                if query.date_from and invoice.date < query.date_from:
                    return False
                if query.date_to and invoice.date > query.date_to:
                    return False
            if query.q:
                text = " ".join(filter(None, [invoice.invoice_number, invoice.description])).casefold()
                if query.q.casefold() not in text:
                    return False
            return True

        ordered = sorted((i for i in self.invoices.values() if wanted(i)), key=_list_key, reverse=True)
        fingerprint = _fingerprint(query)
        start = 0
        if query.cursor:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(query.cursor.encode()))
                if decoded["q"] != fingerprint:
                    raise ValueError
                start = next(n + 1 for n, i in enumerate(ordered) if _list_key(i) == decoded["k"])
            except (ValueError, KeyError, StopIteration, TypeError):
                raise BadRequestError(
                    "The cursor is not valid for this query; start again without a cursor.",
                    [{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
                ) from None
        items = ordered[start : start + query.limit]
        more = start + query.limit < len(ordered)
        cursor = None
        if more and items:
            raw = json.dumps({"k": _list_key(items[-1]), "q": fingerprint}).encode()
            cursor = base64.urlsafe_b64encode(raw).decode()
        return Page(items=[InvoiceRow.of(invoice) for invoice in items], next_cursor=cursor)

    def due_for_sweep(
        self, shard: int, through: date, *, start_key: dict[str, Any] | None = None, limit: int = 500
    ) -> SweepPage:
        due = sorted(
            (
                (f"{i.next_sweep_on.isoformat()}#{i.id}", i)
                for i in self.invoices.values()
                if i.next_sweep_on is not None and i.next_sweep_on <= through and _sweep_shard(i.id) == shard
            ),
            key=lambda pair: pair[0],
        )
        after = (start_key or {}).get("sweep_sk")
        due = [pair for pair in due if after is None or pair[0] > after]
        page = due[:limit]
        last = {"sweep_sk": page[-1][0]} if len(due) > limit else None
        return SweepPage(items=[invoice for _, invoice in page], last_key=last)

    def delete_draft(self, invoice: Invoice) -> None:
        invoice.ensure_deletable()
        stored = self.invoices.get(invoice.id)
        if stored is None or (stored.status, stored.version) != (InvoiceStatus.DRAFT, invoice.version):
            raise ConflictError(
                f"{invoice.id} was changed by someone else (expected version {invoice.version})."
            )
        del self.invoices[invoice.id]

    # ------------------------------------------------------------------ DocumentStore
    def document(self, invoice_id: str) -> InvoiceDocument:
        return InvoiceDocument(
            invoice=self.get(invoice_id),
            pdf_version=self.pdf_versions.get(invoice_id),
            pdf_failed_version=self.pdf_failures.get(invoice_id),
        )

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        if self.pdf_versions.get(invoice_id, 0) >= version:
            return False
        self.pdf_versions[invoice_id] = version
        return True

    def mark_failed(self, invoice_id: str, version: int, reason: str) -> bool:
        if max(self.pdf_versions.get(invoice_id, 0), self.pdf_failures.get(invoice_id, 0)) >= version:
            return False
        self.pdf_failures[invoice_id] = version
        return True

    def request_render(self, invoice_id: str, version: int, now: datetime, *, again_after: timedelta) -> bool:
        requested, at = self.render_requests.get(invoice_id, (0, now))
        if requested >= version and at >= now - again_after:
            return False
        self.render_requests[invoice_id] = (version, now)
        return True

    # ------------------------------------------------------------------ ReviewStore
    def add(self, item: ReviewItem) -> bool:
        key = (item.event_id, _ts(item.occurred_at))
        if key in self.reviews:
            return False
        self.reviews[key] = item
        return True

    def add_failed_payment(self, record: FailedPaymentRecord) -> bool:
        key = (record.invoice_id, record.payment_id)
        if key in self.failed_payments:
            return False
        self.failed_payments[key] = record
        return True

    # ------------------------------------------------------------------ Outbox
    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        waiting = sorted(
            (o for o in self.outbox.values() if o.due <= now), key=lambda o: o.message.created_at
        )
        return [copy.copy(o.message) for o in waiting[:limit]]

    def done(self, message: OutboxMessage) -> None:
        self.outbox.pop(message.id, None)

    def retry_later(self, message: OutboxMessage, at: datetime, error: str) -> None:
        waiting = self.outbox.get(message.id)
        if waiting is not None:
            attempts = waiting.message.attempts + 1
            self.outbox[message.id] = _Outboxed(
                waiting.message.model_copy(update={"attempts": attempts}), at, error
            )

    def message(self, message_id: str) -> OutboxMessage | None:
        waiting = self.outbox.get(message_id)
        return waiting.message if waiting else None

    def waiting_effects(self) -> list[Effect]:
        """Every effect of the messages still in the outbox (what the dispatcher has yet to do)."""
        return [effect for waiting in self.outbox.values() for effect in waiting.message.effects]


# ------------------------------------------------------------------------------ change handlers
Check = Callable[[InMemoryStore, Any], None]
Apply = Callable[[InMemoryStore, Any], None]
HANDLERS: dict[type[Change], tuple[Check, Apply]] = {}


def handles(change_type: type[Change], check: Check) -> Callable[[Apply], Apply]:
    """Register how the fake checks and applies a change type (features add theirs in their module)."""

    def register(apply: Apply) -> Apply:
        HANDLERS[change_type] = (check, apply)
        return apply

    return register


def _no_condition(store: InMemoryStore, change: Any) -> None:
    return None


def _check_save(store: InMemoryStore, change: SaveInvoice) -> None:
    stored = store.invoices.get(change.after.id)
    if change.before is None:
        if stored is not None:
            raise ConflictError(f"Invoice {change.after.id} already exists.")
    elif stored is None or (stored.status, stored.version) != (change.before.status, change.before.version):
        raise ConflictError(
            f"{change.before.id} was changed by someone else (expected version {change.before.version}); "
            "read it again and retry."
        )


@handles(SaveInvoice, _check_save)
def _save(store: InMemoryStore, change: SaveInvoice) -> None:
    after = change.after
    store.invoices[after.id] = after
    totals = store.summaries.setdefault(after.account_id, dict.fromkeys(SUMMARY_FIELDS, 0))
    for name, value in summary.delta(change.before, after).items():
        totals[name] += value
    store.book(invoice_entries(change.before, after))


def _check_number(store: InMemoryStore, change: TakeNumber) -> None:
    last = store.counters.get(change.series)
    free = (last is None) if change.sequence == 1 else (last == change.sequence - 1)
    if not free or (change.series, change.sequence) in store.markers:
        raise SequenceTakenError(f"Number {change.sequence} of {change.series} was taken.")


@handles(TakeNumber, _check_number)
def _number(store: InMemoryStore, change: TakeNumber) -> None:
    store.counters[change.series] = change.sequence
    store.markers[(change.series, change.sequence)] = {
        "number": change.number,
        "document_id": change.document_id,
        "account_id": change.account_id,
    }


def _check_link(store: InMemoryStore, change: LinkProvider) -> None:
    pointer = store.pointers.get(change.provider_id)
    if pointer is not None and pointer["document_id"] != change.document_id:
        raise ConflictError(f"{change.provider_id} already collects for another document.")


@handles(LinkProvider, _check_link)
def _link(store: InMemoryStore, change: LinkProvider) -> None:
    store.pointers[change.provider_id] = {
        "document_id": change.document_id,
        "account_id": change.account_id,
        "kind": change.kind,
    }


def _check_idempotency(store: InMemoryStore, change: KeepIdempotency) -> None:
    stored = store.idempotency.get((change.scope, change.account_id, change.claim.key))
    if stored is not None and stored["expires_at"] >= store._now().timestamp():
        if stored["request_hash"] != change.claim.request_hash:
            raise ConflictError(
                "This Idempotency-Key was already used with a different request body.",
                [{"loc": ["header", "Idempotency-Key"], "msg": "reused with a different body"}],
            )
        raise IdempotentReplay(stored["result_id"])


@handles(KeepIdempotency, _check_idempotency)
def _idempotency(store: InMemoryStore, change: KeepIdempotency) -> None:
    store.idempotency[(change.scope, change.account_id, change.claim.key)] = {
        "request_hash": change.claim.request_hash,
        "result_id": change.result_id,
        "expires_at": store._now().timestamp() + IDEMPOTENCY_TTL_SECONDS,
    }


@handles(KeepReview, _no_condition)
def _review(store: InMemoryStore, change: KeepReview) -> None:
    store.reviews[(change.item.event_id, _ts(change.item.occurred_at))] = change.item


@handles(Emit, _no_condition)
def _emit(store: InMemoryStore, change: Emit) -> None:
    store.outbox[change.message.id] = _Outboxed(change.message, due=store._now())


def _fingerprint(query: ListQuery) -> str:
    return json.dumps(
        [
            query.account_id,
            sorted(query.statuses or []),
            str(query.date_from),
            str(query.date_to),
            query.q,
            query.include_drafts,
        ]
    )


class Documents:
    """``DocumentStore`` view of an :class:`InMemoryStore` (its ``get`` answers documents)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def get(self, invoice_id: str) -> InvoiceDocument:
        return self.store.document(invoice_id)

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        return self.store.mark_rendered(invoice_id, version)

    def mark_failed(self, invoice_id: str, version: int, reason: str) -> bool:
        return self.store.mark_failed(invoice_id, version, reason)

    def request_render(self, invoice_id: str, version: int, now: datetime, *, again_after: timedelta) -> bool:
        return self.store.request_render(invoice_id, version, now, again_after=again_after)


class RenderRequests:
    """``RenderRequests`` view of an :class:`InMemoryStore`: the same rule as an invoice's request."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def request_render(
        self, document: str, document_id: str, version: int, now: datetime, *, again_after: timedelta
    ) -> bool:
        return self.store.request_render(f"{document}#{document_id}", version, now, again_after=again_after)

    def mark_failed(self, document: str, document_id: str, version: int, reason: str) -> bool:
        key = f"{document}#{document_id}"
        if self.store.pdf_failures.get(key, 0) >= version:
            return False
        self.store.pdf_failures[key] = version
        return True

    def failed(self, document: str, document_id: str, version: int) -> bool:
        return self.store.pdf_failures.get(f"{document}#{document_id}") == version


class OutboxView:
    """``Outbox`` view of an :class:`InMemoryStore` (its ``get`` answers messages)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        return self.store.due(now, limit)

    def get(self, message: OutboxMessage) -> OutboxMessage | None:
        return self.store.message(message.id)

    def done(self, message: OutboxMessage) -> None:
        self.store.done(message)

    def retry_later(self, message: OutboxMessage, at: datetime, error: str) -> None:
        self.store.retry_later(message, at, error)


class Downloads:
    """``DownloadStore`` over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def create(self, download: Download) -> Download:
        if download.id in self.store.downloads:
            raise ConflictError(f"Download {download.id} already exists.")
        self.store.downloads[download.id] = download
        return download

    def get(self, download_id: str) -> Download:
        download = self.store.downloads.get(download_id)
        if download is None:
            raise NotFoundError(f"No download {download_id}.")
        return download

    def finish(self, download_id: str, status: DownloadStatus, *, reason: str | None = None) -> bool:
        download = self.store.downloads.get(download_id)
        if download is None or download.status is not DownloadStatus.PENDING:
            return False
        from dataclasses import replace

        self.store.downloads[download_id] = replace(download, status=status)
        return True


class Ledger:
    """``Ledger`` reads over an :class:`InMemoryStore` (commits book the entries).

    The fake keeps one list of entries per account: a rebuild (``tests/fakes/statements.py``)
    replaces it whole, so ``generation`` needs no partition of its own here."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def head(self, account_id: str) -> LedgerHead:
        return self.store.ledger_heads.get(account_id) or self.store.new_head(account_id)

    def balance_before(self, account_id: str, day: date, *, generation: str = "") -> int:
        earlier = [e for e in self.store.ledger_entries.get(account_id, []) if e.date < day]
        return earlier[-1].balance if earlier else 0

    def entries(
        self,
        account_id: str,
        start: date,
        end: date,
        *,
        cursor: str | None = None,
        limit: int = 500,
        generation: str = "",
    ) -> Page[LedgerEntry]:
        wanted = [e for e in self.store.ledger_entries.get(account_id, []) if start <= e.date <= end]
        keys = [f"{e.date.isoformat()}#{e.seq:012d}" for e in wanted]
        begin = keys.index(cursor) + 1 if cursor in keys else 0
        page = wanted[begin : begin + limit]
        more = begin + limit < len(wanted)
        return Page(items=page, next_cursor=keys[begin + len(page) - 1] if more and page else None)
