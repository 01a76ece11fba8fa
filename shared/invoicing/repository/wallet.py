"""Prepaid wallets in the invoices table: items, the writers of the wallet's changes, the reads.

Items:

- top-up: ``TOPUP#{id}`` / ``TOPUP``, the top-up as the domain has it; on ``AccountIndex``
  ``gsi1pk=TOPUPS#{account}`` and ``gsi1sk={created_at}#{id}``: an account's top-ups newest first,
  one ``Query`` per page, read from its ``top_up`` attribute (the top-up as JSON: AccountIndex projects
  only named attributes). Its payment link points at it (``PROVIDER#razorpay#{plink}``).
- receipt voucher: ``RECEIPT#{id}`` / ``RECEIPT``, immutable; ``pdf_version`` (storage only) says
  which version's PDF is in S3, as on a credit note.
- advance: ``WALLET#{account}`` / ``ADVANCE#{date}#{receipt_number}``: what remains (taxable value)
  of one receipt's advance. It exists while something remains: the settlement that draws it to 0
  deletes it, so the account's open advances, oldest first, are one strongly consistent ``Query``
  that reads only what it may draw.
- wallet: ``WALLET#{account}`` / ``BALANCE``: ``balance`` (the taxable value of the advances not yet
  adjusted), ``received`` and ``drawn``, moved with ``ADD`` in the transactions that issue a receipt
  (``+amount``) or draw advances (``-drawn``, conditional on ``balance >= drawn``). Reading the
  balance is one ``GetItem``; it is never summed from the receipts.
- settlement: ``WALLET#{account}`` / ``SETTLEMENT#{invoice_id}``: what one settlement took from each
  receipt's advance and paid on its invoice, written once (conditional on absence) by the
  transaction that draws the advances.
- unapplied payment: ``UNAPPLIED#{payment_id}`` / ``UNAPPLIED``: a payment on one of our links that
  is refunded instead of credited, kept once (the refund and its event follow that commit only).

Why a balance never goes negative and an advance is never drawn twice: every draw is an update (or
delete) of its advance conditional on the ``remaining`` the settlement read, and the wallet's
``ADD`` is conditional on the balance covering the sum, all in the transaction that records the
invoice's payment. A settlement that read stale advances fails as a whole and reads again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from invoicing.domain.errors import ConflictError, DuplicateError, NotFoundError
from invoicing.domain.ledger import topup_entry
from invoicing.domain.numbering import ist_date
from invoicing.domain.queries import Page
from invoicing.domain.wallet import (
    Advance,
    AdvanceMovedError,
    DrawAdvances,
    DrawnReceipt,
    IssueReceipt,
    KeepUnapplied,
    ReceiptDocument,
    ReceiptVoucher,
    RecordSettlement,
    SaveTopUp,
    SettlementRecord,
    TopUp,
)
from invoicing.repository import records
from invoicing.repository.commit import Plan, guarded_by_version, stale, writes
from invoicing.repository.cursor import CursorCodec, fingerprint
from invoicing.repository.table import Table, deserialize, parse_ts, serialize, ts

TOP_UP_SK = "TOPUP"
RECEIPT_SK = "RECEIPT"
BALANCE_SK = "BALANCE"
ADVANCE_PREFIX = "ADVANCE#"
SETTLEMENT_PREFIX = "SETTLEMENT#"
PDF_VERSION = "pdf_version"
ADVANCE_PAGE = 100
LISTED = "top_up"  # the top-up as AccountIndex holds it (records.LIST_ATTRIBUTES)
_STORAGE_ONLY = frozenset({"pk", "sk", "entity", "gsi1pk", "gsi1sk", PDF_VERSION, LISTED})


# ------------------------------------------------------------------------------------------ keys
def top_up_key(top_up_id: str) -> dict[str, Any]:
    return {"pk": f"TOPUP#{top_up_id}", "sk": TOP_UP_SK}


def top_ups_partition(account_id: str) -> str:
    return f"TOPUPS#{account_id}"


def receipt_key(receipt_id: str) -> dict[str, Any]:
    return {"pk": f"RECEIPT#{receipt_id}", "sk": RECEIPT_SK}


def wallet_partition(account_id: str) -> str:
    return f"WALLET#{account_id}"


def balance_key(account_id: str) -> dict[str, Any]:
    return {"pk": wallet_partition(account_id), "sk": BALANCE_SK}


def advance_key(advance: Advance) -> dict[str, Any]:
    return {"pk": wallet_partition(advance.account_id), "sk": ADVANCE_PREFIX + advance.order}


def settlement_key(account_id: str, invoice_id: str) -> dict[str, Any]:
    return {"pk": wallet_partition(account_id), "sk": SETTLEMENT_PREFIX + invoice_id}


def unapplied_key(payment_id: str) -> dict[str, Any]:
    return {"pk": f"UNAPPLIED#{payment_id}", "sk": "UNAPPLIED"}


# ----------------------------------------------------------------------------------------- items
def top_up_to_item(top_up: TopUp) -> dict[str, Any]:
    return {
        **top_up_key(top_up.id),
        "entity": "top_up",
        **top_up.model_dump(mode="json"),
        "gsi1pk": top_ups_partition(top_up.account_id),
        "gsi1sk": f"{ts(top_up.created_at)}#{top_up.id}",
        LISTED: top_up.model_dump_json(),
    }


def item_to_top_up(item: dict[str, Any]) -> TopUp:
    return TopUp.model_validate({k: v for k, v in item.items() if k not in _STORAGE_ONLY})


def receipt_to_item(receipt: ReceiptVoucher) -> dict[str, Any]:
    return {**receipt_key(receipt.id), "entity": "receipt_voucher", **receipt.model_dump(mode="json")}


def item_to_receipt(item: dict[str, Any]) -> ReceiptVoucher:
    return ReceiptVoucher.model_validate({k: v for k, v in item.items() if k not in _STORAGE_ONLY})


def advance_to_item(advance: Advance) -> dict[str, Any]:
    return {
        **advance_key(advance),
        "entity": "advance",
        "account_id": advance.account_id,
        "receipt_id": advance.receipt_id,
        "receipt_number": advance.receipt_number,
        "received_on": advance.received_on.isoformat(),
        "amount": advance.amount,
        "remaining": advance.remaining,
    }


def item_to_advance(item: dict[str, Any]) -> Advance:
    return Advance(
        account_id=item["account_id"],
        receipt_id=item["receipt_id"],
        receipt_number=item["receipt_number"],
        received_on=date.fromisoformat(item["received_on"]),
        amount=int(item["amount"]),
        remaining=int(item["remaining"]),
    )


def settlement_to_item(record: SettlementRecord) -> dict[str, Any]:
    return {
        **settlement_key(record.account_id, record.invoice_id),
        "entity": "settlement",
        "account_id": record.account_id,
        "invoice_id": record.invoice_id,
        "invoice_number": record.invoice_number,
        "payment_id": record.payment_id,
        "amount": record.amount,
        "drawn": record.drawn,
        "draws": [
            {"receipt_id": d.receipt_id, "receipt_number": d.receipt_number, "taken": d.taken}
            for d in record.draws
        ],
        "settled_at": ts(record.settled_at),
    }


def item_to_settlement(item: dict[str, Any]) -> SettlementRecord:
    return SettlementRecord(
        account_id=item["account_id"],
        invoice_id=item["invoice_id"],
        invoice_number=item.get("invoice_number"),
        payment_id=item["payment_id"],
        amount=int(item["amount"]),
        draws=tuple(
            DrawnReceipt(d["receipt_id"], d["receipt_number"], int(d["taken"])) for d in item["draws"]
        ),
        settled_at=parse_ts(item["settled_at"]),
    )


# --------------------------------------------------------------------------------------- writers
@writes(SaveTopUp)
def _save_top_up(plan: Plan, change: SaveTopUp) -> None:
    before, after = change.before, change.after
    item = top_up_to_item(after)
    if before is None:
        exists = ConflictError(f"Top-up {after.id} already exists.")
        plan.put(item, lambda: exists, ConditionExpression="attribute_not_exists(pk)")
    else:
        plan.put(
            item,
            lambda: stale(before.id, before.version),
            **guarded_by_version(before.status.value, before.version),
        )


@writes(IssueReceipt)
def _issue_receipt(plan: Plan, change: IssueReceipt) -> None:
    receipt, advance = change.receipt, change.advance
    exists = ConflictError(f"Receipt voucher {receipt.id} already exists.")
    plan.put(receipt_to_item(receipt), lambda: exists, ConditionExpression="attribute_not_exists(pk)")
    plan.put(advance_to_item(advance), lambda: exists, ConditionExpression="attribute_not_exists(pk)")
    plan.update(
        balance_key(receipt.account_id),
        lambda: ConflictError("The wallet's balance could not be updated."),
        UpdateExpression=(
            "ADD #balance :amount, #received :amount SET entity = :entity, account_id = :account"
        ),
        ExpressionAttributeNames={"#balance": "balance", "#received": "received"},
        ExpressionAttributeValues=serialize(
            {":amount": receipt.amount, ":entity": "wallet", ":account": receipt.account_id}
        ),
    )
    plan.record(
        [
            topup_entry(
                receipt.account_id,
                top_up_id=receipt.top_up_id,
                receipt_number=receipt.receipt_number,
                paid_on=ist_date(receipt.paid_at),
                total=receipt.total,
                method=receipt.method,
            )
        ]
    )


@writes(DrawAdvances)
def _draw_advances(plan: Plan, change: DrawAdvances) -> None:
    def moved() -> Exception:
        return AdvanceMovedError(
            f"The advances of {change.account_id} changed meanwhile; read them again and retry."
        )

    for draw in change.draws:
        condition = {
            "ConditionExpression": "#remaining = :before",
            "ExpressionAttributeNames": {"#remaining": "remaining"},
        }
        if draw.after == 0:
            plan.add(
                "Delete",
                {
                    "Key": serialize(advance_key(draw.advance)),
                    **condition,
                    "ExpressionAttributeValues": serialize({":before": draw.advance.remaining}),
                },
                moved,
            )
        else:
            plan.update(
                advance_key(draw.advance),
                moved,
                UpdateExpression="SET #remaining = :after",
                **condition,
                ExpressionAttributeValues=serialize(
                    {":before": draw.advance.remaining, ":after": draw.after}
                ),
            )
    plan.update(
        balance_key(change.account_id),
        moved,
        UpdateExpression="ADD #balance :minus, #drawn :drawn",
        ConditionExpression="#balance >= :drawn",
        ExpressionAttributeNames={"#balance": "balance", "#drawn": "drawn"},
        ExpressionAttributeValues=serialize({":minus": -change.total, ":drawn": change.total}),
    )


@writes(RecordSettlement)
def _record_settlement(plan: Plan, change: RecordSettlement) -> None:
    record = change.record
    plan.put(
        settlement_to_item(record),
        lambda: ConflictError(f"Invoice {record.invoice_id} was already settled from advances."),
        ConditionExpression="attribute_not_exists(pk)",
    )


@writes(KeepUnapplied)
def _keep_unapplied(plan: Plan, change: KeepUnapplied) -> None:
    payment_id = change.payment_id
    plan.put(
        {
            **unapplied_key(payment_id),
            "entity": "unapplied_payment",
            "payment_id": payment_id,
            "account_id": change.account_id,
            "top_up_id": change.top_up_id or "",
            "reason": change.reason,
            "recorded_at": ts(plan.now),
        },
        lambda: DuplicateError(f"Payment {payment_id} was already refunded."),
        ConditionExpression="attribute_not_exists(pk)",
    )


# ----------------------------------------------------------------------------------------- reads
def _covering(advances: list[Advance], covering: int) -> list[Advance]:
    """The oldest advances whose remaining values reach ``covering`` (all of them if they do not)."""
    taken: list[Advance] = []
    for advance in advances:
        taken.append(advance)
        if sum(a.remaining for a in taken) >= covering:
            break
    return taken


class DynamoWalletStore:
    """``services.ports.WalletStore`` on the invoices table.

    Guarantees (checked by call-count tests): ``top_up``, ``balance``, ``receipt``, ``settlement``
    and ``next_sequence`` are one ``GetItem``; ``top_up_by_link`` two; a list page one ``Query``;
    ``open_advances`` one ``Query`` per 100 advances it needs.
    """

    def __init__(self, table: Table, cursor_key: bytes | None = None) -> None:
        """``cursor_key`` signs list cursors; a store that never lists omits it."""
        self._table = table
        self._cursors = CursorCodec(cursor_key) if cursor_key is not None else None

    def top_up(self, top_up_id: str) -> TopUp:
        item = self._table.get(top_up_key(top_up_id))
        if item is None:
            raise NotFoundError(f"No top-up {top_up_id}.")
        return item_to_top_up(item)

    def top_up_by_link(self, provider_link_id: str) -> TopUp:
        pointer = self._table.get(records.provider_pointer_key(provider_link_id))
        if pointer is None or pointer.get("kind") != "razorpay_payment_link":
            raise NotFoundError(f"No top-up is collected by payment link {provider_link_id}.")
        return self.top_up(pointer["document_id"])

    def list_top_ups(self, account_id: str, *, limit: int, cursor: str | None) -> Page[TopUp]:
        if self._cursors is None:
            raise RuntimeError("this repository was built without a cursor key; it cannot list")
        query_print = fingerprint({"a": account_id, "kind": "top_ups"})
        params: dict[str, Any] = {
            "IndexName": self._table.list_index,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": serialize({":pk": top_ups_partition(account_id)}),
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if cursor:
            params["ExclusiveStartKey"] = serialize(self._cursors.decode(cursor, query_print))
        items = [deserialize(raw) for raw in self._table.query(**params).get("Items", [])]
        last_key: dict[str, Any] | None = None
        if len(items) > limit:
            items = items[:limit]
            last_key = {k: items[-1][k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
        return Page(
            items=[TopUp.model_validate_json(item[LISTED]) for item in items],
            next_cursor=self._cursors.encode(last_key, query_print) if last_key else None,
        )

    def balance(self, account_id: str) -> int:
        item = self._table.get(balance_key(account_id)) or {}
        return int(item.get("balance", 0))

    def open_advances(self, account_id: str, *, covering: int, limit: int) -> list[Advance]:
        found: list[Advance] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            params: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": serialize(
                    {":pk": wallet_partition(account_id), ":prefix": ADVANCE_PREFIX}
                ),
                "ConsistentRead": True,
                "Limit": min(ADVANCE_PAGE, limit - len(found)),
            }
            if start:
                params["ExclusiveStartKey"] = start
            page = self._table.query(**params)
            found += [item_to_advance(deserialize(raw)) for raw in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start or sum(a.remaining for a in found) >= covering:
                break
        return _covering(found[:limit], covering)

    def settlement(self, account_id: str, invoice_id: str) -> SettlementRecord | None:
        item = self._table.get(settlement_key(account_id, invoice_id))
        return item_to_settlement(item) if item is not None else None

    def receipt(self, receipt_id: str) -> ReceiptDocument:
        item = self._table.get(receipt_key(receipt_id))
        if item is None:
            raise NotFoundError(f"No receipt voucher {receipt_id}.")
        return ReceiptDocument(receipt=item_to_receipt(item), pdf_version=item.get(PDF_VERSION))

    def mark_receipt_rendered(self, receipt_id: str, version: int) -> bool:
        return self._table.update_if(
            receipt_key(receipt_id),
            UpdateExpression="SET #pdf = :version",
            ConditionExpression=(
                "attribute_exists(pk) AND #version = :version "
                "AND (attribute_not_exists(#pdf) OR #pdf < :version)"
            ),
            ExpressionAttributeNames={"#pdf": PDF_VERSION, "#version": "version"},
            ExpressionAttributeValues=serialize({":version": version}),
        )

    def next_sequence(self, series: str) -> int:
        item = self._table.get(records.counter_key(series)) or {}
        return int(item.get("last", 0)) + 1
