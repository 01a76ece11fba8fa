"""Which version of an invoice has its PDF: one storage-only attribute, ``pdf_version``, on the
invoice item.

The renderer sets it after the PDF of that version is in S3, with a conditional ``UpdateItem``
that touches nothing else (no ``version`` bump, no rewrite of the invoice), so it never races the
invoice's own writes: it only succeeds while the stored invoice is still at that version. Every
other change of the invoice rewrites the item without ``pdf_version`` and raises ``version``; either
way "is there a PDF of the invoice as it is now?" is ``pdf_version == version``, read with the
invoice in one ``GetItem`` — no S3 listing needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from invoicing.domain.errors import NotFoundError
from invoicing.domain.invoice import Invoice
from invoicing.repository import records
from invoicing.repository.errors import error_code, translate_client_error

PDF_VERSION = "pdf_version"


@dataclass(frozen=True)
class InvoiceDocument:
    """An invoice and the version of it whose PDF is stored (``None``: none yet)."""

    invoice: Invoice
    pdf_version: int | None

    @property
    def pdf_is_current(self) -> bool:
        return self.pdf_version == self.invoice.version


class DocumentRepository:
    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def get(self, invoice_id: str) -> InvoiceDocument:
        """The invoice with its ``pdf_version``: exactly one strongly consistent ``GetItem``."""
        response = self._call(
            "get_item",
            Key=records.serialize(records.invoice_key(invoice_id)),
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFoundError(f"No invoice {invoice_id}.")
        item = records.deserialize(response["Item"])
        pdf_version = item.pop(PDF_VERSION, None)
        return InvoiceDocument(invoice=records.item_to_invoice(item), pdf_version=pdf_version)

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        """Record that the PDF of ``version`` is stored. One conditional ``UpdateItem``.

        Returns ``False`` (and changes nothing) when the invoice is no longer at ``version`` or
        already records that version: a newer change needs its own PDF, and a repeat is harmless.
        """
        try:
            self._call(
                "update_item",
                Key=records.serialize(records.invoice_key(invoice_id)),
                UpdateExpression="SET #pdf = :version",
                ConditionExpression=(
                    "attribute_exists(pk) AND #version = :version "
                    "AND (attribute_not_exists(#pdf) OR #pdf < :version)"
                ),
                ExpressionAttributeNames={"#pdf": PDF_VERSION, "#version": "version"},
                ExpressionAttributeValues=records.serialize({":version": version}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        params.setdefault("TableName", self._table)
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise translate_client_error(exc) from exc
