"""``services.ports.LedgerHistory`` on the invoices table: what a ledger backfill reads and writes.

- the account's invoices: the account index (``gsi1pk = ACCOUNT#{account}``, issued ones only: below
  ``DRAFT#``), page after page — reads grow with the account, never with the table;
- the entries of a generation: one ``Query`` per page on ``LEDGER#{account}[#{generation}]``;
- ``invoiced_accounts``: every account that was ever issued an invoice, without a Scan: each issued
  number has a marker item (``SERIES#{prefix}/{fy}`` / ``NUMBER#…``, ``repository.records``) that
  names its account, so one ``Query`` per page of each financial year's series lists them;
- ``replace``: the new generation's entries are written with ``BatchWriteItem`` under a partition
  no one reads yet (its name is new), then the head (on the account's summary item) is switched to
  it with ONE conditional ``UpdateItem`` (still at the ``seq`` and ``generation`` read). Only then
  do readers and commits see it. If the condition fails, the new entries are deleted again and
  nothing visible changed; if it holds, the old generation's entries are deleted (nothing reads or
  books there any more: a commit books only after the head it read, and that head is gone).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from invoicing.domain.errors import RetryableError
from invoicing.domain.invoice import Invoice
from invoicing.domain.ledger import LedgerEntry, LedgerHead
from invoicing.repository import records
from invoicing.repository.errors import error_code
from invoicing.repository.ledger import (
    entry_key,
    entry_to_item,
    head_key,
    head_update,
    item_to_entry,
    ledger_partition,
    legacy_head_key,
    read_head,
)
from invoicing.repository.table import Table, serialize

BATCH = 25  # BatchWriteItem's limit
BATCH_ATTEMPTS = 8


def invoiced_accounts(table: Table, series: Iterable[str]) -> Iterator[str]:
    """Each account holding a number of ``series`` (``"INV/2627"``, ...), once, in first-seen order."""
    seen: set[str] = set()
    for name in series:
        for item in table.query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :numbers)",
            ExpressionAttributeValues=serialize({":pk": f"SERIES#{name}", ":numbers": "NUMBER#"}),
            ProjectionExpression="account_id",
        ):
            account = item.get("account_id")
            if account and account not in seen:
                seen.add(account)
                yield account


class DynamoLedgerHistory:
    def __init__(self, table: Table, *, sleep: Any = time.sleep) -> None:
        self._table = table
        self._sleep = sleep

    def head(self, account_id: str) -> LedgerHead:
        return read_head(self._table, account_id)

    def invoices(self, account_id: str) -> Iterator[Invoice]:
        """Every issued invoice of the account: one ``Query`` of the account index per page (its
        entries' ids), then the whole invoices, one ``BatchGetItem`` per 100."""
        from invoicing.repository.invoices import BATCH_GET_KEYS, DynamoInvoiceStore

        rows = self._table.query_all(
            IndexName=self._table.list_index,
            KeyConditionExpression="gsi1pk = :pk AND gsi1sk < :drafts",
            ExpressionAttributeValues=serialize(
                {":pk": records.account_partition(account_id), ":drafts": records.DRAFT_PREFIX}
            ),
        )
        store, ids = DynamoInvoiceStore(self._table), []
        for row in rows:
            if row.get("entity") == "invoice":
                ids.append(row["id"])
            if len(ids) == BATCH_GET_KEYS:
                yield from self._whole(store, ids)
                ids = []
        yield from self._whole(store, ids)

    @staticmethod
    def _whole(store: Any, ids: list[str]) -> Iterator[Invoice]:
        items = store.items(ids) if ids else {}
        for invoice_id in ids:  # in the index's order; one deleted meanwhile is left out
            if invoice_id in items:
                yield records.item_to_invoice(items[invoice_id])

    def booked(self, account_id: str, generation: str) -> Iterator[LedgerEntry]:
        for item in self._table.query_all(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=serialize({":pk": ledger_partition(account_id, generation)}),
            ConsistentRead=True,
        ):
            yield item_to_entry(item)

    def replace(
        self, account_id: str, expected: LedgerHead, entries: Sequence[LedgerEntry], head: LedgerHead
    ) -> bool:
        if head.generation == expected.generation:
            raise ValueError("a rebuilt ledger needs a generation of its own")
        self._write([{"PutRequest": {"Item": serialize(entry_to_item(e, head.generation))}} for e in entries])
        try:
            switch = head_update(expected, head)
            self._table.call("update_item", Key=serialize(head_key(account_id)), **switch)
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            self._delete(entry_key(e, head.generation) for e in entries)
            return False
        self._delete(self._keys(ledger_partition(account_id, expected.generation)))
        self._delete([legacy_head_key(account_id)])  # a head of the old shape, if one was left
        return True

    # ---------------------------------------------------------------------------- batches
    def _keys(self, partition: str) -> Iterator[dict[str, Any]]:
        for item in self._table.query_all(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=serialize({":pk": partition}),
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        ):
            yield {"pk": item["pk"], "sk": item["sk"]}

    def _delete(self, keys: Iterator[dict[str, Any]] | Any) -> None:
        self._write({"DeleteRequest": {"Key": serialize(key)}} for key in keys)

    def _write(self, requests: Any) -> None:
        """``BatchWriteItem`` in chunks of 25, retrying what DynamoDB leaves unprocessed."""
        chunk: list[dict[str, Any]] = []
        for request in requests:
            chunk.append(request)
            if len(chunk) == BATCH:
                self._send(chunk)
                chunk = []
        if chunk:
            self._send(chunk)

    def _send(self, chunk: list[dict[str, Any]]) -> None:
        pending = {self._table.name: chunk}
        for attempt in range(BATCH_ATTEMPTS):
            if attempt:
                self._sleep(min(1.0, 0.05 * 2**attempt))
            response = self._table.call("batch_write_item", RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
        raise RetryableError("DynamoDB left ledger entries unwritten; retry the backfill.")
