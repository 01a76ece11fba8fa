"""Billing profiles: who an account's invoices are addressed to (billing.md)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.billing import BillingProfileResponse, PutProfileRequest
from invoicing.contracts.common import AccountId
from invoicing.http import CUSTOMER, current_caller, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.billing import billing_service

router = Router()

AccountPath = Annotated[AccountId, Path(description="The billing account.")]


@router.get(
    "/accounts/<account_id>/billing-profile",
    tags=[CUSTOMER],
    summary="An account's billing profile",
    responses=responses(200, "The billing profile", 403, 404),
)
def get_billing_profile(account_id: AccountPath) -> BillingProfileResponse:
    logger.append_keys(account_id=account_id)
    return BillingProfileResponse.from_domain(billing_service().profile(current_caller(), account_id))


@router.put(
    "/accounts/<account_id>/billing-profile",
    tags=[CUSTOMER],
    summary="Create or replace a billing profile (customers: only their GST details)",
    responses=responses(200, "The billing profile as stored", 403, 404, 409),
)
def put_billing_profile(
    account_id: AccountPath, request: Annotated[PutProfileRequest, Body()]
) -> BillingProfileResponse:
    logger.append_keys(account_id=account_id)
    profile = billing_service().put_profile(
        current_caller(), account_id, request.to_customer(), request.operator_fields()
    )
    metrics.add_metric(name="BillingProfileSaved", unit=MetricUnit.Count, value=1)
    return BillingProfileResponse.from_domain(profile)
