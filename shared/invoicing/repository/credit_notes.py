"""Credit notes in the invoices table: the item, its writers (``SaveCreditNote``,
``ReviseCreditNote``) and the reads.

Item: ``CREDITNOTE#{id}`` / ``CREDITNOTE`` with the note as the domain has it, and on ``AccountIndex``
``gsi1pk=CREDITNOTES#{account}`` (a partition of its own beside the account's invoices) and
``gsi1sk={date}#{created_at}#{id}``, so an account's credit notes read newest first, one ``Query``
per page. ``AccountIndex`` projects named attributes, not whole items: a note's item carries
itself once more as ``note`` (JSON) for the index, which a list page reads (notes are written
rarely: at issue, and when their e-invoice moves). ``pdf_version`` (storage only) says which
version's PDF is in S3, as on an invoice.

A note is written in the transaction that changes its invoice and takes its number
(``repository.commit``); afterwards only its e-invoice moves (``ReviseCreditNote``: the whole item
put again, conditional on the version read). While that registration needs watching the item also
carries ``EInvoiceIndex``'s keys (``records.einvoice_index_keys``), beside the invoices'. Its
refunds' status is read from its invoice: ``refunds_of`` asks for the ``refunds`` of a page's
invoices in one ``BatchGetItem``.

Guarantees (checked by call-count tests): ``get`` and ``document`` are one ``GetItem``; a list page
is one ``Query``; ``refunds_of`` one ``BatchGetItem`` per 100 invoices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from invoicing.domain.credit_notes import CreditNote, CreditNoteDocument, ReviseCreditNote, SaveCreditNote
from invoicing.domain.errors import ConflictError, NotFoundError, RetryableError
from invoicing.domain.invoice import Refund
from invoicing.domain.queries import Page
from invoicing.repository import records
from invoicing.repository.commit import Plan, writes
from invoicing.repository.cursor import CursorCodec, fingerprint
from invoicing.repository.table import Table, deserialize, serialize, ts

CREDIT_NOTE_SK = "CREDITNOTE"
PDF_VERSION = "pdf_version"
BATCH_GET_KEYS = 100
BATCH_GET_ATTEMPTS = 5
LISTED = "note"  # the note as AccountIndex holds it (records.LIST_ATTRIBUTES)
_STORAGE_ONLY = frozenset(
    {"pk", "sk", "entity", "gsi1pk", "gsi1sk", PDF_VERSION, "einv_pk", "einv_sk", LISTED}
)


def credit_note_key(credit_note_id: str) -> dict[str, Any]:
    return {"pk": f"CREDITNOTE#{credit_note_id}", "sk": CREDIT_NOTE_SK}


def account_partition(account_id: str) -> str:
    return f"CREDITNOTES#{account_id}"


def credit_note_to_item(note: CreditNote) -> dict[str, Any]:
    return {
        **credit_note_key(note.id),
        "entity": "credit_note",
        **note.model_dump(mode="json"),
        "gsi1pk": account_partition(note.account_id),
        "gsi1sk": f"{note.date.isoformat()}#{ts(note.created_at)}#{note.id}",
        **records.einvoice_index_keys(note.e_invoice, note.changed_at, note.id),
        LISTED: note.model_dump_json(),
    }


def item_to_credit_note(item: dict[str, Any]) -> CreditNote:
    return CreditNote.model_validate({k: v for k, v in item.items() if k not in _STORAGE_ONLY})


@writes(SaveCreditNote)
def _save_credit_note(plan: Plan, change: SaveCreditNote) -> None:
    note_id = change.note.id
    plan.put(
        credit_note_to_item(change.note),
        lambda: ConflictError(f"Credit note {note_id} already exists."),
        ConditionExpression="attribute_not_exists(pk)",
    )


@writes(ReviseCreditNote)
def _revise_credit_note(plan: Plan, change: ReviseCreditNote) -> None:
    before = change.before
    plan.put(
        credit_note_to_item(change.after),
        lambda: ConflictError(
            f"Credit note {before.id} was changed by someone else (expected version {before.version}); "
            "read it again and retry."
        ),
        ConditionExpression="attribute_exists(pk) AND #version = :version",
        ExpressionAttributeNames={"#version": "version"},
        ExpressionAttributeValues=serialize({":version": before.version}),
    )


class DynamoCreditNoteStore:
    """``services.ports.CreditNoteStore`` on the invoices table."""

    def __init__(self, table: Table, cursor_key: bytes | None = None) -> None:
        """``cursor_key`` signs list cursors; the renderer, which never lists, omits it."""
        self._table = table
        self._cursors = CursorCodec(cursor_key) if cursor_key is not None else None

    def get(self, credit_note_id: str) -> CreditNote:
        """Exactly one strongly consistent ``GetItem``."""
        return self.document(credit_note_id).note

    def document(self, credit_note_id: str) -> CreditNoteDocument:
        """The note with its ``pdf_version``: exactly one strongly consistent ``GetItem``."""
        item = self._table.get(credit_note_key(credit_note_id))
        if item is None:
            raise NotFoundError(f"No credit note {credit_note_id}.")
        return CreditNoteDocument(note=item_to_credit_note(item), pdf_version=item.get(PDF_VERSION))

    def list_page(self, account_id: str, *, limit: int, cursor: str | None) -> Page[CreditNote]:
        """Exactly one ``Query`` on ``AccountIndex``, newest first; one more than a page tells whether
        there is a next one."""
        if self._cursors is None:
            raise RuntimeError("this repository was built without a cursor key; it cannot list")
        partition = account_partition(account_id)
        query_print = fingerprint({"a": account_id, "kind": "credit_notes"})
        params: dict[str, Any] = {
            "IndexName": self._table.list_index,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": serialize({":pk": partition}),
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if cursor:
            params["ExclusiveStartKey"] = serialize(self._cursors.decode(cursor, query_print))
        response = self._table.query(**params)
        items = [deserialize(raw) for raw in response.get("Items", [])]
        last_key: dict[str, Any] | None = None
        if len(items) > limit:
            items = items[:limit]
            last_key = {k: items[-1][k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
        return Page(
            items=self._listed(items),
            next_cursor=self._cursors.encode(last_key, query_print) if last_key else None,
        )

    def _listed(self, items: list[dict[str, Any]]) -> list[CreditNote]:
        """The notes of a page from their ``note`` copies; a note written before the copy existed
        is read whole (one ``GetItem`` each: old notes only, until they are backfilled)."""
        notes = []
        for item in items:
            if LISTED in item:
                notes.append(CreditNote.model_validate_json(item[LISTED]))
            else:
                notes.append(self.get(str(item["pk"]).removeprefix("CREDITNOTE#")))
        return notes

    def refunds_of(self, invoice_ids: Sequence[str]) -> dict[str, tuple[Refund, ...]]:
        """The ``refunds`` of each invoice: ``BatchGetItem`` of 100 keys at a time, projecting the id
        and the packed document (or, on an item of the old shape, its plain ``refunds``); unprocessed
        keys are asked for again (a few times, then ``RetryableError``)."""
        found: dict[str, tuple[Refund, ...]] = {}
        unique = list(dict.fromkeys(invoice_ids))
        for start in range(0, len(unique), BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": [
                        serialize(records.invoice_key(i)) for i in unique[start : start + BATCH_GET_KEYS]
                    ],
                    "ProjectionExpression": "#id, refunds, doc",
                    "ExpressionAttributeNames": {"#id": "id"},
                    "ConsistentRead": True,
                }
            }
            for _ in range(BATCH_GET_ATTEMPTS):
                response = self._table.call("batch_get_item", RequestItems=request)
                for raw in response.get("Responses", {}).get(self._table.name, []):
                    item = deserialize(raw)
                    found[item["id"]] = tuple(
                        Refund.model_validate(r) for r in records.invoice_field(item, "refunds")
                    )
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RetryableError("DynamoDB left keys unprocessed; retry.")
        return found

    def mark_rendered(self, credit_note_id: str, version: int) -> bool:
        """Record that the PDF of ``version`` is stored: one conditional ``UpdateItem`` touching
        nothing else; ``False`` when that version was already recorded."""
        return self._table.update_if(
            credit_note_key(credit_note_id),
            UpdateExpression="SET #pdf = :version",
            ConditionExpression=(
                "attribute_exists(pk) AND #version = :version "
                "AND (attribute_not_exists(#pdf) OR #pdf < :version)"
            ),
            ExpressionAttributeNames={"#pdf": PDF_VERSION, "#version": "version"},
            ExpressionAttributeValues=serialize({":version": version}),
        )
