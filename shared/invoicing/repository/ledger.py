"""The account ledger in the invoices table: entries and each account's head.

- entry: ``LEDGER#{account}`` / ``{date}#{seq:012d}`` — date, type, reference, description, debit,
  credit, the running ``balance`` after it, and ``source`` (what it records). A date range is one
  ``Query`` on the key; the balance before a date is one ``Query`` (newest first, ``Limit`` 1).
- head: attributes of the account's summary item (``ACCOUNT#{account}`` / ``SUMMARY``) — ``seq``,
  ``balance`` and ``last_date`` of the last entry, the current ``generation`` and whether the
  ledger is ``complete``. On the summary item because a commit that books money changes the
  summary too: one item written instead of two (the head used to be an item of its own,
  ``ACCOUNT#{account}`` / ``LEDGER``; such a head is still read, and the next booking moves it).

Entries are booked by commits (``repository.commit``): the commit reads the head, numbers the
entries after it and writes them with the head (and the summary's totals, in the same update),
conditional on the head not having moved (``seq`` and ``generation`` unchanged). If another commit
of the same account booked first, only that condition failed: the commit reads the head again and
books after it.

Generations. The first generation's entries live under ``LEDGER#{account}``; a backfill
(``repository.ledger_rebuild``) writes a complete ledger under ``LEDGER#{account}#{generation}``
and switches the head to it. Readers name the generation the head gave them.

Completeness. A head written since statements exist says whether the ledger is ``complete``. A
missing head (none on the summary, no item of the old shape) is complete when the account has no
summary yet (no invoice was ever issued: its first money event is being booked now); an account
with a summary but no head has invoices from before the ledger, and so has a head without the flag
(written before the flag existed): both are incomplete until a backfill rebuilds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from invoicing.domain.ledger import EntryType, LedgerEntry, LedgerHead
from invoicing.domain.queries import Page
from invoicing.repository import records
from invoicing.repository.table import Table, deserialize, serialize

LEDGER_SK = "LEDGER"
HEAD_FIELDS = ("seq", "balance", "last_date", "generation", "complete")
_HIGH = "\uffff"


def ledger_partition(account_id: str, generation: str = "") -> str:
    return f"LEDGER#{account_id}#{generation}" if generation else f"LEDGER#{account_id}"


def head_key(account_id: str) -> dict[str, Any]:
    """The item holding the head: the account's summary."""
    return records.summary_key(account_id)


def legacy_head_key(account_id: str) -> dict[str, Any]:
    """Where a head was kept before it moved onto the summary item (read until rewritten)."""
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


@dataclass(frozen=True)
class StoredHead:
    """A head as read, and whether it came from the old shape's item (which the next booking
    moves onto the summary, deleting the old item)."""

    head: LedgerHead
    legacy: bool = False


def read_stored_head(table: Table, account_id: str) -> StoredHead:
    """One ``GetItem`` (the summary); a second only when it holds no head (the old shape's item)."""
    summary = table.get(head_key(account_id))
    if summary is not None and "seq" in summary:
        return StoredHead(item_to_head(summary))
    legacy = table.get(legacy_head_key(account_id))
    if legacy is not None:
        return StoredHead(item_to_head(legacy), legacy=True)
    # No head: complete unless the account has a summary, i.e. invoices from before the ledger.
    return StoredHead(LedgerHead(complete=summary is None))


def read_head(table: Table, account_id: str) -> LedgerHead:
    return read_stored_head(table, account_id).head


def head_update(
    before: LedgerHead, after: LedgerHead, *, add: dict[str, int] | None = None
) -> dict[str, Any]:
    """``UpdateItem`` parameters (without the key) that write ``after`` onto the summary item —
    adding ``add`` to its totals in the same update — on condition that the head there is still
    ``before`` (same ``seq`` and ``generation``) or that there is none there yet (``before`` was
    read from the old shape's item, or was no head at all). The second cannot pass wrongly: a head
    once on the summary never leaves it, and any booking after ``before`` moved ``seq`` on."""
    values: dict[str, Any] = {
        ":seq": after.seq,
        ":balance": after.balance,
        ":last_date": after.last_date.isoformat() if after.last_date else None,
        ":generation": after.generation,
        ":complete": after.complete,
    }
    names = {f"#{field}": field for field in HEAD_FIELDS}
    expression = "SET " + ", ".join(f"#{field} = :{field}" for field in HEAD_FIELDS)
    if add:
        clause, added_names, added_values = records.summary_totals_added(add)
        expression += " " + clause
        names |= added_names
        values |= added_values
    values |= {":was_seq": before.seq, ":was_generation": before.generation}
    same = "#seq = :was_seq AND " + (
        "(attribute_not_exists(#generation) OR #generation = :was_generation)"
        if not before.generation
        else "#generation = :was_generation"
    )
    condition = f"attribute_not_exists(#seq) OR ({same})"
    return {
        "UpdateExpression": expression,
        "ConditionExpression": condition,
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
