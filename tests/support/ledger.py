"""Test help for accounts "older than the ledger": their head removed, their summary kept."""

from __future__ import annotations

from invoicing.repository.ledger import HEAD_FIELDS, head_key
from invoicing.repository.table import Table, serialize


def forget_head(table: Table, account_id: str) -> None:
    """Remove the ledger head from the account's summary item (the totals stay)."""
    table.call(
        "update_item",
        Key=serialize(head_key(account_id)),
        UpdateExpression="REMOVE " + ", ".join(f"#{f}" for f in HEAD_FIELDS),
        ExpressionAttributeNames={f"#{f}": f for f in HEAD_FIELDS},
    )
