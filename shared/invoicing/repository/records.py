"""Stored item shapes: keys, index attributes and the mapping to and from the domain.

One table (``InvoicesTable``), keys ``pk``/``sk``:

- invoice: ``INVOICE#{id}`` / ``INVOICE``; ``ListIndex`` keys ``gsi1pk=ACCOUNT#{account}`` and
  ``gsi1sk`` (below); ``SweepIndex`` keys (sparse, below).
- account summary: ``ACCOUNT#{account}`` / ``SUMMARY``; totals changed with ``ADD`` in the same
  transaction as the invoice.
- number counter: ``SERIES#{prefix}/{fy}`` / ``COUNTER``; ``last`` = the last number handed out.
- number marker: ``SERIES#{prefix}/{fy}`` / ``NUMBER#{seq:09d}``; which invoice holds that number.
- provider pointer: ``PROVIDER#razorpay#{razorpay_invoice_id}`` / ``POINTER``; which invoice (and
  account) a Razorpay invoice collects for, so a webhook naming only Razorpay's id finds ours.
- create idempotency: ``IDEMPOTENCY#{account}#{key}`` / ``IDEMPOTENCY``; request hash and invoice
  id, expiring through the table's TTL (``expires_at``).

``gsi1sk`` orders an account's invoices newest first: ``{date}#{issued_at}#{id}`` once issued, and
``DRAFT#{created_at}#{id}`` for drafts (which sort above every date, and which a customer's query
never reads: its key condition stops below ``DRAFT#``).

``SweepIndex`` holds only invoices the daily sweep may still act on: ``sweep_pk=SWEEP#{shard}``
(a stable hash of the id over ``SWEEP_SHARDS`` shards, so one day's invoices spread out) and
``sweep_sk={next_sweep_on}#{id}``. A final invoice has neither attribute and drops out.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.summary import SUMMARY_FIELDS, AccountSummary

SWEEP_SHARDS = 16
DRAFT_PREFIX = "DRAFT#"
INVOICE_SK = "INVOICE"
SUMMARY_SK = "SUMMARY"
COUNTER_SK = "COUNTER"
IDEMPOTENCY_SK = "IDEMPOTENCY"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def invoice_key(invoice_id: str) -> dict[str, Any]:
    return {"pk": f"INVOICE#{invoice_id}", "sk": INVOICE_SK}


def account_partition(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def summary_key(account_id: str) -> dict[str, Any]:
    return {"pk": account_partition(account_id), "sk": SUMMARY_SK}


def counter_key(series: str) -> dict[str, Any]:
    return {"pk": f"SERIES#{series}", "sk": COUNTER_SK}


def marker_key(series: str, sequence: int) -> dict[str, Any]:
    return {"pk": f"SERIES#{series}", "sk": f"NUMBER#{sequence:09d}"}


def provider_pointer_key(razorpay_invoice_id: str) -> dict[str, Any]:
    return {"pk": f"PROVIDER#razorpay#{razorpay_invoice_id}", "sk": "POINTER"}


def idempotency_key(account_id: str, key: str) -> dict[str, Any]:
    return {"pk": f"IDEMPOTENCY#{account_id}#{key}", "sk": IDEMPOTENCY_SK}


def sweep_shard(invoice_id: str) -> int:
    return zlib.crc32(invoice_id.encode()) % SWEEP_SHARDS


def sweep_partition(shard: int) -> str:
    return f"SWEEP#{shard:02d}"


def list_sort_key(invoice: Invoice) -> str:
    if invoice.status is InvoiceStatus.DRAFT or invoice.date is None:
        return f"{DRAFT_PREFIX}{_ts(invoice.created_at)}#{invoice.id}"
    assert invoice.issued_at is not None
    return f"{invoice.date.isoformat()}#{_ts(invoice.issued_at)}#{invoice.id}"


def search_text(invoice: Invoice) -> str:
    """What ``q`` matches, case-insensitively: the invoice number and the description."""
    return " ".join(filter(None, [invoice.invoice_number, invoice.description])).casefold()


def invoice_to_item(invoice: Invoice) -> dict[str, Any]:
    """The invoice as a plain (untyped) DynamoDB item, index attributes included."""
    item: dict[str, Any] = {
        **invoice_key(invoice.id),
        "entity": "invoice",
        **invoice.model_dump(mode="json"),
        "gsi1pk": account_partition(invoice.account_id),
        "gsi1sk": list_sort_key(invoice),
        "search_text": search_text(invoice),
    }
    sweep_on = invoice.next_sweep_on
    if sweep_on is not None:
        item["sweep_pk"] = sweep_partition(sweep_shard(invoice.id))
        item["sweep_sk"] = f"{sweep_on.isoformat()}#{invoice.id}"
    return item


_STORAGE_ONLY = frozenset(
    {"pk", "sk", "entity", "gsi1pk", "gsi1sk", "search_text", "sweep_pk", "sweep_sk", "pdf_version"}
)


def item_to_invoice(item: dict[str, Any]) -> Invoice:
    return Invoice.model_validate({k: v for k, v in item.items() if k not in _STORAGE_ONLY})


def item_to_summary(item: dict[str, Any] | None) -> AccountSummary:
    return AccountSummary(**{name: int((item or {}).get(name, 0)) for name in SUMMARY_FIELDS})


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; every number we store is an integer."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _ts(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")
