"""Stored item shapes: keys, index attributes and the mapping to and from the domain.

One table (``InvoicesTable``), keys ``pk``/``sk``:

- invoice: ``INVOICE#{id}`` / ``INVOICE``; the invoice packed into ``doc`` beside the few plain
  attributes conditions and filters read (``invoice_to_item``); ``AccountIndex`` keys
  ``gsi1pk=ACCOUNT#{account}`` and ``gsi1sk`` (below); ``SweepIndex`` keys (sparse, below).
- account summary: ``ACCOUNT#{account}`` / ``SUMMARY``; totals changed with ``ADD`` in the same
  transaction as the invoice, and the account's ledger head (``repository.ledger``).
- number counter: ``SERIES#{prefix}/{fy}`` / ``COUNTER``; ``last`` = the last number handed out.
- number marker: ``SERIES#{prefix}/{fy}`` / ``NUMBER#{seq:09d}``; which invoice holds that number.
- provider pointer: ``PROVIDER#razorpay#{razorpay_invoice_id}`` / ``POINTER``; which invoice (and
  account) a Razorpay invoice collects for, so a webhook naming only Razorpay's id finds ours.
- idempotency: ``IDEMPOTENCY#{scope}#{account}#{key}`` / ``IDEMPOTENCY``; request hash and the id
  of what the first request made, expiring through the table's TTL (``expires_at``).
- outbox message: ``OUTBOX#{shard}`` / ``{created_at}#{id}``; the side effects of one commit until
  dispatched. Keyed so the dispatcher's poll is a ``Query`` of the table itself (oldest first, one
  partition per shard) — no index entry to write when a message is added or deleted. Messages
  written before this shape (``OUTBOX#{id}`` / ``OUTBOX`` in the sparse ``OutboxIndex``) are moved
  into it by ``python -m infra.migrate_outbox``.

``gsi1sk`` orders an account's invoices newest first: ``{date}#{issued_at}#{id}`` once issued, and
``DRAFT#{created_at}#{id}`` for drafts (which sort above every date, and which a customer's query
never reads: its key condition stops below ``DRAFT#``).

``EInvoiceIndex`` (sparse) holds only documents (invoices and credit notes) whose e-invoice needs
watching: ``einv_pk=EINVOICE#{status}`` (pending, retrying, failed) and
``einv_sk={updated_at}#{id}`` (read newest first); generated,
cancelled and not-applicable ones have neither attribute.

``SweepIndex`` holds only invoices the daily sweep may still act on: ``sweep_pk=SWEEP#{shard}``
(a stable hash of the id over ``SWEEP_SHARDS`` shards, so one day's invoices spread out) and
``sweep_sk={next_sweep_on}#{id}``. A final invoice has neither attribute and drops out. It projects
keys only: an invoice write costs the index nothing unless ``sweep_sk`` itself moves, and the sweep
reads the invoices due through their keys.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from typing import Any

from invoicing.domain.einvoice import LISTED, EInvoice
from invoicing.domain.invoice import BillingPeriod, Customer, Invoice, InvoiceStatus
from invoicing.domain.outbox import OutboxMessage
from invoicing.domain.queries import InvoiceRow
from invoicing.domain.summary import SUMMARY_FIELDS, AccountSummary
from invoicing.domain.sweep import SWEEP_SHARDS
from invoicing.repository import packing
from invoicing.repository.table import deserialize, parse_ts, serialize, ts

__all__ = ["SWEEP_SHARDS", "deserialize", "serialize"]  # the typed-item codec lives in repository.table

OUTBOX_SHARDS = 4
DRAFT_PREFIX = "DRAFT#"
INVOICE_SK = "INVOICE"
SUMMARY_SK = "SUMMARY"
COUNTER_SK = "COUNTER"
IDEMPOTENCY_SK = "IDEMPOTENCY"
OUTBOX_SK = "OUTBOX"


def invoice_key(invoice_id: str) -> dict[str, Any]:
    return {"pk": f"INVOICE#{invoice_id}", "sk": INVOICE_SK}


def invoice_id_of(key: dict[str, Any]) -> str:
    """The invoice id of an invoice item's key (``pk = INVOICE#{id}``)."""
    return str(key["pk"]).removeprefix("INVOICE#")


def account_partition(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def summary_key(account_id: str) -> dict[str, Any]:
    return {"pk": account_partition(account_id), "sk": SUMMARY_SK}


def counter_key(series: str) -> dict[str, Any]:
    return {"pk": f"SERIES#{series}", "sk": COUNTER_SK}


def marker_key(series: str, sequence: int) -> dict[str, Any]:
    return {"pk": f"SERIES#{series}", "sk": f"NUMBER#{sequence:09d}"}


def provider_pointer_key(provider_id: str) -> dict[str, Any]:
    return {"pk": f"PROVIDER#razorpay#{provider_id}", "sk": "POINTER"}


def idempotency_key(scope: str, account_id: str, key: str) -> dict[str, Any]:
    return {"pk": f"IDEMPOTENCY#{scope}#{account_id}#{key}", "sk": IDEMPOTENCY_SK}


def outbox_key(message: OutboxMessage) -> dict[str, Any]:
    """Where a message waits: its shard's partition, sorted by when it was made (fixed width, so
    text order is time order) — derived from the message alone, so it never moves."""
    return {
        "pk": outbox_partition(outbox_shard(message.id)),
        "sk": f"{outbox_time(message.created_at)}#{message.id}",
    }


def outbox_time(value: datetime) -> str:
    """A timestamp in outbox keys: UTC, always with microseconds (``ts`` drops zero ones)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def outbox_partition(shard: int) -> str:
    return f"OUTBOX#{shard:02d}"


def outbox_shard(message_id: str) -> int:
    return zlib.crc32(message_id.encode()) % OUTBOX_SHARDS


def outbox_to_item(message: OutboxMessage) -> dict[str, Any]:
    """The message, waiting in its shard's partition until dispatched."""
    return {
        **outbox_key(message),
        "entity": "outbox",
        "message": message.model_dump_json(),
        "account_id": message.account_id,
        "attempts": message.attempts,
    }


def legacy_outbox_key(message_id: str) -> dict[str, Any]:
    """Where a message waited before outbox keys were sharded (``infra.migrate_outbox``)."""
    return {"pk": f"OUTBOX#{message_id}", "sk": OUTBOX_SK}


def item_to_outbox(item: dict[str, Any]) -> OutboxMessage:
    message = OutboxMessage.model_validate_json(item["message"])
    return message.model_copy(update={"attempts": int(item.get("attempts", 0))})


def sweep_shard(invoice_id: str) -> int:
    return zlib.crc32(invoice_id.encode()) % SWEEP_SHARDS


def sweep_partition(shard: int) -> str:
    return f"SWEEP#{shard:02d}"


def list_sort_key(invoice: Invoice) -> str:
    if invoice.status is InvoiceStatus.DRAFT or invoice.date is None:
        return f"{DRAFT_PREFIX}{ts(invoice.created_at)}#{invoice.id}"
    assert invoice.issued_at is not None
    return f"{invoice.date.isoformat()}#{ts(invoice.issued_at)}#{invoice.id}"


def search_text(invoice: Invoice) -> str:
    """What ``q`` matches, case-insensitively: the invoice number and the description."""
    return " ".join(filter(None, [invoice.invoice_number, invoice.description])).casefold()


# What AccountIndex (an account's documents, newest first) projects besides the keys:
# template.yaml lists the same names, and a test compares them. An invoice's whole document
# (``doc``, below: under 1 KB for a typical invoice, so projecting it costs an entry write no more
# than a list row would), a credit note's ``note`` and a wallet top-up's ``top_up``, and what the
# list's filters read (``status``, ``search_text``).
LIST_ATTRIBUTES = ("entity", "id", "account_id", "status", "version", "search_text", "doc", "note", "top_up")

# What ListIndex projected, and its entries of invoices written before ``doc`` still hold: the
# list row as plain attributes, its derived figures stored beside them. Kept while a stage moves
# to AccountIndex (template.yaml's ``KeepListIndex``).
DERIVED = ("amount_due", "amount_paid", "amount_credited", "amount_refunded", "tax_amount")
LEGACY_LIST_ATTRIBUTES = (
    "entity",
    "id",
    "account_id",
    "status",
    "invoice_number",
    "date",
    "due_date",
    "description",
    "billing_period",
    "customer",
    "currency",
    "amount",
    "taxable_amount",
    *DERIVED,
    "paid_at",
    "search_text",
    "note",
    "top_up",
)

# Plain attributes of an invoice item beside its packed document: what conditions read (status,
# version), what ``owners`` projects and the indexes' filters read (id, account, status).
_PLAIN = ("id", "account_id", "status", "version")


def invoice_to_item(invoice: Invoice) -> dict[str, Any]:
    """The invoice as a plain (untyped) DynamoDB item: index keys and the few attributes
    conditions and filters read, and the rest packed into ``doc`` (``repository.packing``)."""
    document = invoice.model_dump(mode="json", exclude_none=True, exclude=set(_PLAIN))
    item: dict[str, Any] = {
        **invoice_key(invoice.id),
        "entity": "invoice",
        **{name: getattr(invoice, name) for name in _PLAIN},
        "status": invoice.status.value,
        "doc": packing.pack(document),
        "gsi1pk": account_partition(invoice.account_id),
        "gsi1sk": list_sort_key(invoice),
        "search_text": search_text(invoice),
    }
    item |= einvoice_index_keys(invoice.e_invoice, invoice.updated_at, invoice.id)
    sweep_on = invoice.next_sweep_on
    if sweep_on is not None:
        item["sweep_pk"] = sweep_partition(sweep_shard(invoice.id))
        item["sweep_sk"] = f"{sweep_on.isoformat()}#{invoice.id}"
    return item


_STORAGE_ONLY = frozenset(
    {"pk", "sk", "entity", "gsi1pk", "gsi1sk", "search_text", "sweep_pk", "sweep_sk", "pdf_version"}
    | {"einv_pk", "einv_sk", "doc", *DERIVED}
)


def einvoice_partition(status: str) -> str:
    return f"EINVOICE#{status}"


def einvoice_index_keys(state: EInvoice | None, changed_at: datetime, document_id: str) -> dict[str, str]:
    """``EInvoiceIndex``'s keys for a document (invoice or credit note) whose e-invoice needs
    watching; none for the others, which drop out of the sparse index."""
    if state is None or state.status not in LISTED:
        return {}
    return {"einv_pk": einvoice_partition(state.status.value), "einv_sk": f"{ts(changed_at)}#{document_id}"}


def item_to_invoice(item: dict[str, Any]) -> Invoice:
    """The invoice of an item, packed (``doc``) or of the shape before it (every field plain)."""
    packed = item.get("doc")
    if packed is None:
        return Invoice.model_validate({k: v for k, v in item.items() if k not in _STORAGE_ONLY})
    return Invoice.model_validate(packing.unpack(bytes(packed)) | {name: item[name] for name in _PLAIN})


def invoice_field(item: dict[str, Any], name: str) -> Any:
    """One field of an invoice item (or of a projection holding ``doc``), packed or plain; ``()``
    when absent (``None`` is left out of packed documents)."""
    if "doc" in item:
        return packing.unpack(bytes(item["doc"])).get(name) or ()
    return item.get(name) or ()


def has_row(item: dict[str, Any]) -> bool:
    """Whether an index entry carries the list row: the packed document, or (an entry of the old
    shape in ListIndex, while a stage keeps it) the row's plain attributes. Entries of items
    written before rows were stored, or of the old shape in AccountIndex, do not: their whole
    items are read."""
    return "doc" in item or all(name in item for name in DERIVED)


def item_to_row(item: dict[str, Any]) -> InvoiceRow:
    """A list row from an invoice's index entry (``has_row``) or from its whole item."""
    if "doc" in item or not has_row(item):
        return InvoiceRow.of(item_to_invoice(item))
    return InvoiceRow(
        id=item["id"],
        account_id=item["account_id"],
        status=InvoiceStatus(item["status"]),
        invoice_number=item.get("invoice_number"),
        date=_day(item.get("date")),
        due_date=_day(item.get("due_date")),
        description=item.get("description"),
        billing_period=BillingPeriod.model_validate(item["billing_period"]),
        customer=Customer.model_validate(item["customer"]),
        currency=item.get("currency", "INR"),
        amount=int(item["amount"]),
        taxable_amount=int(item["taxable_amount"]),
        tax_amount=int(item["tax_amount"]),
        amount_paid=int(item["amount_paid"]),
        amount_credited=int(item["amount_credited"]),
        amount_refunded=int(item["amount_refunded"]),
        amount_due=int(item["amount_due"]),
        paid_at=parse_ts(item["paid_at"]) if item.get("paid_at") else None,
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def summary_totals_added(add: dict[str, int]) -> tuple[str, dict[str, str], dict[str, int]]:
    """The ``ADD`` clause that moves an account summary's totals by ``add``, with its attribute
    names and (plain) values: for a summary update on its own or beside the ledger head's."""
    names = {f"#a{i}": name for i, name in enumerate(add)}
    values = {f":a{i}": amount for i, amount in enumerate(add.values())}
    return "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(add))), names, values


def item_to_summary(item: dict[str, Any] | None) -> AccountSummary:
    return AccountSummary(**{name: int((item or {}).get(name, 0)) for name in SUMMARY_FIELDS})
