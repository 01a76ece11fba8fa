"""moto's ``TransactWriteItems`` backs up the whole table once *per item* of the transaction (a deep
copy each time, for a rollback it needs once). With a table of thousands of usage items, a
100-item transaction then costs minutes. :func:`copy_tables_once_per_transaction` makes it copy each
table once per transaction — the same rollback, the same semantics — for the local stack, the
billing tests and the benchmarks. Emulator speed only: DynamoDB has no such cost.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_state = threading.local()
_installed = False


class _CopyOncePerTransaction:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        cache = getattr(_state, "tables", None)
        if cache is None or type(value).__name__ != "Table":
            return copy.deepcopy(value, memo)
        key = id(value)
        if key not in cache:
            cache[key] = copy.deepcopy(value, memo)
        return cache[key]


def copy_tables_once_per_transaction() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _state.tables = {}
        try:
            return original(self, transact_items)
        finally:
            _state.tables = None

    models.copy = _CopyOncePerTransaction()  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
