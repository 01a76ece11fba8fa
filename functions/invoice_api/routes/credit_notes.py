"""Credit notes (corrections.md): issue one on an invoice, list an account's, read one, its PDF."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.common import AccountId, IdempotencyKey
from invoicing.contracts.credit_notes import (
    CreateCreditNoteRequest,
    CreditNoteListResponse,
    CreditNoteResponse,
)
from invoicing.domain.credit_notes import CreditNoteView
from invoicing.http import CUSTOMER, OPERATOR, current_caller, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.api import credit_note_document_service, credit_note_service

from ._pdf_links import pdf_link_answer, pdf_link_responses

router = Router()

IdempotencyHeader = Annotated[
    IdempotencyKey | None,
    Header(
        alias="Idempotency-Key", description="Same key and body: the same credit note; another body: 409."
    ),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size (default 25).")]
Cursor = Annotated[str | None, Query(max_length=4096, description="next_cursor of the previous page.")]


@router.post(
    "/invoices/<invoice_id>/credit-notes",
    status_code=201,
    tags=[OPERATOR],
    summary="Issue a credit note on an invoice (honours Idempotency-Key)",
    responses=responses(201, "The credit note, issued", 403, 404, 409, 422),
)
def create_credit_note(
    invoice_id: str,
    request: Annotated[CreateCreditNoteRequest, Body()],
    idempotency_key: IdempotencyHeader = None,
) -> CreditNoteResponse:
    logger.append_keys(invoice_id=invoice_id)
    issued = credit_note_service().issue(
        invoice_id, request.to_domain(), request.claim(idempotency_key, invoice_id)
    )
    logger.append_keys(credit_note_id=issued.note.id)
    if not issued.replayed:
        metrics.add_metric(name="CreditNoteIssued", unit=MetricUnit.Count, value=1)
    return CreditNoteResponse.from_domain(CreditNoteView(issued.note, issued.credit.refunds))


@router.get(
    "/credit-notes",
    tags=[CUSTOMER],
    summary="List an account's credit notes, newest first",
    responses=responses(200, "A page of credit notes", 403),
)
def list_credit_notes(
    account_id: Annotated[AccountId | None, Query(description="Required for operators.")] = None,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> CreditNoteListResponse:
    page = credit_note_service().list(current_caller(), account_id, limit=limit, cursor=cursor)
    return CreditNoteListResponse(
        items=[CreditNoteResponse.from_domain(view) for view in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/credit-notes/<credit_note_id>",
    tags=[CUSTOMER],
    summary="One credit note",
    responses=responses(200, "The credit note", 404),
)
def get_credit_note(credit_note_id: str) -> CreditNoteResponse:
    logger.append_keys(credit_note_id=credit_note_id)
    return CreditNoteResponse.from_domain(credit_note_service().get(current_caller(), credit_note_id))


@router.get(
    "/credit-notes/<credit_note_id>/pdf",
    tags=[CUSTOMER],
    summary="A short-lived download link for the credit note's PDF (202 while rendered or awaiting its IRN)",
    responses=pdf_link_responses(404, 409, waiting="Being rendered, or waiting for its IRN"),
)
def get_credit_note_pdf(credit_note_id: str):
    logger.append_keys(credit_note_id=credit_note_id)
    return pdf_link_answer(credit_note_document_service().pdf_link(current_caller(), credit_note_id))
