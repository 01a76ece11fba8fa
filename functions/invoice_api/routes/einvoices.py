"""E-invoicing for operators (einvoice.md): registrations that need attention (invoices and credit
notes), re-queueing a failed one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.einvoices import (
    EInvoiceListResponse,
    EInvoiceOut,
    EInvoiceRetryResponse,
    EInvoiceRow,
    ListEInvoicesQuery,
)
from invoicing.http import OPERATOR, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.api import einvoice_service

if TYPE_CHECKING:
    from invoicing.domain.einvoice import EInvoice

router = Router()

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (default 25).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=4096,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description="next_cursor of the previous page.",
    ),
]


@router.get(
    "/e-invoices",
    tags=[OPERATOR],
    summary="Invoices and credit notes whose registration with the IRP needs attention, newest first",
    responses=responses(200, "A page of documents (type invoice or credit_note) with their e_invoice", 403),
)
def list_e_invoices(
    params: Annotated[ListEInvoicesQuery, Query()], limit: Limit = 25, cursor: Cursor = None
) -> EInvoiceListResponse:
    page = einvoice_service().list(params.status, limit, cursor)
    return EInvoiceListResponse(
        items=[EInvoiceRow.from_domain(entry) for entry in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/invoices/<invoice_id>/e-invoice/retry",
    status_code=202,
    tags=[OPERATOR],
    summary="Re-queue a failed registration with the IRP (after the data was fixed)",
    responses=responses(202, "Queued again: the e_invoice is pending", 403, 404, 409),
)
def retry_e_invoice(invoice_id: str) -> EInvoiceRetryResponse:
    logger.append_keys(invoice_id=invoice_id)
    invoice = einvoice_service().retry(invoice_id)
    return _requeued(invoice.id, invoice.e_invoice)


@router.post(
    "/credit-notes/<credit_note_id>/e-invoice/retry",
    status_code=202,
    tags=[OPERATOR],
    summary="Re-queue a credit note's failed registration with the IRP (after the data was fixed)",
    responses=responses(202, "Queued again: the e_invoice is pending", 403, 404, 409),
)
def retry_credit_note_e_invoice(credit_note_id: str) -> EInvoiceRetryResponse:
    logger.append_keys(credit_note_id=credit_note_id)
    note = einvoice_service().retry_credit_note(credit_note_id)
    return _requeued(note.id, note.e_invoice)


def _requeued(document_id: str, e_invoice: EInvoice | None) -> EInvoiceRetryResponse:
    """The answer of either retry route: the document's e_invoice, pending again (counted)."""
    metrics.add_metric(name="EInvoiceRequeued", unit=MetricUnit.Count, value=1)
    state = EInvoiceOut.from_domain(e_invoice)
    assert state is not None
    return EInvoiceRetryResponse(document_id=document_id, e_invoice=state)
