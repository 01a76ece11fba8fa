"""Make moto's ``TransactWriteItems`` cost what the transaction touches, not what the table holds.

moto (5.x) backs up every table a transaction names with ``copy.deepcopy`` — once per item of the
transaction — so that it can roll back when a condition fails. That copy grows with every item ever
written to the table (stream records included): a few dozen invoices make each commit take seconds.

:func:`per_item_rollback` keeps moto's own transaction code (its condition checks, its
cancellation reasons, its writes) and replaces only the backup: before the transaction runs it
snapshots just the items the transaction names, and on any failure puts exactly those back. The
table-wide copy is skipped by handing moto's module a ``copy`` whose ``deepcopy`` returns a
``Table`` as is (its rollback then re-assigns the same, already restored, object).
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.dynamodb import models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_original = models.DynamoDBBackend.transact_write_items


def _key(table: Table, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    key = op["Key"] if "Key" in op else op["Item"]
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _restore(table: Table, hash_value: DynamoType, range_value: DynamoType | None, item: Any) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    if item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def _transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
    snapshots = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        hash_value, range_value = _key(table, op)
        current = table.get_item(hash_value, range_value) if range_value or not table.range_key_attr else None
        snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))
    try:
        _original(self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(snapshots):
            _restore(table, hash_value, range_value, item)
        raise


def _deepcopy(value: Any, memo: Any = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


@contextmanager
def per_item_rollback() -> Iterator[None]:
    shim = types.SimpleNamespace(deepcopy=_deepcopy, copy=copy.copy)
    with (
        mock.patch.object(models, "copy", shim),
        mock.patch.object(models.DynamoDBBackend, "transact_write_items", _transact),
    ):
        yield
