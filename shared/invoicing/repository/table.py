"""The one way this package talks to DynamoDB: a table, its calls, its transactions.

Every call goes through :meth:`Table.call`, which turns a botocore ``ClientError`` into a domain
error in one place (``repository.errors``); a conditional-check failure is left as it is for the
caller, who knows what the condition meant. Transactions go through :meth:`Table.transact`, which
raises :class:`Cancelled` with the per-item cancellation reasons so the caller can tell *which*
condition failed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from invoicing.domain.errors import ConflictError, RetryableError
from invoicing.repository.errors import RETRYABLE_CODES, error_code, translate_client_error

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for TransactWriteItems

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item (str, int, bool, None, lists and maps of them) in DynamoDB's typed form."""
    return {key: _serializer.serialize(value) for key, value in item.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; every number we store is an integer."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Binary):
        return bytes(value.value)  # type: ignore[attr-defined]  # the stubs omit Binary.value
    return value


def ts(value: datetime) -> str:
    """A stored timestamp: ISO 8601 in UTC with ``Z`` (sorts as text in time order)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Cancelled(Exception):
    """A transaction was cancelled; ``reasons[i]`` is why item ``i`` was (``"None"``: it was fine)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = list(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    def first_failed(self) -> int | None:
        return next((i for i, r in enumerate(self.reasons) if r == "ConditionalCheckFailed"), None)

    def as_error(self) -> Exception:
        """What a cancellation without a failed condition means: contention or a transient fault."""
        if any(r in ("TransactionConflict", *RETRYABLE_CODES) for r in self.reasons):
            return RetryableError(f"DynamoDB transaction cancelled: {', '.join(self.reasons)}.")
        return ConflictError(f"The change conflicted with another one ({', '.join(self.reasons)}).")


LIST_INDEX = "AccountIndex"


class Table:
    """One DynamoDB table through one (cached, injected) client. ``list_index`` names the index of
    an account's documents the stores list through: ``AccountIndex``, or ``ListIndex`` while a
    stage created before AccountIndex backfills it (template.yaml's ``KeepListIndex``)."""

    def __init__(self, name: str, client: Any, *, list_index: str = LIST_INDEX) -> None:
        self.name = name
        self.client = client
        self.list_index = list_index

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One API call on this table; a failed condition raises ``ClientError`` as is."""
        if operation not in ("batch_get_item", "batch_write_item", "transact_write_items"):
            params.setdefault("TableName", self.name)
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**params)
            return response
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise translate_client_error(exc) from exc

    def get(self, key: dict[str, Any], *, consistent: bool = True) -> dict[str, Any] | None:
        """One ``GetItem``: the plain item, or ``None``."""
        response = self.call("get_item", Key=serialize(key), ConsistentRead=consistent)
        item = response.get("Item")
        return deserialize(item) if item else None

    def put_new(self, item: dict[str, Any]) -> bool:
        """One ``PutItem`` that never overwrites: ``False`` if the key was already there."""
        plain = {key: value for key, value in item.items() if value is not None}
        try:
            self.call("put_item", Item=serialize(plain), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_if(self, item: dict[str, Any], **params: Any) -> bool:
        """One conditional ``PutItem`` of a plain item: ``False`` (nothing written) when the
        condition failed."""
        return self._if("put_item", Item=serialize(item), **params)

    def update_if(self, key: dict[str, Any], **params: Any) -> bool:
        """One conditional ``UpdateItem``: ``False`` (and nothing changed) when the condition failed."""
        return self._if("update_item", Key=serialize(key), **params)

    def _if(self, operation: str, **params: Any) -> bool:
        try:
            self.call(operation, **params)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def query(self, **params: Any) -> dict[str, Any]:
        """One ``Query`` page (raw response)."""
        return self.call("query", **params)

    def query_all(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a ``Query``, page after page (one call per page), as plain items."""
        start: dict[str, Any] | None = None
        while True:
            page = self.query(**params, **({"ExclusiveStartKey": start} if start else {}))
            for raw in page.get("Items", []):
                yield deserialize(raw)
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def transact(self, items: list[dict[str, Any]]) -> None:
        """One ``TransactWriteItems``; a cancellation raises :class:`Cancelled`."""
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_TRANSACTION_ITEMS} items, got {len(items)}")
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                raise Cancelled(reasons) from None
            raise translate_client_error(exc) from exc
