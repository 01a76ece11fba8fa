"""Write cost of one invoice's life, in write request units as DynamoDB bills them.

- ``cost.wru_per_invoice_life.3_lines`` and ``.50_lines`` (goals ≤ 45 and ≤ 160): every DynamoDB
  write the service makes for one invoice, summed over its life: create (a draft), issue, one
  partial payment (the webhook's path), one overdue mark (the daily sweep), and every render those
  changes ask for — with the outbox dispatcher running after each step (it writes too: it deletes
  the messages it performed). The whole stack runs in-process under moto, through the services and
  the functions' own wiring and handlers (the renderer through its handler, fed from the queue).

How a write is billed (on-demand; the same units as provisioned capacity):

- the table: an item write costs its size rounded up to the next KB, the larger of the item before
  and after (``PutItem`` over an item, ``UpdateItem``), at least 1; a ``DeleteItem`` the size of
  what it deleted; every item of a ``TransactWriteItems`` twice that (``ConditionCheck`` included);
- each global secondary index the write touches: an entry added or removed costs its projected size
  (the keys plus what the index projects) rounded up per KB; an entry whose index key changed costs
  both; an entry whose projected attributes changed, the larger of the two; an entry that does not
  change (or an item the sparse index does not hold) costs nothing. Index writes are not doubled
  for transactions (DynamoDB propagates them as ordinary writes), and the 100 bytes of per-entry
  overhead DynamoDB adds to index *storage* are left out.

Item sizes follow DynamoDB's rules: attribute names plus values (strings in UTF-8, numbers about
one byte per two significant digits plus one, lists and maps 3 bytes plus one per element). Each
write's items are read before and after it from moto, outside the call counters.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import botocore.client

from benchmarks import support

LINES = (3, 50)
KB = 1024
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


# ------------------------------------------------------------------------------------- item sizes
def value_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one typed attribute value."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = Decimal(inner).normalize().as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    if kind in ("SS", "BS"):
        return sum(len(v.encode() if isinstance(v, str) else v) for v in inner)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in inner)
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def units(size: int) -> int:
    return math.ceil(size / KB)


# ---------------------------------------------------------------------------------------- billing
class WriteMeter:
    """Wraps botocore's API call: each DynamoDB write is billed from its items before and after."""

    def __init__(self) -> None:
        self.wru: Counter[str] = Counter()
        self._schemas: dict[str, tuple[list[str], list[tuple[str, list[str], dict[str, Any]]]]] = {}
        self._inner = botocore.client.BaseClient._make_api_call

    def __enter__(self) -> WriteMeter:
        meter, inner = self, self._inner

        def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name != "dynamodb" or operation not in _WRITES:
                return inner(client, operation, params)
            writes = list(meter._writes(operation, params))
            before = [meter._read(client, table, key) for table, key, _ in writes]
            answer = inner(client, operation, params)
            for (table, key, transactional), old in zip(writes, before, strict=True):
                new = meter._read(client, table, key)
                meter._bill(client, table, old, new, transactional)
            return answer

        botocore.client.BaseClient._make_api_call = metered
        return self

    def __exit__(self, *_: object) -> None:
        botocore.client.BaseClient._make_api_call = self._inner

    def total(self) -> int:
        return sum(self.wru.values())

    # ---------------------------------------------------------------------------------- internals
    def _writes(self, operation: str, params: dict[str, Any]) -> Any:
        """(table, key, transactional) of every item the write touches."""
        if operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((_, action),) = entry.items()
                yield action["TableName"], action.get("Key") or action["Item"], True
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    put, delete = request.get("PutRequest"), request.get("DeleteRequest")
                    yield table, (put["Item"] if put else delete["Key"]), False
        else:
            yield params["TableName"], params.get("Key") or params["Item"], False

    def _schema(self, client: Any, table: str) -> tuple[list[str], list[tuple[str, list[str], dict]]]:
        if table not in self._schemas:
            described = support._original(client, "DescribeTable", {"TableName": table})["Table"]
            keys = [k["AttributeName"] for k in described["KeySchema"]]
            indexes = [
                (i["IndexName"], [k["AttributeName"] for k in i["KeySchema"]], i["Projection"])
                for i in described.get("GlobalSecondaryIndexes", [])
            ]
            self._schemas[table] = (keys, indexes)
        return self._schemas[table]

    def _read(self, client: Any, table: str, key_or_item: dict[str, Any]) -> dict[str, Any] | None:
        keys, _ = self._schema(client, table)
        key = {name: key_or_item[name] for name in keys}
        answer = support._original(
            client, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}
        )
        return answer.get("Item")

    def _bill(self, client: Any, table: str, old: dict | None, new: dict | None, transactional: bool) -> None:
        keys, indexes = self._schema(client, table)
        base = max(1, units(max(item_size(old), item_size(new))))
        self.wru["table"] += base * (2 if transactional else 1)
        for name, index_keys, projection in indexes:
            before, after = (_entry(item, keys, index_keys, projection) for item in (old, new))
            if before is None and after is None:
                continue
            if before is None or after is None:
                self.wru[name] += units(item_size(before or after))
            elif any(before[k] != after[k] for k in index_keys):
                self.wru[name] += units(item_size(before)) + units(item_size(after))
            elif before != after:
                self.wru[name] += units(max(item_size(before), item_size(after)))


def _entry(
    item: dict[str, Any] | None, keys: list[str], index_keys: list[str], projection: dict[str, Any]
) -> dict[str, Any] | None:
    """The index entry of ``item`` (``None``: the sparse index does not hold it)."""
    if item is None or any(k not in item for k in index_keys):
        return None
    kind = projection["ProjectionType"]
    if kind == "ALL":
        return dict(item)
    names = {*keys, *index_keys, *(projection.get("NonKeyAttributes", []) if kind == "INCLUDE" else [])}
    return {k: v for k, v in item.items() if k in names}


# ------------------------------------------------------------------------------------ the life
def invoice_life(lines: int) -> dict[str, int]:
    """Write units of one invoice's life with ``lines`` lines, per table and index."""
    from infra.demo import draft_fields
    from invoicing.domain.notices import NoticeKind, PaymentNotice
    from invoicing.domain.numbering import ist_date
    from invoicing.wiring import common, sweep, webhook
    from invoicing.wiring.api import invoice_service
    from tests.support.razorpay import standin_responses
    from tests.support.stack import MotoStack
    from tests.unit.factories import payment

    stack, previous = MotoStack(), dict(os.environ)
    env = stack.ready()
    try:
        os.environ.update(env)
        common.reset()
        issued_at = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)
        common.clock().set(lambda: issued_at)
        with standin_responses(), WriteMeter() as meter:
            service = invoice_service()
            draft = service.create(account_id="acc_cost", fields=draft_fields(date(2026, 9, 1), lines=lines))
            invoice = service.issue(draft.id)
            stack.render()

            paid_at = issued_at + timedelta(days=2)
            common.clock().set(lambda: paid_at)
            notice = PaymentNotice(
                event_id="evt_cost_1",
                event_type="invoice.partially_paid",
                kind=NoticeKind.PAYMENT,
                occurred_at=paid_at,
                invoice_id=invoice.id,
                account_id=invoice.account_id,
                ours=True,
                provider_invoice_id=invoice.razorpay_invoice_id,
                payment=payment(invoice.amount // 2, "pay_Cost0001", paid_at=paid_at),
            )
            webhook.payment_service().handle(notice)
            stack.render()

            assert invoice.due_date is not None
            overdue_at = datetime.combine(invoice.due_date + timedelta(days=1), datetime.min.time(), UTC)
            overdue_at += timedelta(hours=1)
            common.clock().set(lambda: overdue_at)
            report = sweep.overdue_sweep().run(overdue_at)
            assert report.overdue == 1, report.as_dict()
            assert ist_date(overdue_at) > invoice.due_date
            stack.render()
        return dict(meter.wru)
    finally:
        stack.stop()
        for name in env:  # only what the stack set: the renderer keeps SOURCE_DATE_EPOCH process-wide
            os.environ.pop(name, None)
        os.environ.update(previous)
        common.reset()
        common.clock().set(lambda: datetime.now(UTC))


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    for lines in LINES:
        figures[f"cost.wru_per_invoice_life.{lines}_lines"] = sum(invoice_life(lines).values())
    return figures


if __name__ == "__main__":
    for lines in LINES:
        by_part = invoice_life(lines)
        print(lines, "lines:", sum(by_part.values()), "WRU", by_part)
