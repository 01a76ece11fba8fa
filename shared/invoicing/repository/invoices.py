"""The only code that speaks DynamoDB for invoices.

Guarantees (checked by call-count tests): ``get`` is one ``GetItem``; a list page is one
``Query``; the summary is one ``GetItem``; every state change is conditional on the stored
``status`` and ``version`` and, when it moves money or status, commits in one
``TransactWriteItems`` together with the summary delta (and, on issue, the number counter and
marker). No code path scans.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from invoicing.domain import summary
from invoicing.domain.errors import (
    ConflictError,
    DuplicateError,
    NotFoundError,
    RetryableError,
    SequenceTakenError,
)
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.summary import AccountSummary
from invoicing.repository import records
from invoicing.repository.cursor import CursorCodec, fingerprint
from invoicing.repository.errors import RETRYABLE_CODES, error_code, translate_client_error

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
_HIGH = "\uffff"


@dataclass(frozen=True)
class ListQuery:
    """One page of an account's invoices, newest first."""

    account_id: str
    statuses: frozenset[InvoiceStatus] | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    limit: int = 25
    cursor: str | None = None
    include_drafts: bool = False


@dataclass(frozen=True)
class Page:
    items: list[Invoice]
    next_cursor: str | None


@dataclass(frozen=True)
class IdempotencyClaim:
    """An ``Idempotency-Key`` and a hash of the request it arrived with."""

    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str, body: bytes) -> IdempotencyClaim:
        return cls(key=key, request_hash=hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class SweepPage:
    items: list[Invoice]
    last_key: dict[str, Any] | None = None


@dataclass
class _Transaction:
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, **spec: Any) -> None:
        self.items.append({kind: spec})


class InvoiceRepository:
    def __init__(self, table_name: str, client: Any, cursor_key: bytes | None = None) -> None:
        """``cursor_key`` signs list cursors; functions that never list (webhook, sweep) omit it."""
        self._table = table_name
        self._client = client
        self._cursors = CursorCodec(cursor_key) if cursor_key is not None else None

    # ------------------------------------------------------------------ reads
    def get(self, invoice_id: str) -> Invoice:
        """Exactly one strongly consistent ``GetItem``."""
        response = self._call(
            "get_item", Key=records.serialize(records.invoice_key(invoice_id)), ConsistentRead=True
        )
        if "Item" not in response:
            raise NotFoundError(f"No invoice {invoice_id}.")
        return records.item_to_invoice(records.deserialize(response["Item"]))

    def summary(self, account_id: str) -> AccountSummary:
        """Exactly one ``GetItem``: the totals are maintained, never recomputed."""
        response = self._call("get_item", Key=records.serialize(records.summary_key(account_id)))
        item = response.get("Item")
        return records.item_to_summary(records.deserialize(item) if item else None)

    def find_by_provider_invoice(self, razorpay_invoice_id: str) -> Invoice:
        """Our invoice for a Razorpay invoice id: the pointer's ``GetItem``, then the invoice's."""
        response = self._call(
            "get_item", Key=records.serialize(records.provider_pointer_key(razorpay_invoice_id))
        )
        if "Item" not in response:
            raise NotFoundError(f"No invoice is collected by Razorpay invoice {razorpay_invoice_id}.")
        return self.get(records.deserialize(response["Item"])["invoice_id"])

    def next_sequence(self, series: str) -> int:
        response = self._call(
            "get_item", Key=records.serialize(records.counter_key(series)), ConsistentRead=True
        )
        item = records.deserialize(response.get("Item", {}))
        return int(item.get("last", 0)) + 1

    def list_page(self, query: ListQuery) -> Page:
        """Exactly one ``Query`` on ``ListIndex``. Filters narrow the page; they never add reads."""
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
            "IndexName": "ListIndex",
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": records.serialize(values),
            "ScanIndexForward": False,
            "Limit": window,
        }
        if filters:
            params["FilterExpression"] = " AND ".join(filters)
        if query.cursor:
            start = self._cursors.decode(query.cursor, query_print)
            if start.get("gsi1pk") != values[":pk"]:
                raise ConflictError("unreachable: cursor fingerprint covers the account")  # pragma: no cover
            params["ExclusiveStartKey"] = records.serialize(start)

        response = self._call("query", **params)
        items = [records.deserialize(raw) for raw in response.get("Items", [])]
        if len(items) > query.limit:
            items = items[: query.limit]
            last_key: dict[str, Any] | None = {k: items[-1][k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
        elif "LastEvaluatedKey" in response:
            last_key = records.deserialize(response["LastEvaluatedKey"])
        else:
            last_key = None
        return Page(
            items=[records.item_to_invoice(item) for item in items],
            next_cursor=self._cursors.encode(last_key, query_print) if last_key else None,
        )

    def due_for_sweep(
        self, shard: int, through: date, *, start_key: dict[str, Any] | None = None, limit: int = 500
    ) -> SweepPage:
        """One ``Query`` on the sparse ``SweepIndex``: invoices with something to do by ``through``."""
        params: dict[str, Any] = {
            "IndexName": "SweepIndex",
            "KeyConditionExpression": "sweep_pk = :pk AND sweep_sk <= :hi",
            "ExpressionAttributeValues": records.serialize(
                {":pk": records.sweep_partition(shard), ":hi": f"{through.isoformat()}#{_HIGH}"}
            ),
            "Limit": limit,
        }
        if start_key:
            params["ExclusiveStartKey"] = records.serialize(start_key)
        response = self._call("query", **params)
        last = response.get("LastEvaluatedKey")
        return SweepPage(
            items=[records.item_to_invoice(records.deserialize(i)) for i in response.get("Items", [])],
            last_key=records.deserialize(last) if last else None,
        )

    # ----------------------------------------------------------------- writes
    def create(self, invoice: Invoice, claim: IdempotencyClaim | None = None) -> Invoice:
        """Store a new draft. With a claim, the same key and body return the first invoice."""
        put_invoice = {
            "TableName": self._table,
            "Item": records.serialize(records.invoice_to_item(invoice)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if claim is None:
            self._call("put_item", **put_invoice)
            return invoice
        marker = records.idempotency_key(invoice.account_id, claim.key)
        txn = _Transaction()
        txn.add("Put", **put_invoice)
        txn.add(
            "Put",
            TableName=self._table,
            Item=records.serialize(
                {
                    **marker,
                    "entity": "idempotency",
                    "request_hash": claim.request_hash,
                    "invoice_id": invoice.id,
                    "expires_at": int(time.time()) + IDEMPOTENCY_TTL_SECONDS,
                }
            ),
            ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
            ExpressionAttributeValues=records.serialize({":now": int(time.time())}),
        )
        try:
            self._transact(txn)
        except _Cancelled as cancelled:
            if cancelled.failed(1):
                return self._replay(marker, claim)
            raise cancelled.as_conflict() from None
        return invoice

    def save(self, before: Invoice, after: Invoice) -> Invoice:
        """Write ``after`` if the stored invoice is still ``before`` (same status and version).

        A change of status or money commits in one transaction with the account summary.
        """
        self._check_successor(before, after)
        txn = _Transaction()
        txn.add("Put", **self._guarded_put(before, after))
        self._add_summary(txn, before, after)
        if len(txn.items) == 1:
            try:
                self._call("put_item", **txn.items[0]["Put"])
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise _stale(before) from None
                raise
            return after
        try:
            self._transact(txn)
        except _Cancelled as cancelled:
            raise (_stale(before) if cancelled.failed(0) else cancelled.as_conflict()) from None
        return after

    def link_provider_invoice(self, before: Invoice, after: Invoice) -> Invoice:
        """Store ``after`` (which names its Razorpay invoice) and the pointer back, in one transaction."""
        self._check_successor(before, after)
        assert after.razorpay_invoice_id is not None
        txn = _Transaction()
        txn.add("Put", **self._guarded_put(before, after))
        txn.add(
            "Put",
            TableName=self._table,
            Item=records.serialize(
                {
                    **records.provider_pointer_key(after.razorpay_invoice_id),
                    "entity": "provider_pointer",
                    "invoice_id": after.id,
                    "account_id": after.account_id,
                }
            ),
            ConditionExpression="attribute_not_exists(pk) OR invoice_id = :id",
            ExpressionAttributeValues=records.serialize({":id": after.id}),
        )
        try:
            self._transact(txn)
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                raise _stale(before) from None
            raise cancelled.as_conflict() from None
        return after

    def issue(self, before: Invoice, after: Invoice, *, series: str, sequence: int) -> Invoice:
        """Draft → issued in ONE transaction: counter advance, number marker, invoice, summary."""
        self._check_successor(before, after)
        counter = records.counter_key(series)
        txn = _Transaction()
        txn.add(
            "Update",
            TableName=self._table,
            Key=records.serialize(counter),
            UpdateExpression="SET #last = :seq, entity = :entity",
            ConditionExpression=("attribute_not_exists(pk)" if sequence == 1 else "#last = :prev"),
            ExpressionAttributeNames={"#last": "last"},
            ExpressionAttributeValues=records.serialize(
                {":seq": sequence, ":entity": "counter"} | ({":prev": sequence - 1} if sequence > 1 else {})
            ),
        )
        txn.add(
            "Put",
            TableName=self._table,
            Item=records.serialize(
                {
                    **records.marker_key(series, sequence),
                    "entity": "number",
                    "invoice_number": after.invoice_number,
                    "invoice_id": after.id,
                    "account_id": after.account_id,
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )
        txn.add("Put", **self._guarded_put(before, after))
        self._add_summary(txn, before, after)
        try:
            self._transact(txn)
        except _Cancelled as cancelled:
            if cancelled.failed(2):
                raise _stale(before) from None
            if cancelled.failed(0) or cancelled.failed(1):
                raise SequenceTakenError(f"Invoice number {sequence} of {series} was taken.") from None
            raise cancelled.as_conflict() from None
        return after

    def delete_draft(self, invoice: Invoice) -> None:
        invoice.ensure_deletable()
        try:
            self._call(
                "delete_item",
                TableName=self._table,
                Key=records.serialize(records.invoice_key(invoice.id)),
                ConditionExpression="#status = :status AND #version = :version",
                ExpressionAttributeNames={"#status": "status", "#version": "version"},
                ExpressionAttributeValues=records.serialize(
                    {":status": InvoiceStatus.DRAFT.value, ":version": invoice.version}
                ),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _stale(invoice) from None
            raise

    # ---------------------------------------------------------------- helpers
    def _guarded_put(self, before: Invoice, after: Invoice) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": records.serialize(records.invoice_to_item(after)),
            "ConditionExpression": "#status = :status AND #version = :version",
            "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
            "ExpressionAttributeValues": records.serialize(
                {":status": before.status.value, ":version": before.version}
            ),
        }

    def _add_summary(self, txn: _Transaction, before: Invoice | None, after: Invoice | None) -> None:
        change = summary.delta(before, after)
        if not change:
            return
        account = (after or before).account_id  # type: ignore[union-attr]
        names = {f"#f{i}": name for i, name in enumerate(change)}
        values = {f":v{i}": value for i, value in enumerate(change.values())}
        txn.add(
            "Update",
            TableName=self._table,
            Key=records.serialize(records.summary_key(account)),
            UpdateExpression="ADD " + ", ".join(f"#f{i} :v{i}" for i in range(len(change))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=records.serialize(values),
        )

    @staticmethod
    def _check_successor(before: Invoice, after: Invoice) -> None:
        if after.id != before.id or after.version != before.version + 1:
            raise ValueError("after must be the next version of before")

    def _replay(self, marker: dict[str, Any], claim: IdempotencyClaim) -> Invoice:
        response = self._call("get_item", Key=records.serialize(marker), ConsistentRead=True)
        stored = records.deserialize(response.get("Item", {}))
        if stored.get("request_hash") != claim.request_hash:
            raise ConflictError(
                "This Idempotency-Key was already used with a different request body.",
                [{"loc": ["header", "Idempotency-Key"], "msg": "reused with a different body"}],
            )
        return self.get(stored["invoice_id"])

    def _transact(self, txn: _Transaction) -> None:
        try:
            self._client.transact_write_items(TransactItems=txn.items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                raise _Cancelled(reasons) from None
            raise translate_client_error(exc) from exc

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        params.setdefault("TableName", self._table)
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise translate_client_error(exc) from exc


class _Cancelled(Exception):
    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = list(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    def as_conflict(self) -> Exception:
        if any(r in ("TransactionConflict", *RETRYABLE_CODES) for r in self.reasons):
            return RetryableError(f"DynamoDB transaction cancelled: {', '.join(self.reasons)}.")
        return ConflictError(f"The change conflicted with another one ({', '.join(self.reasons)}).")


def _stale(invoice: Invoice) -> ConflictError:
    return ConflictError(
        f"Invoice {invoice.id} was changed by someone else (expected version {invoice.version}); "
        "read it again and retry."
    )


def chunk(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = [
    "DuplicateError",
    "IdempotencyClaim",
    "InvoiceRepository",
    "ListQuery",
    "Page",
    "SweepPage",
]
