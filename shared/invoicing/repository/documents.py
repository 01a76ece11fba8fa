"""Which version of an invoice has its PDF, kept in a small item of its own next to the invoice.

Item: ``INVOICE#{id}`` / ``INVOICE#PDF`` with

- ``pdf_version``: the version whose PDF is in S3 (the renderer sets it after the upload);
- ``failed_version`` (and ``failure``): a version whose render failed for good;
- ``requested_version`` / ``requested_at``: the version a ``GET /invoices/{id}/pdf`` last queued a
  render for, and when, so that polling queues one job, not one per request.

The invoice item is never rewritten for these (it used to carry ``pdf_version``: recording a render
then cost the whole invoice's size again, in the table and in every index projecting it). Each
write is one conditional ``UpdateItem`` of this small item that never moves a figure backwards;
"is there a PDF of the invoice as it is now?" is ``pdf_version == version``, read together with the
invoice by one strongly consistent ``Query`` (``begins_with(sk, "INVOICE")``: exactly these two
items) — no S3 listing needed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from invoicing.domain.documents import InvoiceDocument
from invoicing.domain.errors import NotFoundError
from invoicing.repository import records
from invoicing.repository.table import Table, deserialize, serialize, ts

PDF_VERSION = "pdf_version"
RENDER_SK = f"{records.INVOICE_SK}#PDF"


def render_key(invoice_id: str) -> dict[str, str]:
    return {"pk": records.invoice_key(invoice_id)["pk"], "sk": RENDER_SK}


def _never_backwards(name: str) -> str:
    return f"(attribute_not_exists({name}) OR {name} < :version)"


class DynamoDocumentStore:
    """``services.ports.DocumentStore`` on the invoices table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, invoice_id: str) -> InvoiceDocument:
        """The invoice with its render state: exactly one strongly consistent ``Query``."""
        response = self._table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :invoice)",
            ExpressionAttributeValues=serialize(
                {":pk": records.invoice_key(invoice_id)["pk"], ":invoice": records.INVOICE_SK}
            ),
            ConsistentRead=True,
        )
        items = {item["sk"]: item for item in map(deserialize, response.get("Items", []))}
        invoice = items.get(records.INVOICE_SK)
        if invoice is None:
            raise NotFoundError(f"No invoice {invoice_id}.")
        state = items.get(RENDER_SK, {})
        return InvoiceDocument(
            invoice=records.item_to_invoice(invoice),
            pdf_version=_int(state.get(PDF_VERSION)),
            pdf_failed_version=_int(state.get("failed_version")),
        )

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        """Record that the PDF of ``version`` is stored. One conditional ``UpdateItem``.

        Returns ``False`` (and changes nothing) when that version or a later one is already
        recorded. A version the invoice has moved past may be recorded: it is simply not current.
        """
        return self._table.update_if(
            render_key(invoice_id),
            UpdateExpression="SET #pdf = :version",
            ConditionExpression=_never_backwards("#pdf"),
            ExpressionAttributeNames={"#pdf": PDF_VERSION},
            ExpressionAttributeValues=serialize({":version": version}),
        )

    def mark_failed(self, invoice_id: str, version: int, reason: str) -> bool:
        """Record that rendering ``version`` failed for good (unless it, or a later version, was
        rendered or marked failed already). One conditional ``UpdateItem``."""
        return self._table.update_if(
            render_key(invoice_id),
            UpdateExpression="SET #failed = :version, #failure = :reason",
            ConditionExpression=f"{_never_backwards('#pdf')} AND {_never_backwards('#failed')}",
            ExpressionAttributeNames={
                "#pdf": PDF_VERSION,
                "#failed": "failed_version",
                "#failure": "failure",
            },
            ExpressionAttributeValues=serialize({":version": version, ":reason": reason}),
        )

    def request_render(self, invoice_id: str, version: int, now: datetime, *, again_after: timedelta) -> bool:
        """Claim the render of ``version`` for one caller: ``True`` when no render of it was
        requested yet, or the last request is older than ``again_after`` (its job may be lost).
        One conditional ``UpdateItem``; concurrent callers get ``True`` once."""
        return _request_render(self._table, render_key(invoice_id), version, now, again_after)


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


class DynamoRenderRequests:
    """``services.ports.RenderRequests``: one small item per document (``RENDER#{document}#{id}`` /
    ``REQUESTED``) holding the last version whose render a ``GET …/pdf`` queued, and when; the same
    condition as an invoice's render state, so concurrent polls queue one job per version."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def request_render(
        self, document: str, document_id: str, version: int, now: datetime, *, again_after: timedelta
    ) -> bool:
        return _request_render(self._table, _request_key(document, document_id), version, now, again_after)

    def mark_failed(self, document: str, document_id: str, version: int, reason: str) -> bool:
        """One conditional ``UpdateItem`` on the same item (``failed_version``, ``failure``)."""
        return self._table.update_if(
            _request_key(document, document_id),
            UpdateExpression="SET #failed = :version, #failure = :reason",
            ConditionExpression=_never_backwards("#failed"),
            ExpressionAttributeNames={"#failed": "failed_version", "#failure": "failure"},
            ExpressionAttributeValues=serialize({":version": version, ":reason": reason}),
        )

    def failed(self, document: str, document_id: str, version: int) -> bool:
        """One strongly consistent ``GetItem`` (asked only when the PDF is not there)."""
        item = self._table.get(_request_key(document, document_id), consistent=True)
        return item is not None and _int(item.get("failed_version")) == version


def _request_key(document: str, document_id: str) -> dict[str, str]:
    return {"pk": f"RENDER#{document}#{document_id}", "sk": "REQUESTED"}


def _request_render(
    table: Table, key: dict[str, str], version: int, now: datetime, again_after: timedelta
) -> bool:
    """Record that ``version``'s render was queued now, unless it (or a later version) was queued
    less than ``again_after`` ago: one conditional ``UpdateItem``, so concurrent polls get ``True``
    once."""
    return table.update_if(
        key,
        UpdateExpression="SET #requested = :version, #at = :now",
        ConditionExpression=f"{_never_backwards('#requested')} OR #at < :stale",
        ExpressionAttributeNames={"#requested": "requested_version", "#at": "requested_at"},
        ExpressionAttributeValues=serialize(
            {":version": version, ":now": ts(now), ":stale": ts(now - again_after)}
        ),
    )
