"""Statement jobs (``POST /statements``) in the invoices table.

Item: ``STATEMENT#{id}`` / ``STATEMENT`` with ``account_id``, ``from``, ``to``, ``status``
(``pending`` → ``ready`` | ``failed``), ``customer`` (as on the account's latest invoice),
``created_at`` and ``expires_at`` (epoch seconds: the table's TTL removes the job when the
bucket's lifecycle removes its PDF and CSV). Once ready it also holds the figures: opening
balance, totals, entry count, the last entry's ``seq`` and the ledger generation — never the
entries, so the item stays well under a kilobyte whatever the range holds.

The API writes it with a conditional put; the renderer moves it out of ``pending`` with a
conditional update, so a repeated job never flips a finished one.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.domain.invoice import Customer
from invoicing.domain.statements import Statement, StatementFigures, StatementStatus, Totals
from invoicing.repository.table import Table, parse_ts, serialize, ts

STATEMENT_SK = "STATEMENT"


def statement_key(statement_id: str) -> dict[str, Any]:
    return {"pk": f"STATEMENT#{statement_id}", "sk": STATEMENT_SK}


def statement_to_item(statement: Statement) -> dict[str, Any]:
    item: dict[str, Any] = {
        **statement_key(statement.id),
        "entity": "statement",
        "id": statement.id,
        "account_id": statement.account_id,
        "from": statement.start.isoformat(),
        "to": statement.end.isoformat(),
        "status": statement.status.value,
        "currency": statement.currency,
        "created_at": ts(statement.created_at),
        "expires_at": int(statement.expires_at.timestamp()),
    }
    if statement.customer is not None:
        item["customer"] = statement.customer.model_dump_json()
    if statement.figures is not None:
        item.update(_figures(statement.figures))
    return item


def _figures(figures: StatementFigures) -> dict[str, Any]:
    return {
        "opening_balance": figures.opening_balance,
        "totals": {
            "invoiced": figures.totals.invoiced,
            "paid": figures.totals.paid,
            "credited": figures.totals.credited,
            "refunded": figures.totals.refunded,
        },
        "entry_count": figures.entry_count,
        "last_seq": figures.last_seq,
        "generation": figures.generation,
    }


def item_to_statement(item: dict[str, Any]) -> Statement:
    figures = None
    if "opening_balance" in item:
        totals = item["totals"]
        figures = StatementFigures(
            opening_balance=int(item["opening_balance"]),
            totals=Totals(**{name: int(value) for name, value in totals.items()}),
            entry_count=int(item["entry_count"]),
            last_seq=int(item["last_seq"]),
            generation=item.get("generation") or "",
        )
    customer = item.get("customer")
    return Statement(
        id=item["id"],
        account_id=item["account_id"],
        start=date.fromisoformat(item["from"]),
        end=date.fromisoformat(item["to"]),
        status=StatementStatus(item["status"]),
        created_at=parse_ts(item["created_at"]),
        expires_at=datetime.fromtimestamp(item["expires_at"], UTC),
        customer=Customer.model_validate(json.loads(customer)) if customer else None,
        currency=item.get("currency", "INR"),
        figures=figures,
        failure_reason=item.get("failure_reason"),
    )


class DynamoStatementStore:
    """``services.ports.StatementStore`` on the invoices table: one call per operation."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, statement: Statement) -> Statement:
        """One conditional ``PutItem``: a new id never overwrites another job."""
        if not self._table.put_new(statement_to_item(statement)):
            raise ConflictError(f"Statement {statement.id} already exists.")
        return statement

    def get(self, statement_id: str) -> Statement:
        """One strongly consistent ``GetItem``."""
        item = self._table.get(statement_key(statement_id))
        if item is None or item.get("entity") != "statement":
            raise NotFoundError(f"No statement {statement_id}.")
        return item_to_statement(item)

    def finish(
        self,
        statement_id: str,
        status: StatementStatus,
        *,
        figures: StatementFigures | None = None,
        reason: str | None = None,
    ) -> bool:
        """One conditional ``UpdateItem`` out of ``pending``; ``False`` when it was not pending."""
        values: dict[str, Any] = {":status": status.value, ":pending": StatementStatus.PENDING.value}
        names = {"#status": "status"}
        sets = ["#status = :status"]
        extra: dict[str, Any] = dict(_figures(figures)) if figures is not None else {}
        if reason is not None:
            extra["failure_reason"] = reason[:500]
        for n, (name, value) in enumerate(extra.items()):
            names[f"#f{n}"] = name
            values[f":f{n}"] = value
            sets.append(f"#f{n} = :f{n}")
        return self._table.update_if(
            statement_key(statement_id),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_exists(pk) AND #status = :pending",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialize(values),
        )
