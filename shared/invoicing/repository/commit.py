"""``Transactions.commit``: a list of domain changes written in ONE ``TransactWriteItems``.

Each change (``domain.changes``) becomes one or more transaction items with its condition; derived
bookkeeping joins them (an invoice's account-summary delta). When the transaction is cancelled, the
index of the failed condition says which change lost, and that change's meaning of "lost" is
raised: a stale invoice is a ``ConflictError``, a taken number a ``SequenceTakenError``, a used
idempotency key an ``IdempotentReplay`` (same request) or ``ConflictError`` (another request).

A commit of exactly one plain put or update is sent as that single call instead (a transaction
costs twice the write units).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
from invoicing.domain.errors import ConflictError, SequenceTakenError
from invoicing.repository import records
from invoicing.repository.errors import error_code
from invoicing.repository.reviews import review_to_item
from invoicing.repository.table import Cancelled, Table, serialize, ts

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


@dataclass
class _Plan:
    """Transaction items, each with what its failed condition means."""

    items: list[dict[str, Any]] = field(default_factory=list)
    on_failure: list[Callable[[], Exception]] = field(default_factory=list)

    def add(self, kind: str, spec: dict[str, Any], on_failure: Callable[[], Exception]) -> None:
        self.items.append({kind: spec})
        self.on_failure.append(on_failure)


class DynamoTransactions:
    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def commit(self, changes: Sequence[Change]) -> None:
        """Write every change or none; raises what the first failed condition means."""
        plan = _Plan()
        for change in changes:
            self._add(plan, change)
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

    # ------------------------------------------------------------------ changes
    def _add(self, plan: _Plan, change: Change) -> None:
        table = self._table.name
        if isinstance(change, SaveInvoice):
            before, after = change.before, change.after
            put: dict[str, Any] = {"TableName": table, "Item": serialize(records.invoice_to_item(after))}
            if before is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
                plan.add("Put", put, lambda: ConflictError(f"Invoice {after.id} already exists."))
            else:
                put |= {
                    "ConditionExpression": "#status = :status AND #version = :version",
                    "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
                    "ExpressionAttributeValues": serialize(
                        {":status": before.status.value, ":version": before.version}
                    ),
                }
                plan.add("Put", put, lambda: stale(before.id, before.version))
            self._add_summary(plan, before, after)
        elif isinstance(change, TakeNumber):
            self._add_number(plan, change)
        elif isinstance(change, LinkProvider):
            plan.add(
                "Put",
                {
                    "TableName": table,
                    "Item": serialize(
                        {
                            **records.provider_pointer_key(change.provider_id),
                            "entity": "provider_pointer",
                            "kind": change.kind,
                            "document_id": change.document_id,
                            "account_id": change.account_id,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk) OR document_id = :id",
                    "ExpressionAttributeValues": serialize({":id": change.document_id}),
                },
                lambda: ConflictError(f"{change.provider_id} already collects for another document."),
            )
        elif isinstance(change, KeepIdempotency):
            now = int(self._clock())
            key = records.idempotency_key(change.scope, change.account_id, change.claim.key)
            plan.add(
                "Put",
                {
                    "TableName": table,
                    "Item": serialize(
                        {
                            **key,
                            "entity": "idempotency",
                            "request_hash": change.claim.request_hash,
                            "result_id": change.result_id,
                            "expires_at": now + IDEMPOTENCY_TTL_SECONDS,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                    "ExpressionAttributeValues": serialize({":now": now}),
                },
                lambda: self._replay(key, change),
            )
        elif isinstance(change, KeepReview):
            plain = {k: v for k, v in review_to_item(change.item).items() if v is not None}
            plan.add(
                "Put",
                {"TableName": table, "Item": serialize(plain)},
                lambda: ConflictError("The review item could not be written."),
            )
        elif isinstance(change, Emit):
            now = datetime.fromtimestamp(self._clock(), UTC)
            plan.add(
                "Put",
                {"TableName": table, "Item": serialize(records.outbox_to_item(change.message, ts(now)))},
                lambda: ConflictError(f"Outbox message {change.message.id} already exists."),
            )
        else:  # pragma: no cover - the type union is exhaustive
            raise TypeError(f"cannot commit {type(change).__name__}")

    def _add_summary(self, plan: _Plan, before: Any, after: Any) -> None:
        change = summary.delta(before, after)
        if not change:
            return
        names = {f"#f{i}": name for i, name in enumerate(change)}
        values = {f":v{i}": value for i, value in enumerate(change.values())}
        plan.add(
            "Update",
            {
                "TableName": self._table.name,
                "Key": serialize(records.summary_key(after.account_id)),
                "UpdateExpression": "ADD " + ", ".join(f"#f{i} :v{i}" for i in range(len(change))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": serialize(values),
            },
            lambda: ConflictError("The account summary could not be updated."),
        )

    def _add_number(self, plan: _Plan, change: TakeNumber) -> None:
        sequence, series = change.sequence, change.series

        def taken() -> Exception:
            return SequenceTakenError(f"Number {sequence} of {series} was taken.")

        plan.add(
            "Update",
            {
                "TableName": self._table.name,
                "Key": serialize(records.counter_key(series)),
                "UpdateExpression": "SET #last = :seq, entity = :entity",
                "ConditionExpression": "attribute_not_exists(pk)" if sequence == 1 else "#last = :prev",
                "ExpressionAttributeNames": {"#last": "last"},
                "ExpressionAttributeValues": serialize(
                    {":seq": sequence, ":entity": "counter"}
                    | ({":prev": sequence - 1} if sequence > 1 else {})
                ),
            },
            taken,
        )
        plan.add(
            "Put",
            {
                "TableName": self._table.name,
                "Item": serialize(
                    {
                        **records.marker_key(series, sequence),
                        "entity": "number",
                        "number": change.number,
                        "document_id": change.document_id,
                        "account_id": change.account_id,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            },
            taken,
        )

    # ------------------------------------------------------------------ helpers
    def _single(self, plan: _Plan) -> None:
        ((kind, spec),) = plan.items[0].items()
        operation = {"Put": "put_item", "Update": "update_item"}[kind]
        try:
            self._table.call(operation, **spec)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise plan.on_failure[0]() from None
            raise

    def _replay(self, key: dict[str, Any], change: KeepIdempotency) -> Exception:
        stored = self._table.get(key) or {}
        if stored.get("request_hash") != change.claim.request_hash:
            return ConflictError(
                "This Idempotency-Key was already used with a different request body.",
                [{"loc": ["header", "Idempotency-Key"], "msg": "reused with a different body"}],
            )
        return IdempotentReplay(str(stored.get("result_id")))


def stale(document_id: str, version: int) -> ConflictError:
    return ConflictError(
        f"{document_id} was changed by someone else (expected version {version}); read it again and retry."
    )
