"""Invoice documents: the PDF of one invoice, bulk downloads (ZIPs)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.documents import (
    DownloadAcceptedResponse,
    DownloadRequest,
    DownloadResponse,
    PdfLinkResponse,
    RenderingResponse,
)
from invoicing.http import CUSTOMER, current_caller, json_content, responses
from invoicing.observability import logger, metrics
from invoicing.services.documents import Rendering
from invoicing.wiring.api import document_service

router = Router()


@router.get(
    "/invoices/<invoice_id>/pdf",
    tags=[CUSTOMER],
    summary="A short-lived download link for the invoice's PDF (202 while it is rendered)",
    responses={
        **responses(
            200, "A presigned link (at most 15 minutes)", 404, 409, content=json_content(PdfLinkResponse)
        ),
        202: {
            "description": "Being rendered: ask again after Retry-After seconds",
            "content": json_content(RenderingResponse),
        },
    },
)
def get_invoice_pdf(invoice_id: str):
    logger.append_keys(invoice_id=invoice_id)
    result = document_service().pdf_link(current_caller(), invoice_id)
    if isinstance(result, Rendering):
        return Response(
            status_code=HTTPStatus.ACCEPTED.value,
            content_type=content_types.APPLICATION_JSON,
            body=RenderingResponse(),
            headers={"Retry-After": str(result.retry_after_seconds), "Cache-Control": "no-store"},
        )
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=PdfLinkResponse.from_domain(result),
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/invoices/downloads",
    status_code=202,
    tags=[CUSTOMER],
    summary="Ask for a ZIP of up to 100 invoices' PDFs (built in the background)",
    responses=responses(202, "The download job, pending", 403, 404, 409),
)
def create_download(request: Annotated[DownloadRequest, Body()]) -> DownloadAcceptedResponse:
    download = document_service().request_download(current_caller(), request.invoice_ids)
    logger.append_keys(download_id=download.id)
    metrics.add_metric(name="InvoiceDownloadRequested", unit=MetricUnit.Count, value=1)
    return DownloadAcceptedResponse(id=download.id)


@router.get(
    "/invoices/downloads/<download_id>",
    tags=[CUSTOMER],
    summary="A download job; once ready, a short-lived link to its ZIP",
    responses=responses(200, "The download job", 404),
)
def get_download(download_id: str) -> DownloadResponse:
    logger.append_keys(download_id=download_id)
    state = document_service().download(current_caller(), download_id)
    return DownloadResponse.from_domain(state.download, state.link)
