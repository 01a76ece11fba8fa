"""Statements of account (corrections.md): ask for one, then read it (with its PDF and CSV once ready)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.statements import StatementAcceptedResponse, StatementRequest, StatementResponse
from invoicing.http import CUSTOMER, current_caller, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.api import statement_service

router = Router()


@router.post(
    "/statements",
    status_code=202,
    tags=[CUSTOMER],
    summary="Ask for a statement of account for a date range (built in the background)",
    responses=responses(202, "The statement, pending", 403),
)
def create_statement(request: Annotated[StatementRequest, Body()]) -> StatementAcceptedResponse:
    statement = statement_service().request(current_caller(), request.account_id, request.start, request.end)
    logger.append_keys(statement_id=statement.id)
    metrics.add_metric(name="StatementRequested", unit=MetricUnit.Count, value=1)
    return StatementAcceptedResponse(id=statement.id)


@router.get(
    "/statements/<statement_id>",
    tags=[CUSTOMER],
    summary="A statement of account; once ready, its entries and short-lived links to its PDF and CSV",
    responses=responses(200, "The statement", 404),
)
def get_statement(statement_id: str) -> StatementResponse:
    logger.append_keys(statement_id=statement_id)
    view = statement_service().get(current_caller(), statement_id)
    return StatementResponse.from_domain(view.statement, view.entries, view.pdf, view.csv)
