"""The invoice HTTP API (docs/api.md): the resolver, its routers and the Lambda entry point.

Routes live in ``routes/`` (one Powertools ``Router`` per resource); who may call what, the
OpenAPI answers and the error map are ``invoicing.http``.
"""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from routes import (
    accounts,
    billing_runs,
    credit_notes,
    disputes,
    documents,
    einvoices,
    invoices,
    operations,
    prices,
    statements,
    usage,
    wallet,
)

from invoicing import http
from invoicing.observability import logger, metrics, tracer
from invoicing.wiring.api import settings

app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
http.install(app, account_claim=lambda: settings().account_id_claim)
app.include_router(documents.router)  # before invoices: /invoices/downloads beats /invoices/<id>
app.include_router(invoices.router)
app.include_router(operations.router)
app.include_router(credit_notes.router)
app.include_router(disputes.router)
app.include_router(einvoices.router)
app.include_router(statements.router)
for billing_router in (accounts.router, prices.router, usage.router, billing_runs.router, wallet.router):
    app.include_router(billing_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
