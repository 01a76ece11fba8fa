"""Usage: what the platform meters (scope usage:write), and its summary per month (billing.md)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.billing import (
    RecordStatusOut,
    UsageBatchRequest,
    UsageLineOut,
    UsageResponse,
    UsageSummaryQuery,
    UsageSummaryResponse,
)
from invoicing.http import CUSTOMER, METERING, current_caller, responses
from invoicing.observability import metrics
from invoicing.wiring.billing import billing_service

router = Router()


@router.post(
    "/usage",
    tags=[METERING],
    summary="Post 1-500 usage records (idempotent per record id; all or nothing on validation)",
    responses=responses(200, "What became of each record", 403),
)
def post_usage(request: Annotated[UsageBatchRequest, Body()]) -> UsageResponse:
    result = billing_service().ingest(request.to_records())
    accepted = result.count("accepted")
    if accepted:
        metrics.add_metric(name="UsageRecordsAccepted", unit=MetricUnit.Count, value=accepted)
    return UsageResponse(
        accepted=accepted,
        duplicates=result.count("duplicate"),
        conflicts=result.count("conflict"),
        items=[RecordStatusOut(id=record_id, status=status) for record_id, status in result.items],
    )


@router.get(
    "/usage/summary",
    tags=[CUSTOMER],
    summary="A month's usage as the lines the billing run bills (the next invoice's preview)",
    responses=responses(200, "The usage summary", 403),
)
def get_usage_summary(params: Annotated[UsageSummaryQuery, Query()]) -> UsageSummaryResponse:
    summary = billing_service().summary(current_caller(), params.period, params.account_id)
    return UsageSummaryResponse(
        account_id=summary.account_id,
        period=summary.period,
        currency="INR",
        lines=[UsageLineOut.from_domain(line) for line in summary.lines],
        taxable_amount=summary.taxable_amount,
        records=summary.records,
        invoice_id=summary.invoice_id,
    )
