"""Which side effects a change of an invoice has: one rule for every use case.

- the domain events the use case names (``InvoiceIssued``, ``InvoicePaid``, ...);
- a render of the PDF ahead of its first download for the versions customers fetch soon: issued,
  paid in full, cancelled, credited (``Invoice.renders_ahead``; any other printed change renders
  on demand);
- a refund request for every refund the change decided (an overpayment, a credit note's excess);
- a registration with the IRP when its e-invoice became ``pending`` (at issue, or re-queued).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from invoicing.domain.changes import Emit
from invoicing.domain.einvoice import EInvoiceStatus
from invoicing.domain.events import invoice_event
from invoicing.domain.invoice import Invoice, RefundStatus
from invoicing.domain.outbox import (
    Effect,
    OutboxMessage,
    PublishEvent,
    RegisterEInvoice,
    RenderDocument,
    RequestRefund,
)


def invoice_effects(
    before: Invoice | None, after: Invoice, events: Iterable[str | PublishEvent] = ()
) -> list[Effect]:
    effects: list[Effect] = [
        event if isinstance(event, PublishEvent) else invoice_event(event, after) for event in events
    ]
    if before is not None and after.renders_ahead(before):
        effects.append(RenderDocument(document="invoice", document_id=after.id, version=after.version))
    known = {refund.id for refund in before.refunds} if before is not None else set()
    effects += [
        RequestRefund(
            refund_id=refund.id, payment_id=refund.payment_id, amount=refund.amount, invoice_id=after.id
        )
        for refund in after.refunds
        if refund.id not in known and refund.status is RefundStatus.PENDING
    ]
    pending = after.e_invoice is not None and after.e_invoice.status is EInvoiceStatus.PENDING
    was_pending = before is not None and before.e_invoice == after.e_invoice
    if pending and not was_pending:
        assert after.e_invoice is not None
        effects.append(RegisterEInvoice(document_id=after.id, attempt=after.e_invoice.attempts))
    return effects


def emit(account_id: str, effects: Sequence[Effect], now: datetime) -> list[Emit]:
    """The outbox change for ``effects`` (none when there is nothing to do)."""
    if not effects:
        return []
    return [Emit(OutboxMessage(account_id=account_id, created_at=now, effects=tuple(effects)))]
