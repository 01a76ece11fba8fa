"""Razorpay webhooks: ``POST /webhooks/razorpay`` (no JWT; Razorpay signs the raw body).

Answers (docs/api.md): 200 ``processed`` / ``duplicate`` / ``ignored``; 400 ``bad_request`` for a
missing or wrong signature (nothing is written); 409 ``conflict`` while the same event is still
being processed by another invocation; 503 on a transient failure, with no record of the event
kept, so Razorpay's retry processes it.
"""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.contracts.errors import error_body
from invoicing.domain.errors import BadRequestError, ConflictError, RetryableError
from invoicing.observability import logger, metrics, tracer
from invoicing.wiring import webhook

app = APIGatewayHttpResolver()


@app.post("/webhooks/razorpay")
def receive_razorpay_webhook() -> Response:
    request = app.current_event
    outcome = webhook.receiver(app.lambda_context).receive(
        request.body, bool(request.is_base64_encoded), request.headers
    )
    metrics.add_metric(name=outcome.metric, unit=MetricUnit.Count, value=1)
    logger.info("Webhook answered", extra={"status": outcome.status.value, "reason": outcome.reason})
    return Response(status_code=200, content_type="application/json", body={"status": outcome.status.value})


@app.exception_handler(BadRequestError)
def _bad_request(error: BadRequestError) -> Response:
    logger.info("Webhook refused", extra={"reason": error.message})
    metrics.add_metric(name="WebhookRefused", unit=MetricUnit.Count, value=1)
    return _error(HTTPStatus.BAD_REQUEST, "bad_request", error.message, error.details)


@app.exception_handler(RouteNotFoundError)
def _no_route(error: RouteNotFoundError) -> Response:
    return _error(HTTPStatus.NOT_FOUND, "not_found", "Only POST /webhooks/razorpay is served here.")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _in_progress(error: IdempotencyAlreadyInProgressError) -> Response:
    logger.info("The same event is being processed by another invocation")
    metrics.add_metric(name="WebhookInProgress", unit=MetricUnit.Count, value=1)
    return _error(HTTPStatus.CONFLICT, "conflict", "This event is already being processed; retry later.")


@app.exception_handler([RetryableError, ConflictError, IdempotencyPersistenceLayerError])
def _transient(error: Exception) -> Response:
    logger.exception("Transient failure; Razorpay will retry")
    metrics.add_metric(name="WebhookRetryRequested", unit=MetricUnit.Count, value=1)
    return _error(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "service_unavailable",
        "A dependency is temporarily unavailable; nothing was recorded, so a retry is safe.",
    )


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    logger.exception("Unexpected failure")
    metrics.add_metric(name="WebhookFailed", unit=MetricUnit.Count, value=1)
    return _error(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        f"Something went wrong (correlation id {logger.get_correlation_id()}).",
    )


def _error(status: HTTPStatus, code: str, message: str, details: list | None = None) -> Response:
    """The contract's error body (``invoicing.http`` is the API's; this function needs no more)."""
    return Response(
        status_code=status.value, content_type="application/json", body=error_body(code, message, details)
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
