"""Billing runs: usage becomes invoices (operators; the monthly schedule runs them too)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.billing import BillingRunRequest, BillingRunResponse
from invoicing.contracts.common import DocumentId
from invoicing.http import OPERATOR, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.billing import billing_run_service

router = Router()


@router.post(
    "/billing-runs",
    status_code=202,
    tags=[OPERATOR],
    summary="Start a billing run for a month that has ended (it fans out through the billing queue)",
    responses=responses(202, "The run, running", 403),
)
def create_billing_run(request: Annotated[BillingRunRequest, Body()]) -> BillingRunResponse:
    run = billing_run_service().request(request.period, request.account_ids)
    logger.append_keys(run_id=run.id)
    metrics.add_metric(name="BillingRunRequested", unit=MetricUnit.Count, value=1)
    return BillingRunResponse.from_domain(run)


@router.get(
    "/billing-runs/<run_id>",
    tags=[OPERATOR],
    summary="A billing run and what it did",
    responses=responses(200, "The run", 403, 404),
)
def get_billing_run(run_id: Annotated[DocumentId, Path(description='"run_…"')]) -> BillingRunResponse:
    logger.append_keys(run_id=run_id)
    return BillingRunResponse.from_domain(billing_run_service().get(run_id))
