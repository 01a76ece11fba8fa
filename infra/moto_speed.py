"""Make moto's ``TransactWriteItems`` cost what the transaction touches, not what the table holds.

moto (5.x) backs up every table a transaction names with ``copy.deepcopy`` — once per *item* of the
transaction — to roll back when a condition fails. Usage ingestion commits 100-item transactions
into a table of thousands of usage items, so each would take minutes. Here moto's own transaction
code runs unchanged (conditions, cancellation reasons, writes); only the backup is replaced: the
items the transaction names are snapshotted before it runs and put back on any failure, and the
table-wide copy is skipped (moto's rollback re-assigns the same, already restored, table). For the
local stack (``install``, for good), and for the contract tests, the integration tests and the
benchmarks (``per_item_rollback``, for a block). Emulator speed only: DynamoDB has no such cost,
and the semantics are moto's.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


def _patches() -> tuple[Any, Any, Any]:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def key(table: Table, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
        item_key = op["Key"] if "Key" in op else op["Item"]
        hash_value = DynamoType(item_key[table.hash_key_attr])
        range_value = DynamoType(item_key[table.range_key_attr]) if table.range_key_attr else None
        return hash_value, range_value

    def restore(table: Table, hash_value: Any, range_value: Any, item: Any) -> None:
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        elif item is None:
            table.items.get(hash_value, {}).pop(range_value, None)
        else:
            table.items.setdefault(hash_value, {})[range_value] = item

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            hash_value, range_value = key(table, op)
            current = (
                table.get_item(hash_value, range_value) if range_value or not table.range_key_attr else None
            )
            snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(snapshots):
                restore(table, hash_value, range_value, item)
            raise

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    return models, transact, types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)


@contextmanager
def per_item_rollback() -> Iterator[None]:
    models, transact, shim = _patches()
    with (
        mock.patch.object(models, "copy", shim),
        mock.patch.object(models.DynamoDBBackend, "transact_write_items", transact),
    ):
        yield


_installed: list[bool] = []


def install() -> None:
    """For the rest of the process (the local stack's embedded moto server)."""
    if _installed:
        return
    models, transact, shim = _patches()
    models.copy = shim
    models.DynamoDBBackend.transact_write_items = transact
    _installed.append(True)
