"""The account ledger in the invoices table: entries and each account's head.

- entry: ``LEDGER#{account}`` / ``{date}#{seq:012d}`` — date, type, reference, description, debit,
  credit, the running ``balance`` after it, and ``source`` (what it records). A date range is one
  ``Query`` on the key; the balance before a date is one ``Query`` (newest first, ``Limit`` 1).
- head: ``ACCOUNT#{account}`` / ``LEDGER`` — ``seq``, ``balance`` and ``last_date`` of the last entry,
  the current ``generation`` and whether the ledger is ``complete``.

Entries are booked by commits (``repository.commit``): the commit reads the head, numbers the
entries after it and writes them with the head, conditional on the head not having moved
(``seq`` and ``generation`` unchanged). If another commit of the same account booked first, only
that condition failed: the commit reads the head again and books after it.

Generations. The first generation's entries live under ``LEDGER#{account}``; a backfill
(``repository.ledger_rebuild``) writes a complete ledger under ``LEDGER#{account}#{generation}``
and switches the head to it. Readers name the generation the head gave them.

Completeness. A head written since statements exist says whether the ledger is ``complete``. A
missing head is complete when the account has no summary yet (no invoice was ever issued: its
first money event is being booked now); an account with a summary but no head has invoices from
before the ledger, and so has a head without the flag (written before the flag existed): both are
incomplete until a backfill rebuilds them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from invoicing.domain.ledger import EntryType, LedgerEntry, LedgerHead
from invoicing.domain.queries import Page
from invoicing.repository import records
from invoicing.repository.table import Table, deserialize, serialize

LEDGER_SK = "LEDGER"
_HIGH = "\uffff"


def ledger_partition(account_id: str, generation: str = "") -> str:
    return f"LEDGER#{account_id}#{generation}" if generation else f"LEDGER#{account_id}"


def head_key(account_id: str) -> dict[str, Any]:
    return {"pk": records.account_partition(account_id), "sk": LEDGER_SK}


def entry_key(entry: LedgerEntry, generation: str = "") -> dict[str, Any]:
    return {
        "pk": ledger_partition(entry.account_id, generation),
        "sk": f"{entry.date.isoformat()}#{entry.seq:012d}",
    }


def entry_to_item(entry: LedgerEntry, generation: str = "") -> dict[str, Any]:
    return {
        **entry_key(entry, generation),
        "entity": "ledger_entry",
        "account_id": entry.account_id,
        "seq": entry.seq,
        "date": entry.date.isoformat(),
        "type": entry.type.value,
        "reference": entry.reference,
        "description": entry.description,
        "debit": entry.debit,
        "credit": entry.credit,
        "balance": entry.balance,
        "source": entry.source,
    }


def item_to_entry(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        account_id=item["account_id"],
        seq=int(item["seq"]),
        date=date.fromisoformat(item["date"]),
        type=EntryType(item["type"]),
        reference=item["reference"],
        description=item["description"],
        debit=int(item["debit"]),
        credit=int(item["credit"]),
        balance=int(item["balance"]),
        source=item.get("source", ""),
    )


def item_to_head(item: dict[str, Any] | None) -> LedgerHead:
    """The stored head (a head written before the ``complete`` flag existed is not complete)."""
    if not item:
        return LedgerHead()
    last = item.get("last_date")
    return LedgerHead(
        seq=int(item["seq"]),
        balance=int(item["balance"]),
        last_date=date.fromisoformat(last) if last else None,
        generation=item.get("generation") or "",
        complete=bool(item.get("complete", False)),
    )


def read_head(table: Table, account_id: str) -> LedgerHead:
    """The account's head: one ``GetItem``; a second (the summary) only when there is no head yet."""
    item = table.get(head_key(account_id))
    if item is not None:
        return item_to_head(item)
    older = table.get(records.summary_key(account_id)) is not None  # invoices from before the ledger
    return LedgerHead(complete=not older)


def head_item(account_id: str, head: LedgerHead) -> dict[str, Any]:
    return {
        **head_key(account_id),
        "entity": "ledger_head",
        "seq": head.seq,
        "balance": head.balance,
        "last_date": head.last_date.isoformat() if head.last_date else None,
        "generation": head.generation,
        "complete": head.complete,
    }


def unchanged(head: LedgerHead) -> dict[str, Any]:
    """The condition that the stored head is still ``head`` (same ``seq`` and ``generation``)."""
    names = {"#seq": "seq", "#generation": "generation"}
    values: dict[str, Any] = {":seq": head.seq, ":generation": head.generation}
    same = "#seq = :seq AND " + (
        "(attribute_not_exists(#generation) OR #generation = :generation)"
        if not head.generation
        else "#generation = :generation"
    )
    expression = f"attribute_not_exists(pk) OR ({same})" if head.seq == 0 else same
    return {
        "ConditionExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": serialize(values),
    }


class DynamoLedger:
    """``services.ports.Ledger`` on the invoices table: reads only (commits book entries)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def head(self, account_id: str) -> LedgerHead:
        """One ``GetItem`` (two when the account has no head yet: ``read_head``)."""
        return read_head(self._table, account_id)

    def balance_before(self, account_id: str, day: date, *, generation: str = "") -> int:
        """The running balance at the start of ``day``: one ``Query`` (newest first, one item)."""
        response = self._table.query(
            KeyConditionExpression="pk = :pk AND sk < :day",
            ExpressionAttributeValues=serialize(
                {":pk": ledger_partition(account_id, generation), ":day": day.isoformat()}
            ),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return int(deserialize(items[0])["balance"]) if items else 0

    def entries(
        self,
        account_id: str,
        start: date,
        end: date,
        *,
        cursor: str | None = None,
        limit: int = 500,
        generation: str = "",
    ) -> Page[LedgerEntry]:
        """Entries dated ``start``…``end`` in booking order: one ``Query`` per page. ``next_cursor``
        (the last entry's key) asks for the page after it."""
        partition = ledger_partition(account_id, generation)
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": serialize(
                {":pk": partition, ":lo": f"{start.isoformat()}#", ":hi": f"{end.isoformat()}#{_HIGH}"}
            ),
            "Limit": limit,
            "ConsistentRead": True,
        }
        if cursor is not None:
            params["ExclusiveStartKey"] = serialize({"pk": partition, "sk": cursor})
        response = self._table.query(**params)
        items = [deserialize(raw) for raw in response.get("Items", [])]
        more = bool(response.get("LastEvaluatedKey")) and bool(items)
        return Page(items=[item_to_entry(i) for i in items], next_cursor=items[-1]["sk"] if more else None)
