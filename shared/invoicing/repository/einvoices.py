"""Registrations that need watching, from the sparse ``EInvoiceIndex``: one ``Query`` per page.

Only documents -- invoices and credit notes -- whose e-invoice is ``pending``, ``retrying`` or
``failed`` carry the index's keys (``records.einvoice_index_keys``), so a page reads what needs
attention, never the table. Newest change first; the cursor is signed like the list's.
"""

from __future__ import annotations

from typing import Any

from invoicing.domain.einvoice import EInvoiceEntry
from invoicing.domain.queries import Page
from invoicing.repository import records
from invoicing.repository.credit_notes import item_to_credit_note
from invoicing.repository.cursor import CursorCodec, fingerprint
from invoicing.repository.table import Table, deserialize, serialize

_KEYS = ("pk", "sk", "einv_pk", "einv_sk")


class DynamoEInvoiceStore:
    """``services.ports.EInvoiceStore`` on the invoices table."""

    def __init__(self, table: Table, cursor_key: bytes) -> None:
        self._table = table
        self._cursors = CursorCodec(cursor_key)

    def e_invoice_page(self, status: str, limit: int, cursor: str | None) -> Page[EInvoiceEntry]:
        query_print = fingerprint({"e_invoice_status": status})
        params: dict[str, Any] = {
            "IndexName": "EInvoiceIndex",
            "KeyConditionExpression": "einv_pk = :pk",
            "ExpressionAttributeValues": serialize({":pk": records.einvoice_partition(status)}),
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if cursor:
            params["ExclusiveStartKey"] = serialize(self._cursors.decode(cursor, query_print))
        items = [deserialize(raw) for raw in self._table.query(**params).get("Items", [])]
        next_cursor = None
        if len(items) > limit:
            items = items[:limit]
            next_cursor = self._cursors.encode({k: items[-1][k] for k in _KEYS}, query_print)
        return Page(items=[entry(item) for item in items], next_cursor=next_cursor)


def entry(item: dict[str, Any]) -> EInvoiceEntry:
    """The listed document as ``GET /e-invoices`` shows it, whichever entity the item is."""
    if item.get("entity") == "credit_note":
        note = item_to_credit_note(item)
        assert note.e_invoice is not None
        return EInvoiceEntry("credit_note", note.id, note.credit_note_number, note.account_id, note.e_invoice)
    invoice = records.item_to_invoice(item)
    assert invoice.e_invoice is not None
    return EInvoiceEntry("invoice", invoice.id, invoice.invoice_number, invoice.account_id, invoice.e_invoice)
