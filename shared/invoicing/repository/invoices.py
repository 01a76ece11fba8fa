"""Invoices in DynamoDB: the reads, and deleting a draft. Every other write is a commit
(``repository.commit``).

Guarantees (checked by call-count tests): ``get`` is one ``GetItem``; a list page is one
``Query``; the summary is one ``GetItem``; the sweep reads one ``Query`` page of its sparse,
keys-only index at a time, then the invoices it names (one ``BatchGetItem`` per 100). No code path
scans.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from invoicing.domain.documents import InvoiceOwner
from invoicing.domain.errors import ConflictError, NotFoundError, RetryableError
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.queries import InvoiceRow, ListQuery, Page, SweepPage
from invoicing.domain.summary import AccountSummary
from invoicing.repository import records
from invoicing.repository.commit import stale
from invoicing.repository.cursor import CursorCodec, fingerprint
from invoicing.repository.errors import error_code
from invoicing.repository.table import Table, deserialize, serialize

_HIGH = "\uffff"
BATCH_GET_KEYS = 100  # DynamoDB's BatchGetItem limit
BATCH_GET_ATTEMPTS = 5


class DynamoInvoiceStore:
    """``services.ports.InvoiceStore`` on the invoices table."""

    def __init__(self, table: Table, cursor_key: bytes | None = None) -> None:
        """``cursor_key`` signs list cursors; functions that never list (webhook, sweep) omit it."""
        self._table = table
        self._cursors = CursorCodec(cursor_key) if cursor_key is not None else None

    # ------------------------------------------------------------------ reads
    def get(self, invoice_id: str) -> Invoice:
        """Exactly one strongly consistent ``GetItem``."""
        item = self._table.get(records.invoice_key(invoice_id))
        if item is None:
            raise NotFoundError(f"No invoice {invoice_id}.")
        return records.item_to_invoice(item)

    def summary(self, account_id: str) -> AccountSummary:
        """Exactly one ``GetItem``: the totals are maintained, never recomputed."""
        return records.item_to_summary(self._table.get(records.summary_key(account_id), consistent=False))

    def find_by_provider_invoice(self, razorpay_invoice_id: str) -> Invoice:
        """Our invoice for a Razorpay invoice id: the pointer's ``GetItem``, then the invoice's."""
        pointer = self._table.get(records.provider_pointer_key(razorpay_invoice_id), consistent=False)
        if pointer is None or pointer.get("kind", "razorpay_invoice") != "razorpay_invoice":
            raise NotFoundError(f"No invoice is collected by Razorpay invoice {razorpay_invoice_id}.")
        return self.get(pointer["document_id"])

    def next_sequence(self, series: str) -> int:
        """The next number of a series: one strongly consistent ``GetItem`` of its counter."""
        item = self._table.get(records.counter_key(series)) or {}
        return int(item.get("last", 0)) + 1

    def owners(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceOwner]:
        """Account and status of each invoice that exists (absent ones are left out).

        ``BatchGetItem`` of 100 keys at a time, projecting three attributes; unprocessed keys are
        asked for again (a few times, then ``RetryableError``).
        """
        items = self.items(
            list(dict.fromkeys(invoice_ids)),
            ProjectionExpression="#id, account_id, #status",
            ExpressionAttributeNames={"#id": "id", "#status": "status"},
        )
        return {
            item["id"]: InvoiceOwner(item["id"], item["account_id"], InvoiceStatus(item["status"]))
            for item in items.values()
        }

    def items(self, invoice_ids: Sequence[str], **options: Any) -> dict[str, dict[str, Any]]:
        """The invoice items of ``invoice_ids`` that exist, by id: one strongly consistent
        ``BatchGetItem`` per 100 ids (more only for keys DynamoDB leaves unprocessed)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(invoice_ids), BATCH_GET_KEYS):
            chunk = invoice_ids[start : start + BATCH_GET_KEYS]
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": [serialize(records.invoice_key(i)) for i in chunk],
                    "ConsistentRead": True,
                    **options,
                }
            }
            for _ in range(BATCH_GET_ATTEMPTS):
                response = self._table.call("batch_get_item", RequestItems=request)
                for raw in response.get("Responses", {}).get(self._table.name, []):
                    item = deserialize(raw)
                    found[item["id"]] = item
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RetryableError("DynamoDB left keys unprocessed; retry.")
        return found

    def list_page(self, query: ListQuery) -> Page[InvoiceRow]:
        """Exactly one ``Query`` on the account index (``AccountIndex``), which holds each
        invoice's packed document (under 1 KB for a typical invoice). Filters narrow the page; they
        never add reads (only entries without a row — items of the old shape — are read whole)."""
        names: dict[str, str] = {"#pk": "gsi1pk"}
        values: dict[str, Any] = {":pk": records.account_partition(query.account_id)}
        key_condition = "#pk = :pk"

        wants_drafts = query.include_drafts and (
            query.statuses is None or InvoiceStatus.DRAFT in query.statuses
        )
        wants_dated = query.statuses is None or bool(query.statuses - {InvoiceStatus.DRAFT})
        ranged = query.date_from is not None or query.date_to is not None
        if wants_drafts and not wants_dated and not ranged:
            names["#sk"], values[":draft"] = "gsi1sk", records.DRAFT_PREFIX
            key_condition += " AND begins_with(#sk, :draft)"
        elif not (wants_drafts and not ranged):
            # Dated invoices only: everything from the first date up to (not including) drafts.
            names["#sk"] = "gsi1sk"
            values[":lo"] = query.date_from.isoformat() if query.date_from else "0"
            values[":hi"] = f"{query.date_to.isoformat()}#{_HIGH}" if query.date_to else "9" + _HIGH
            key_condition += " AND #sk BETWEEN :lo AND :hi"
            if not wants_dated:
                return Page(items=[], next_cursor=None)

        filters = []
        if query.statuses is not None:
            names["#status"] = "status"
            placeholders = []
            for i, status in enumerate(sorted(query.statuses)):
                values[f":s{i}"] = status.value
                placeholders.append(f":s{i}")
            filters.append(f"#status IN ({', '.join(placeholders)})")
        if query.q:
            names["#search"] = "search_text"
            values[":q"] = query.q.casefold()
            filters.append("contains(#search, :q)")

        if self._cursors is None:
            raise RuntimeError("this repository was built without a cursor key; it cannot list")
        query_print = fingerprint(
            {
                "a": query.account_id,
                "s": sorted(query.statuses) if query.statuses is not None else None,
                "f": query.date_from,
                "t": query.date_to,
                "q": query.q,
                "d": query.include_drafts,
            }
        )
        # Without filters, one more than a page tells whether there is a next page. With filters,
        # read a wider window so a page is usually full; still one Query.
        window = query.limit + 1 if not filters else min(max(query.limit * 5, 100), 1000)
        params: dict[str, Any] = {
            "IndexName": self._table.list_index,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": False,
            "Limit": window,
        }
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        if query.cursor:
            start = self._cursors.decode(query.cursor, query_print)
            if start.get("gsi1pk") != values[":pk"]:
                raise ConflictError("unreachable: cursor fingerprint covers the account")  # pragma: no cover
            params["ExclusiveStartKey"] = serialize(start)

        response = self._table.query(**params)
        items = [deserialize(raw) for raw in response.get("Items", [])]
        if len(items) > query.limit:
            items = items[: query.limit]
            last_key: dict[str, Any] | None = {k: items[-1][k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
        elif "LastEvaluatedKey" in response:
            last_key = deserialize(response["LastEvaluatedKey"])
        else:
            last_key = None
        return Page(
            items=self._rows(items),
            next_cursor=self._cursors.encode(last_key, query_print) if last_key else None,
        )

    def _rows(self, items: list[dict[str, Any]]) -> list[InvoiceRow]:
        """The page's rows. An invoice not rewritten since rows were first stored has none in the
        index: those few are read whole (one ``BatchGetItem``), until every invoice has been written
        again (or ``infra`` backfills them)."""
        legacy = [item["id"] for item in items if not records.has_row(item)]
        whole = self.items(legacy) if legacy else {}
        return [records.item_to_row(whole.get(item["id"], item)) for item in items]

    def due_for_sweep(
        self, shard: int, through: date, *, start_key: dict[str, Any] | None = None, limit: int = 500
    ) -> SweepPage:
        """Invoices with something to do by ``through`` in one shard: one ``Query`` of the sparse
        ``SweepIndex`` (it holds keys only: a changing invoice is not written into it again), then
        the invoices it names, one ``BatchGetItem`` per 100, in the index's order. Reads grow with
        the invoices due, never with the table."""
        params: dict[str, Any] = {
            "IndexName": "SweepIndex",
            "KeyConditionExpression": "sweep_pk = :pk AND sweep_sk <= :hi",
            "ExpressionAttributeValues": serialize(
                {":pk": records.sweep_partition(shard), ":hi": f"{through.isoformat()}#{_HIGH}"}
            ),
            "Limit": limit,
        }
        if start_key:
            params["ExclusiveStartKey"] = serialize(start_key)
        response = self._table.query(**params)
        last = response.get("LastEvaluatedKey")
        ids = [records.invoice_id_of(deserialize(key)) for key in response.get("Items", [])]
        items = self.items(ids) if ids else {}
        return SweepPage(
            # An invoice deleted since the index was read is simply not there any more.
            items=[records.item_to_invoice(items[i]) for i in ids if i in items],
            last_key=deserialize(last) if last else None,
        )

    # ----------------------------------------------------------------- writes
    def delete_draft(self, invoice: Invoice) -> None:
        """Delete a draft: one ``DeleteItem`` conditional on its status and version."""
        invoice.ensure_deletable()
        try:
            self._table.call(
                "delete_item",
                Key=serialize(records.invoice_key(invoice.id)),
                ConditionExpression="#status = :status AND #version = :version",
                ExpressionAttributeNames={"#status": "status", "#version": "version"},
                ExpressionAttributeValues=serialize(
                    {":status": InvoiceStatus.DRAFT.value, ":version": invoice.version}
                ),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise stale(invoice.id, invoice.version) from None
            raise


# ------------------------------------------------------------------------------ migration
def repack_old_invoices(table: Table, account_id: str, *, dry_run: bool = False) -> int:
    """Rewrite the account's invoice items of the shape before ``doc`` (every field a plain
    attribute) in the packed shape, so their list rows come from the index again instead of a
    ``BatchGetItem`` per page (``infra.migrate_invoices``). Reads grow with the account's invoices:
    one ``Query`` page of the list index at a time (only entries without ``doc``), then the whole
    items, one ``BatchGetItem`` per 100. Each rewrite is a ``PutItem`` on condition that the item
    is still at the version read and still unpacked: one changed meanwhile was packed by that
    change. Returns how many were rewritten (or, ``dry_run``, found)."""
    entries = table.query_all(
        IndexName=table.list_index,
        KeyConditionExpression="gsi1pk = :pk",
        FilterExpression="entity = :invoice AND attribute_not_exists(doc)",
        ExpressionAttributeValues=serialize(
            {":pk": records.account_partition(account_id), ":invoice": "invoice"}
        ),
        ProjectionExpression="id",
    )
    ids = [entry["id"] for entry in entries]
    if dry_run or not ids:
        return len(ids)
    repacked = 0
    for item in DynamoInvoiceStore(table).items(ids).values():
        if "doc" in item:
            continue  # packed since the index was read
        invoice = records.item_to_invoice(item)
        repacked += table.put_if(
            records.invoice_to_item(invoice),
            ConditionExpression="#version = :version AND attribute_not_exists(doc)",
            ExpressionAttributeNames={"#version": "version"},
            ExpressionAttributeValues=serialize({":version": invoice.version}),
        )
    return repacked
