"""What billing staff do to invoices (scope ``invoices:admin``): create, edit, issue, cancel, delete."""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from invoicing.contracts.common import IdempotencyKey
from invoicing.contracts.invoices import CreateInvoiceRequest, InvoiceResponse, PatchInvoiceRequest
from invoicing.domain.queries import IdempotencyClaim
from invoicing.http import OPERATOR, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.api import credit_note_service, invoice_service

router = Router()

IdempotencyHeader = Annotated[
    IdempotencyKey | None,
    Header(alias="Idempotency-Key", description="Same key and body: the same result; another body: 409."),
]


def claim(key: str | None, request: BaseModel) -> IdempotencyClaim | None:
    """The key and a hash of the parsed body (whitespace and key order do not change it)."""
    if not key:
        return None
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return IdempotencyClaim.of(key, canonical.encode())


@router.post(
    "/invoices",
    status_code=201,
    tags=[OPERATOR],
    summary="Create a draft invoice (honours Idempotency-Key)",
    responses=responses(201, "The draft", 403, 409),
)
def create_invoice(
    request: Annotated[CreateInvoiceRequest, Body()], idempotency_key: IdempotencyHeader = None
) -> InvoiceResponse:
    service = invoice_service()
    started = service.clock()
    invoice = service.create(
        account_id=request.account_id, fields=request.to_fields(), claim=claim(idempotency_key, request)
    )
    logger.append_keys(invoice_id=invoice.id)
    if invoice.created_at >= started:  # not a replay of an earlier request with this key
        metrics.add_metric(name="InvoiceCreated", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


@router.patch(
    "/invoices/<invoice_id>",
    tags=[OPERATOR],
    summary="Edit an invoice (which fields depends on its status)",
    responses=responses(200, "The invoice as changed", 403, 404, 409, 502),
)
def update_invoice(invoice_id: str, request: Annotated[PatchInvoiceRequest, Body()]) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    invoice = invoice_service().revise(invoice_id, request.to_changes())
    metrics.add_metric(name="InvoiceRevised", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


@router.post(
    "/invoices/<invoice_id>/issue",
    tags=[OPERATOR],
    summary="Issue a draft: number, dates and a Razorpay payment link",
    responses=responses(200, "The issued invoice", 403, 404, 409, 502),
)
def issue_invoice(invoice_id: str) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    invoice = invoice_service().issue(invoice_id)
    metrics.add_metric(name="InvoiceIssued", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


@router.post(
    "/invoices/<invoice_id>/cancel",
    tags=[OPERATOR],
    summary="Cancel an unpaid invoice by a full credit note, here and at Razorpay",
    responses=responses(200, "The cancelled invoice", 403, 404, 409, 502),
)
def cancel_invoice(invoice_id: str) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    invoice = credit_note_service().cancel(invoice_id)
    metrics.add_metric(name="InvoiceCancelled", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


@router.delete(
    "/invoices/<invoice_id>",
    status_code=204,
    tags=[OPERATOR],
    summary="Delete a draft",
    responses=responses(204, "Deleted", 403, 404, 409, 502),
)
def delete_invoice(invoice_id: str):
    logger.append_keys(invoice_id=invoice_id)
    invoice_service().delete(invoice_id)
    metrics.add_metric(name="InvoiceDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, content_type=None, body="")
