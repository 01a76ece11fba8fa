"""Domain events (EventBridge, source ``invoicing``): their names and what ``detail`` carries."""

from __future__ import annotations

from typing import Any

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
