"""Invoice documents: the PDF of one invoice, bulk downloads (ZIPs)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.documents import (
    DownloadAcceptedResponse,
    DownloadRequest,
    DownloadResponse,
)
from invoicing.http import CUSTOMER, current_caller, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.api import document_service

from ._pdf_links import pdf_link_answer, pdf_link_responses

router = Router()


@router.get(
    "/invoices/<invoice_id>/pdf",
    tags=[CUSTOMER],
    summary="A short-lived download link for the invoice's PDF (202 while it is rendered)",
    responses=pdf_link_responses(404, 409),
)
def get_invoice_pdf(invoice_id: str):
    logger.append_keys(invoice_id=invoice_id)
    return pdf_link_answer(document_service().pdf_link(current_caller(), invoice_id))


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
