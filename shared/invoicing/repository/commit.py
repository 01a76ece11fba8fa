"""``Transactions.commit``: a list of domain changes written in ONE ``TransactWriteItems``.

Each change (``domain.changes.Change``) is turned into one or more transaction items, each with its
condition, by the *writer* registered for its type (:func:`writes`); derived bookkeeping joins
them (an invoice's account-summary delta). When the transaction is cancelled, the index of the
failed condition says which item lost, and that item's meaning of "lost" is raised: a stale
invoice is a ``ConflictError``, a taken number a ``SequenceTakenError``, a used idempotency key an
``IdempotentReplay`` (same request) or ``ConflictError`` (another request).

A feature registers the writers of its own changes in its own repository module (credit notes in
``repository.credit_notes``, ...) and lists that module in ``WRITER_MODULES``.

A commit of exactly one plain put or update is sent as that single call instead (a transaction
costs twice the write units).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError

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
from invoicing.domain.errors import ConflictError, RetryableError, SequenceTakenError
from invoicing.domain.invoice import Invoice
from invoicing.domain.ledger import LedgerEvent, invoice_entries
from invoicing.repository import ledger, records
from invoicing.repository.errors import error_code
from invoicing.repository.reviews import review_to_item
from invoicing.repository.table import Cancelled, Table, serialize

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
LEDGER_ATTEMPTS = 5  # another commit of the same account booked first: book after it

# Repository modules that register writers for their changes (imported once, on first commit).
WRITER_MODULES: tuple[str, ...] = (
    "invoicing.repository.credit_notes",
    "invoicing.repository.billing",
    "invoicing.repository.wallet",
)


@dataclass
class Plan:
    """Transaction items, each with what its failed condition means."""

    table: Table
    now: datetime
    items: list[dict[str, Any]] = field(default_factory=list)
    on_failure: list[Callable[[], Exception]] = field(default_factory=list)
    ledger: dict[str, list[LedgerEvent]] = field(default_factory=dict)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # summary deltas, by account

    def add_to_summary(self, account_id: str, delta: dict[str, int]) -> None:
        """Totals to ``ADD`` to the account's summary item within this transaction."""
        totals = self.totals.setdefault(account_id, {})
        for name, amount in delta.items():
            totals[name] = totals.get(name, 0) + amount

    def record(self, events: list[LedgerEvent]) -> None:
        """Money events to book in the accounts' ledgers within this transaction."""
        for event in events:
            self.ledger.setdefault(event.account_id, []).append(event)

    def add(self, kind: str, spec: dict[str, Any], on_failure: Callable[[], Exception]) -> None:
        self.items.append({kind: {"TableName": self.table.name, **spec}})
        self.on_failure.append(on_failure)

    def put(self, item: dict[str, Any], on_failure: Callable[[], Exception], **condition: Any) -> None:
        self.add("Put", {"Item": serialize(item), **condition}, on_failure)

    def update(self, key: dict[str, Any], on_failure: Callable[[], Exception], **spec: Any) -> None:
        self.add("Update", {"Key": serialize(key), **spec}, on_failure)


C = TypeVar("C", bound=Change)
Writer = Callable[[Plan, Any], None]
_WRITERS: dict[type[Change], Writer] = {}


def writes(change_type: type[C]) -> Callable[[Callable[[Plan, C], None]], Callable[[Plan, C], None]]:
    """Register the function that adds a change type's items to a plan."""

    def register(writer: Callable[[Plan, C], None]) -> Callable[[Plan, C], None]:
        _WRITERS[change_type] = writer
        return writer

    return register


class DynamoTransactions:
    """``services.ports.Transactions`` on the invoices table."""

    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def commit(self, changes: Sequence[Change]) -> None:
        """Write every change or none; raises what the first failed condition means."""
        _load_writers()
        for _ in range(LEDGER_ATTEMPTS):
            plan = Plan(self._table, datetime.fromtimestamp(self._clock(), UTC))
            for change in changes:
                writer = _WRITERS.get(type(change))
                if writer is None:
                    raise TypeError(f"no writer is registered for {type(change).__name__}")
                writer(plan, change)
            _book_and_total(plan)
            try:
                self._send(plan)
            except _LedgerMoved:
                continue
            return
        raise RetryableError("The account's ledger kept moving; retry.")

    def _send(self, plan: Plan) -> None:
        if not plan.items:
            return
        if len(plan.items) == 1:
            self._single(plan)
            return
        try:
            self._table.transact(plan.items)
        except Cancelled as cancelled:
            index = cancelled.first_failed()
            if index is None:
                raise cancelled.as_error() from None
            raise plan.on_failure[index]() from None

    def _single(self, plan: Plan) -> None:
        ((kind, spec),) = plan.items[0].items()
        operation = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}[kind]
        try:
            self._table.call(operation, **spec)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise plan.on_failure[0]() from None
            raise


class _LedgerMoved(Exception):
    """Only the ledger head's condition failed: another commit booked first."""


def _book_and_total(plan: Plan) -> None:
    """Book the plan's money events after each account's current ledger head (one read each), and
    move each account's summary: its totals and its head are one item, so one update does both."""
    for account_id in dict.fromkeys([*plan.ledger, *plan.totals]):
        add = {name: amount for name, amount in plan.totals.get(account_id, {}).items() if amount}
        events = plan.ledger.get(account_id)
        if not events:
            if add:
                clause, names, values = records.summary_totals_added(add)
                plan.update(
                    records.summary_key(account_id),
                    lambda: ConflictError("The account summary could not be updated."),
                    UpdateExpression=clause,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=serialize(values),
                )
            continue
        stored = ledger.read_stored_head(plan.table, account_id)
        entries, after = stored.head.book(account_id, events)
        for entry in entries:
            plan.put(
                ledger.entry_to_item(entry, after.generation),
                _LedgerMoved,
                ConditionExpression="attribute_not_exists(pk)",
            )
        head = ledger.head_update(stored.head, after, add=add)
        plan.update(ledger.head_key(account_id), _LedgerMoved, **head)
        if stored.legacy:  # the head moved onto the summary: its old item goes
            plan.add(
                "Delete",
                {
                    "Key": serialize(ledger.legacy_head_key(account_id)),
                    "ConditionExpression": "attribute_exists(pk)",
                },
                _LedgerMoved,
            )


def _load_writers() -> None:
    for module in WRITER_MODULES:
        importlib.import_module(module)


def stale(document_id: str, version: int) -> ConflictError:
    return ConflictError(
        f"{document_id} was changed by someone else (expected version {version}); read it again and retry."
    )


def guarded_by_version(before_status: str | None, before_version: int) -> dict[str, Any]:
    """The condition of every versioned document write: still at the status and version read."""
    names = {"#version": "version"}
    values: dict[str, Any] = {":version": before_version}
    expression = "#version = :version"
    if before_status is not None:
        names["#status"] = "status"
        values[":status"] = before_status
        expression = "#status = :status AND " + expression
    return {
        "ConditionExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": serialize(values),
    }


# ------------------------------------------------------------------------------------ writers
@writes(SaveInvoice)
def _save_invoice(plan: Plan, change: SaveInvoice) -> None:
    before, after = change.before, change.after
    item = records.invoice_to_item(after)
    if before is None:
        exists = ConflictError(f"Invoice {after.id} already exists.")
        plan.put(item, lambda: exists, ConditionExpression="attribute_not_exists(pk)")
    else:
        plan.put(
            item,
            lambda: stale(before.id, before.version),
            **guarded_by_version(before.status.value, before.version),
        )
    add_summary(plan, before, after)
    plan.record(invoice_entries(before, after))


def add_summary(plan: Plan, before: Invoice | None, after: Invoice) -> None:
    """The account summary moves by ``summary.delta`` in the same transaction (``ADD``)."""
    change = summary.delta(before, after)
    if change:
        plan.add_to_summary(after.account_id, change)


@writes(TakeNumber)
def _take_number(plan: Plan, change: TakeNumber) -> None:
    sequence, series = change.sequence, change.series

    def taken() -> Exception:
        return SequenceTakenError(f"Number {sequence} of {series} was taken.")

    plan.update(
        records.counter_key(series),
        taken,
        UpdateExpression="SET #last = :seq, entity = :entity",
        ConditionExpression="attribute_not_exists(pk)" if sequence == 1 else "#last = :prev",
        ExpressionAttributeNames={"#last": "last"},
        ExpressionAttributeValues=serialize(
            {":seq": sequence, ":entity": "counter"} | ({":prev": sequence - 1} if sequence > 1 else {})
        ),
    )
    plan.put(
        {
            **records.marker_key(series, sequence),
            "entity": "number",
            "number": change.number,
            "document_id": change.document_id,
            "account_id": change.account_id,
        },
        taken,
        ConditionExpression="attribute_not_exists(pk)",
    )


@writes(LinkProvider)
def _link_provider(plan: Plan, change: LinkProvider) -> None:
    plan.put(
        {
            **records.provider_pointer_key(change.provider_id),
            "entity": "provider_pointer",
            "kind": change.kind,
            "document_id": change.document_id,
            "account_id": change.account_id,
        },
        lambda: ConflictError(f"{change.provider_id} already collects for another document."),
        ConditionExpression="attribute_not_exists(pk) OR document_id = :id",
        ExpressionAttributeValues=serialize({":id": change.document_id}),
    )


@writes(KeepIdempotency)
def _keep_idempotency(plan: Plan, change: KeepIdempotency) -> None:
    now = int(plan.now.timestamp())
    key = records.idempotency_key(change.scope, change.account_id, change.claim.key)
    table = plan.table

    def replay() -> Exception:
        stored = table.get(key) or {}
        if stored.get("request_hash") != change.claim.request_hash:
            return ConflictError(
                "This Idempotency-Key was already used with a different request body.",
                [{"loc": ["header", "Idempotency-Key"], "msg": "reused with a different body"}],
            )
        return IdempotentReplay(str(stored.get("result_id")))

    plan.put(
        {
            **key,
            "entity": "idempotency",
            "request_hash": change.claim.request_hash,
            "result_id": change.result_id,
            "expires_at": now + IDEMPOTENCY_TTL_SECONDS,
        },
        replay,
        ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
        ExpressionAttributeValues=serialize({":now": now}),
    )


@writes(KeepReview)
def _keep_review(plan: Plan, change: KeepReview) -> None:
    plain = {k: v for k, v in review_to_item(change.item).items() if v is not None}
    plan.put(plain, lambda: ConflictError("The review item could not be written."))


@writes(Emit)
def _emit(plan: Plan, change: Emit) -> None:
    message_id = change.message.id
    plan.put(
        records.outbox_to_item(change.message),
        lambda: ConflictError(f"Outbox message {message_id} already exists."),
    )
