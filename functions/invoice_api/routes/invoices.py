"""Invoices as customers see them (operators may call these too): list, summary, CSV, one invoice,
its payment page, disputes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.documents import ExportLinkResponse
from invoicing.contracts.invoices import (
    DisputeRequest,
    DisputeResponse,
    InvoiceResponse,
    InvoiceSummaryRow,
    ListInvoicesQuery,
    ListResponse,
    PayResponse,
    SummaryResponse,
    csv_lines,
)
from invoicing.http import CUSTOMER, current_caller, json_content, responses
from invoicing.observability import logger, metrics
from invoicing.services.exports import StoredCsv
from invoicing.wiring.api import csv_export_service, invoice_service

router = Router()

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (default 25).")]
Cursor = Annotated[str | None, Query(max_length=4096, description="next_cursor of the previous page.")]


@router.get(
    "/invoices",
    tags=[CUSTOMER],
    summary="List invoices, newest first",
    responses=responses(200, "A page of invoices", 403),
)
def list_invoices(
    params: Annotated[ListInvoicesQuery, Query()], limit: Limit = 25, cursor: Cursor = None
) -> ListResponse:
    page = invoice_service().list(current_caller(), params.to_query(limit=limit, cursor=cursor))
    return ListResponse(
        items=[InvoiceSummaryRow.from_domain(invoice) for invoice in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/invoices/summary",
    tags=[CUSTOMER],
    summary="Totals paid (net of refunds), pending and overdue",
    responses=responses(200, "The account's totals", 403),
)
def get_invoice_summary(
    account_id: Annotated[str | None, Query(max_length=64, description="Required for operators.")] = None,
) -> SummaryResponse:
    return SummaryResponse.of(invoice_service().summary(current_caller(), account_id))


@router.get(
    "/invoices/export.csv",
    tags=[CUSTOMER],
    summary="Every invoice matching the filters, as CSV (money in rupees); a large export by link",
    responses={
        **responses(200, "CSV with a header row", 403, content={"text/csv": {"schema": {"type": "string"}}}),
        303: {
            "description": "See Other: the export is too large to answer inline (over 5 MB); it was "
            "written to storage and Location is a presigned GET (at most 15 minutes) of the same CSV",
            "headers": {"Location": {"description": "The CSV's presigned URL", "schema": {"type": "string"}}},
            "content": json_content(ExportLinkResponse),
        },
    },
)
def export_invoices_csv(params: Annotated[ListInvoicesQuery, Query()]):
    result = csv_export_service().export(current_caller(), params.to_query(), csv_lines)
    if isinstance(result, StoredCsv):
        logger.info("Export stored", extra={"rows": result.rows, "bytes": result.size})
        return Response(
            status_code=HTTPStatus.SEE_OTHER.value,
            content_type=content_types.APPLICATION_JSON,
            body=ExportLinkResponse.from_domain(result.link),
            headers={"Location": result.link.url, "Cache-Control": "no-store"},
        )
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="text/csv; charset=utf-8",
        body=result.body,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/invoices/<invoice_id>",
    tags=[CUSTOMER],
    summary="One invoice",
    responses=responses(200, "The invoice", 404),
)
def get_invoice(invoice_id: str) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    return InvoiceResponse.from_domain(invoice_service().get(current_caller(), invoice_id))


@router.post(
    "/invoices/<invoice_id>/pay",
    tags=[CUSTOMER],
    summary="Razorpay's hosted payment page for the invoice",
    responses=responses(200, "Where to pay", 404, 409),
)
def pay_invoice(invoice_id: str) -> PayResponse:
    logger.append_keys(invoice_id=invoice_id)
    return PayResponse.from_domain(invoice_service().payment_link(current_caller(), invoice_id))


@router.post(
    "/invoices/<invoice_id>/disputes",
    status_code=201,
    tags=[CUSTOMER],
    summary="Dispute an invoice (reminders and suspension pause)",
    responses=responses(201, "The dispute, open", 404, 409),
)
def create_dispute(invoice_id: str, request: Annotated[DisputeRequest, Body()]) -> DisputeResponse:
    logger.append_keys(invoice_id=invoice_id)
    dispute = invoice_service().dispute(
        current_caller(),
        invoice_id,
        reason=request.reason,
        expected_correction=request.expected_correction,
    )
    metrics.add_metric(name="InvoiceDisputed", unit=MetricUnit.Count, value=1)
    return DisputeResponse.from_domain(dispute)
