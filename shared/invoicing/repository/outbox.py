"""The outbox's reads and bookkeeping for the dispatcher (messages are written by commits).

A message waits in the sparse ``OutboxIndex`` (``outbox_pk=OUTBOX#{shard}``, ``outbox_sk={due}#{id}``)
until every effect of it has been performed; then it is deleted. A failed attempt moves its ``due``
later (backoff) and counts the attempt, so the poller reads only what may be tried now.
"""

from __future__ import annotations

from datetime import datetime

from invoicing.domain.outbox import OutboxMessage
from invoicing.repository import records
from invoicing.repository.table import Table, deserialize, serialize, ts

_HIGH = "\uffff"


class DynamoOutbox:
    """``services.ports.Outbox`` on the invoices table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Messages that may be tried at ``now``, oldest first: one ``Query`` per shard."""
        messages: list[OutboxMessage] = []
        for shard in range(records.OUTBOX_SHARDS):
            response = self._table.query(
                IndexName="OutboxIndex",
                KeyConditionExpression="outbox_pk = :pk AND outbox_sk <= :hi",
                ExpressionAttributeValues=serialize(
                    {":pk": records.outbox_partition(shard), ":hi": f"{ts(now)}#{_HIGH}"}
                ),
                Limit=limit,
            )
            messages += [records.item_to_outbox(deserialize(i)) for i in response.get("Items", [])]
        return sorted(messages, key=lambda m: m.created_at)[:limit]

    def get(self, message_id: str) -> OutboxMessage | None:
        item = self._table.get(records.outbox_key(message_id))
        return records.item_to_outbox(item) if item else None

    def done(self, message: OutboxMessage) -> None:
        """Every effect happened: the message goes (deleting it twice is harmless)."""
        self._table.call("delete_item", Key=serialize(records.outbox_key(message.id)))

    def retry_later(self, message: OutboxMessage, at: datetime, error: str) -> None:
        """An effect failed: try again at ``at`` (if the message is still there)."""
        self._table.update_if(
            records.outbox_key(message.id),
            UpdateExpression="SET outbox_sk = :sk, last_error = :error ADD attempts :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize(
                {":sk": f"{ts(at)}#{message.id}", ":error": error[:500], ":one": 1}
            ),
        )
