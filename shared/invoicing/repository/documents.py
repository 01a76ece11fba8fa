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

from invoicing.domain.documents import InvoiceDocument
from invoicing.domain.errors import NotFoundError
from invoicing.repository import records
from invoicing.repository.table import Table, serialize

PDF_VERSION = "pdf_version"


class DynamoDocumentStore:
    """``services.ports.DocumentStore`` on the invoices table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, invoice_id: str) -> InvoiceDocument:
        """The invoice with its ``pdf_version``: exactly one strongly consistent ``GetItem``."""
        item = self._table.get(records.invoice_key(invoice_id))
        if item is None:
            raise NotFoundError(f"No invoice {invoice_id}.")
        pdf_version = item.pop(PDF_VERSION, None)
        return InvoiceDocument(invoice=records.item_to_invoice(item), pdf_version=pdf_version)

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        """Record that the PDF of ``version`` is stored. One conditional ``UpdateItem``.

        Returns ``False`` (and changes nothing) when the invoice is no longer at ``version`` or
        already records that version: a newer change needs its own PDF, and a repeat is harmless.
        """
        return self._table.update_if(
            records.invoice_key(invoice_id),
            UpdateExpression="SET #pdf = :version",
            ConditionExpression=(
                "attribute_exists(pk) AND #version = :version "
                "AND (attribute_not_exists(#pdf) OR #pdf < :version)"
            ),
            ExpressionAttributeNames={"#pdf": PDF_VERSION, "#version": "version"},
            ExpressionAttributeValues=serialize({":version": version}),
        )
