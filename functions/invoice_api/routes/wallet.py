"""Prepaid wallets (billing.md, "Prepaid"): top-ups, the advance balance, receipt vouchers' PDFs."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.common import AccountId, IdempotencyKey
from invoicing.contracts.wallet import (
    CreateTopUpRequest,
    TopUpListResponse,
    TopUpResponse,
    WalletBalanceResponse,
)
from invoicing.http import CUSTOMER, current_caller, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.wallet import receipt_document_service, wallet_service

from ._pdf_links import pdf_link_answer, pdf_link_responses

router = Router()

IdempotencyHeader = Annotated[
    IdempotencyKey | None,
    Header(alias="Idempotency-Key", description="Same key and body: the same top-up; another body: 409."),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size (default 25).")]
Cursor = Annotated[str | None, Query(max_length=4096, description="next_cursor of the previous page.")]
AccountQuery = Annotated[AccountId | None, Query(description="Required for operators.")]


@router.post(
    "/wallet/top-ups",
    status_code=201,
    tags=[CUSTOMER],
    summary="Top up a prepaid wallet: a Razorpay payment link for the credit plus GST",
    responses=responses(201, "The top-up, with its payment_url", 403, 409, 422, 502),
)
def create_top_up(
    request: Annotated[CreateTopUpRequest, Body()], idempotency_key: IdempotencyHeader = None
) -> TopUpResponse:
    logger.append_keys(account_id=request.account_id)
    top_up = wallet_service().top_up(
        current_caller(), request.account_id, request.amount, request.claim(idempotency_key)
    )
    logger.append_keys(top_up_id=top_up.id)
    metrics.add_metric(name="TopUpCreated", unit=MetricUnit.Count, value=1)
    return TopUpResponse.from_domain(top_up)


@router.get(
    "/wallet/top-ups",
    tags=[CUSTOMER],
    summary="List an account's top-ups, newest first",
    responses=responses(200, "A page of top-ups", 403),
)
def list_top_ups(
    account_id: AccountQuery = None, limit: Limit = 25, cursor: Cursor = None
) -> TopUpListResponse:
    page = wallet_service().list(current_caller(), account_id, limit=limit, cursor=cursor)
    return TopUpListResponse(
        items=[TopUpResponse.from_domain(top_up) for top_up in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/wallet/top-ups/<top_up_id>",
    tags=[CUSTOMER],
    summary="One top-up",
    responses=responses(200, "The top-up", 404),
)
def get_top_up(top_up_id: str) -> TopUpResponse:
    logger.append_keys(top_up_id=top_up_id)
    return TopUpResponse.from_domain(wallet_service().get(current_caller(), top_up_id))


@router.get(
    "/wallet/balance",
    tags=[CUSTOMER],
    summary="The advance balance: advances received and not yet adjusted (taxable value)",
    responses=responses(200, "The balance", 403),
)
def get_wallet_balance(account_id: AccountQuery = None) -> WalletBalanceResponse:
    account, balance = wallet_service().balance(current_caller(), account_id)
    return WalletBalanceResponse(account_id=account, advance_balance=balance)


@router.get(
    "/receipts/<receipt_id>/pdf",
    tags=[CUSTOMER],
    summary="A short-lived download link for a receipt voucher's PDF (202 while it is rendered)",
    responses=pdf_link_responses(404, 409),
)
def get_receipt_pdf(receipt_id: str):
    logger.append_keys(receipt_id=receipt_id)
    return pdf_link_answer(receipt_document_service().pdf_link(current_caller(), receipt_id))
