"""Domain events (EventBridge, source ``invoicing``): their names and what ``detail`` carries."""

from __future__ import annotations

from typing import Any

from invoicing.domain.einvoice import EInvoice
from invoicing.domain.invoice import Invoice
from invoicing.domain.outbox import PublishEvent

SOURCE = "invoicing"


def invoice_detail(invoice: Invoice) -> dict[str, Any]:
    """``invoice_id``, ``account_id``, ``invoice_number``, ``status``, ``amount_due`` (api.md), and the
    version the event is about."""
    return {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "invoice_number": invoice.invoice_number,
        "status": invoice.status.value,
        "amount_due": invoice.amount_due,
        "version": invoice.version,
    }


def invoice_event(detail_type: str, invoice: Invoice, **extra: Any) -> PublishEvent:
    return PublishEvent(detail_type=detail_type, detail=invoice_detail(invoice) | extra)


def e_invoice_event(
    document: str, document_id: str, account_id: str, number: str | None, e_invoice: EInvoice
) -> PublishEvent:
    """``EInvoiceGenerated`` (with ``irn``) or ``EInvoiceFailed`` (with ``error``), einvoice.md."""
    detail: dict[str, Any] = {
        "document_id": document_id,
        "type": document,
        "account_id": account_id,
        "number": number,
        "status": e_invoice.status.value,
    }
    if e_invoice.error is not None:
        detail["error"] = e_invoice.error.model_dump(mode="json")
        return PublishEvent(detail_type="EInvoiceFailed", detail=detail)
    detail |= {"irn": e_invoice.irn, "ack_no": e_invoice.ack_no}
    return PublishEvent(detail_type="EInvoiceGenerated", detail=detail)
