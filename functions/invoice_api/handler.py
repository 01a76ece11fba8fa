"""The invoice HTTP API (docs/api.md): the resolver, its routers and the Lambda entry point.

Routes live in ``routes/`` (one Powertools ``Router`` per resource), included on a request's way in:
a cold start imports the router its first request needs, not the whole API (``routes.Routers``).
Who may call what, the OpenAPI answers and the error map are ``invoicing.http``.
"""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from routes import Routers

from invoicing import http, snapstart
from invoicing.observability import logger, metrics, tracer
from invoicing.wiring.api import settings

app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
routers = Routers(app)
http.install(app, account_claim=lambda: settings().account_id_claim, load_routes=routers.include_all)
snapstart.prime(routers.include_all)  # with SnapStart, the snapshot holds every route, imported


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    routers.serve(event.get("routeKey"))
    return app.resolve(event, context)
