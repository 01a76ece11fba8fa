"""Make moto's DynamoDB cost what a request touches, not what the table or the item model holds.

Emulator speed only: DynamoDB has none of these costs, and every answer stays moto's own. Where
moto (5.x) spends most of an integration test's time (and the local stack's):

1. **Transactions.** moto backs up every table a transaction names with ``copy.deepcopy`` — once
   per *item* of the transaction — to roll back when a condition fails. Usage ingestion commits
   100-item transactions into a table of thousands of usage items, so each would take minutes.
   moto's own transaction code runs unchanged (conditions, cancellation reasons, writes); only the
   backup is replaced: the items the transaction names are snapshotted before it runs and put back
   on any failure, and the table-wide copy is skipped (moto's rollback re-assigns the same, already
   restored, table).
2. **Building an item.** moto checks the 400 KB item limit on every attribute it sets, summing the
   sizes of all the attributes already set: quadratic in the attributes. A new item is built with
   one running sum and checked against the same limit once (the same ``ItemSizeTooLarge`` when it
   is over); updates keep moto's per-attribute check.
3. **Querying.** moto answers every ``Query`` by sorting *all* the table's items (``all_items``)
   and comparing each one's key: a poll of the outbox costs the whole table, every half
   second in the local stack. For the duration of a query, ``all_items`` holds only the candidates:
   the partition a table query names (the items DynamoDB would read), or, for an index query on a
   string hash key, the items carrying that value; moto's own key conditions, sort, filters, paging
   and projections then run on them unchanged.
4. **Answering.** moto's generic response serializer walks the botocore shape of every attribute
   value member by member (ten members per value, alias look-ups for each): serializing a 500-line
   invoice item takes seconds. An attribute value (string, number, boolean, null, sets, nested maps
   and lists) is written as the JSON DynamoDB sends, which it already is in moto's model; a value
   holding binary goes the generic way (``tests/unit/test_moto_speed.py`` compares both).
5. **Routing.** moto's server lists its package directory (~200 ``stat`` calls) on every request
   to recognise a service by host name; the list is read once.
6. **Dispatching.** moto lists the methods of a service's response class (``inspect.getmembers``,
   ~0.5 ms) on every request of every service to see whether the action exists; the list is made
   once per class (the classes do not change while the process runs).
7. **Naming a service in an error.** The first time a moto package answers an error, moto makes a
   new botocore session and lists botocore's ~400 service folders to map the package to a service
   name; the list is made once per process, not once per package.
8. **Reading expressions.** moto lexes every condition expression (compiling its six regular
   expressions again for each token) and parses every update expression on every request, though a
   service sends the same few expressions with different values. A condition expression's tokens
   and an update expression's tree are kept by their text: the tokens are immutable tuples that
   moto only reads, and moto's update validator works on a deep copy of the tree it is given, so
   sharing them changes no answer (attribute names and values are still looked up per request).

``install()`` applies them for the rest of the process: the local stack's embedded moto server, the
test processes (``tests/conftest.py``) and the benchmarks.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from typing import Any

_installed: list[bool] = []


def install() -> None:
    """For the rest of the process (idempotent)."""
    if _installed:
        return
    _per_item_rollback()
    _linear_item_size()
    _query_candidates_only()
    _plain_attribute_values()
    _module_list_read_once()
    _action_names_listed_once()
    _service_names_listed_once()
    _expressions_read_once()
    _installed.append(True)


def _per_item_rollback() -> None:
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

    models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact


def _linear_item_size() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    limit = 405000  # LimitedSizeDict's own figure (DynamoDB's 400 KB, as moto measured it)

    def build(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(values)
        size = 0
        for name, value in attrs.items():
            typed = DynamoType(value)
            size += dynamo_type.bytesize(name) + typed.size()
            if size > limit:
                raise ItemSizeTooLarge
            dict.__setitem__(values, name, typed)
        self.attrs = values

    Item.__init__ = build  # type: ignore[method-assign]


def _query_candidates_only() -> None:
    import threading

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    every_item = Table.all_items
    scope = threading.local()  # moto's server answers requests on threads of its own

    def all_items(self: Table) -> Any:
        only = getattr(scope, "only", None)
        return list(only[1]) if only is not None and only[0] is self else every_item(self)

    def unsorted(self: Table) -> Iterator[Any]:
        for stored in self.items.values():
            if self.range_key_attr:
                yield from stored.values()
            else:
                yield stored

    def candidates(self: Table, hash_key: Any, index_name: str | None, conditions: Any) -> list[Any] | None:
        """The items the query can match, or ``None`` when they are not known cheaply."""
        if index_name is None:
            if hash_key is None:
                return None
            partition = self.items.get(hash_key)
            if partition is None:
                return []
            if not self.range_key_attr:
                return [partition]
            return sorted(partition.values(), key=lambda item: item.range_key)
        wanted = [
            (name, value.value)
            for name, value in conditions or ()
            if isinstance(value, DynamoType) and value.type == "S"
        ]
        if not wanted:
            return None
        return [
            item
            for item in unsorted(self)  # moto sorts what is left, by the index's keys
            if all(
                (found := item.attrs.get(name)) is not None and found.type == "S" and found.value == value
                for name, value in wanted
            )
        ]

    original = Table.query

    def query(
        self: Table,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        found = candidates(self, hash_key, index_name, kwargs.get("hash_key_conditions"))
        scope.only = None if found is None else (self, found)
        try:
            return original(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                *args,
                **kwargs,
            )
        finally:
            scope.only = None

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def _module_list_read_once() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


def _action_names_listed_once() -> None:
    import functools

    from moto.core import responses

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)  # type: ignore[assignment]


def _service_names_listed_once() -> None:
    import functools

    from botocore.session import Session
    from moto.core import utils

    @functools.cache
    def by_package() -> dict[str, str]:
        return {name.replace("-", ""): name for name in Session().get_available_services()}

    utils.service_name_from_moto_package_name = lambda package: by_package().get(package, package)  # type: ignore[assignment]


def _expressions_read_once() -> None:
    import functools
    from collections import deque

    from moto.dynamodb import comparisons
    from moto.dynamodb.parsing import expressions

    parser = comparisons.ConditionExpressionParser
    lex = parser._lex_condition_expression

    @functools.lru_cache(maxsize=1024)
    def tokens(expression: str) -> tuple[Any, ...]:
        return tuple(lex(parser(expression, None, None)))

    def lex_once(self: Any) -> deque[Any]:
        return deque(tokens(self.condition_expression))

    parser._lex_condition_expression = lex_once  # type: ignore[method-assign]
    make = expressions.UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    parse_once = functools.lru_cache(maxsize=1024)(
        lambda expression: make(expressions.UpdateExpressionParser, expression)
    )
    expressions.UpdateExpressionParser.make = classmethod(lambda cls, expression: parse_once(expression))  # type: ignore[method-assign, assignment]


class _Generic(Exception):
    """This value needs moto's own serializer (binary data)."""


def _plain_attribute_values() -> None:
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.dynamo_type import DynamoType

    scalar = frozenset({"S", "N", "BOOL", "NULL", "SS", "NS"})

    def plain(value: Any) -> dict[str, Any]:
        if isinstance(value, DynamoType):
            kind, inner = value.type, value.value
        elif isinstance(value, dict) and len(value) == 1:
            ((kind, inner),) = value.items()
        else:
            raise _Generic
        if kind in scalar:
            return {kind: inner}
        if kind == "M":
            return {"M": {name: plain(member) for name, member in inner.items()}}
        if kind == "L":
            return {"L": [plain(member) for member in inner]}
        raise _Generic

    generic = BaseJSONSerializer._serialize_type_structure

    def structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == "AttributeValue" and value is not None:
            try:
                self._default_serialize(serialized, plain(value), shape, key)
                return
            except _Generic:
                pass
        generic(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = structure  # type: ignore[method-assign]
