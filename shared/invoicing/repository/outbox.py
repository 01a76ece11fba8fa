"""The outbox's reads and bookkeeping for the dispatcher (messages are written by commits).

A message waits in its shard's partition of the table (``pk=OUTBOX#{shard}``,
``sk={created_at}#{id}``, ``records.outbox_key``) until every effect of it has been performed; then
it is deleted. Keyed this way, adding and deleting a message each write one item and no index
entry, and the poll is a ``Query`` of the table. A failed attempt counts the attempt and sets
``retry_at`` (backoff): the poll passes it over until then, so it reads only messages made before
its cutoff, and of those it skips only the ones backing off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from invoicing.domain.outbox import OutboxMessage
from invoicing.repository import records
from invoicing.repository.table import Cancelled, Table, deserialize, parse_ts, serialize

_HIGH = "\uffff"


class DynamoOutbox:
    """``services.ports.Outbox`` on the invoices table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Messages that may be tried at ``now``, oldest first: one ``Query`` per shard (another
        page only when messages backing off filled one)."""
        cutoff = records.outbox_time(now)
        messages: list[OutboxMessage] = []
        for shard in range(records.OUTBOX_SHARDS):
            params: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk AND sk <= :hi",
                "FilterExpression": "attribute_not_exists(retry_at) OR retry_at <= :now",
                "ExpressionAttributeValues": serialize(
                    {":pk": records.outbox_partition(shard), ":hi": f"{cutoff}#{_HIGH}", ":now": cutoff}
                ),
                "Limit": limit,
            }
            found = 0
            while found < limit:
                response = self._table.query(**params)
                items = response.get("Items", [])
                messages += [records.item_to_outbox(deserialize(i)) for i in items]
                found += len(items)
                if "LastEvaluatedKey" not in response:
                    break
                params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(messages, key=lambda m: m.created_at)[:limit]

    def get(self, message: OutboxMessage) -> OutboxMessage | None:
        """The message as it waits now (its attempts counted), or ``None`` once done."""
        item = self._table.get(records.outbox_key(message))
        return records.item_to_outbox(item) if item else None

    def done(self, message: OutboxMessage) -> None:
        """Every effect happened: the message goes (deleting it twice is harmless)."""
        self._table.call("delete_item", Key=serialize(records.outbox_key(message)))

    def retry_later(self, message: OutboxMessage, at: datetime, error: str) -> None:
        """An effect failed: try again at ``at`` (if the message is still there)."""
        self._table.update_if(
            records.outbox_key(message),
            UpdateExpression="SET retry_at = :at, last_error = :error ADD attempts :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize(
                {":at": records.outbox_time(at), ":error": error[:500], ":one": 1}
            ),
        )


# ------------------------------------------------------------------------------ migration
LEGACY_INDEX = "OutboxIndex"


def move_legacy_messages(table: Table, *, dry_run: bool = False) -> int:
    """Move messages written before outbox keys were sharded (``OUTBOX#{id}`` / ``OUTBOX``, found
    through the sparse ``OutboxIndex``) to where the dispatcher polls; their attempts and backoff
    come along. Each move is one transaction — the new item put, the old one deleted on condition
    that it is still there — so a message the stream dispatched meanwhile is not brought back, and
    running this twice moves nothing twice. Returns how many were moved (or, ``dry_run``, found)."""
    moved = 0
    for shard in range(records.OUTBOX_SHARDS):
        for item in table.query_all(
            IndexName=LEGACY_INDEX,
            KeyConditionExpression="outbox_pk = :pk",
            ExpressionAttributeValues=serialize({":pk": records.outbox_partition(shard)}),
        ):
            if dry_run:
                moved += 1
                continue
            message = records.item_to_outbox(item)
            moved_item = records.outbox_to_item(message)
            if item.get("last_error"):
                # A failed attempt had moved the legacy due time: keep it as the backoff.
                due = str(item["outbox_sk"]).rsplit("#", 1)[0]
                moved_item |= {
                    "retry_at": records.outbox_time(parse_ts(due)),
                    "last_error": item["last_error"],
                }
            try:
                table.transact(
                    [
                        {"Put": {"TableName": table.name, "Item": serialize(moved_item)}},
                        {
                            "Delete": {
                                "TableName": table.name,
                                "Key": serialize(records.legacy_outbox_key(message.id)),
                                "ConditionExpression": "attribute_exists(pk)",
                            }
                        },
                    ]
                )
            except Cancelled:
                continue  # dispatched (and deleted) since the index was read
            moved += 1
    return moved
