"""The rate card: price versions by sku (billing.md)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.contracts.billing import PriceResponse, PricesResponse, PutPriceRequest, Sku
from invoicing.http import CUSTOMER, OPERATOR, responses
from invoicing.observability import logger, metrics
from invoicing.wiring.billing import billing_service

router = Router()


@router.get(
    "/prices",
    tags=[CUSTOMER],
    summary="Every price version, by sku then effective_from",
    responses=responses(200, "The rate card", 403),
)
def list_prices() -> PricesResponse:
    return PricesResponse(items=[PriceResponse.from_domain(p) for p in billing_service().prices()])


@router.put(
    "/prices/<sku>",
    tags=[OPERATOR],
    summary="Add a price version (the same effective_from replaces it)",
    responses=responses(200, "The price version", 403, 404),
)
def put_price(
    sku: Annotated[Sku, Path(description='e.g. "gpu.h100.hour"')], request: Annotated[PutPriceRequest, Body()]
) -> PriceResponse:
    logger.append_keys(sku=sku)
    price = billing_service().put_price(sku, request.to_fields())
    metrics.add_metric(name="PriceSaved", unit=MetricUnit.Count, value=1)
    return PriceResponse.from_domain(price)
