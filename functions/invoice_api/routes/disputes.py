"""Dispute decisions (corrections.md): an invoice's disputes, and resolving one."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.credit_notes import DisputeListResponse, DisputeOut, ResolveDisputeRequest
from invoicing.http import CUSTOMER, OPERATOR, current_caller, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.api import dispute_service

router = Router()


@router.get(
    "/invoices/<invoice_id>/disputes",
    tags=[CUSTOMER],
    summary="The invoice's disputes, oldest first",
    responses=responses(200, "The disputes", 404),
)
def list_disputes(invoice_id: str) -> DisputeListResponse:
    logger.append_keys(invoice_id=invoice_id)
    disputes = dispute_service().list(current_caller(), invoice_id)
    return DisputeListResponse(items=[DisputeOut.of(dispute) for dispute in disputes])


@router.post(
    "/invoices/<invoice_id>/disputes/<dispute_id>/resolve",
    tags=[OPERATOR],
    summary="Resolve a dispute: rejected, or credited with a credit note in the same step",
    responses=responses(200, "The dispute, resolved", 403, 404, 409, 422),
)
def resolve_dispute(
    invoice_id: str, dispute_id: str, request: Annotated[ResolveDisputeRequest, Body()]
) -> DisputeOut:
    logger.append_keys(invoice_id=invoice_id, dispute_id=dispute_id)
    resolution = dispute_service().resolve(
        invoice_id,
        dispute_id,
        outcome=request.outcome,
        note=request.note,
        credit=request.credit_note.to_domain() if request.credit_note else None,
    )
    metrics.add_metric(name="DisputeResolved", unit=MetricUnit.Count, value=1)
    if resolution.credit is not None:
        metrics.add_metric(name="CreditNoteIssued", unit=MetricUnit.Count, value=1)
    return DisputeOut.of(resolution.dispute)
