"""The HTTP API's edge, shared by its routers: who is calling, what a route may answer, errors → HTTP.

Who is calling comes only from the JWT claims API Gateway verified
(``requestContext.authorizer.jwt.claims``): the account claim (its name is configurable) and
``scope``, space-separated tokens compared exactly (``invoices:admin`` = operator, ``usage:write``
= the metering service). Identity is settled before anything else, including body validation: no
usable claims → 401; a route tagged ``Operator`` without the operator scope → 403; the metering
scope on any route but its own → 403.

Every error leaves through one block of exception handlers as
``{"error": {"code", "message", "details"}}`` (api.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoSuchRouteError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from invoicing.contracts.errors import error_body
from invoicing.domain.errors import (
    BadRequestError,
    ConflictError,
    DomainValidationError,
    ForbiddenError,
    InvalidTransitionError,
    InvoicingError,
    NotFoundError,
    PaymentProviderError,
    RetryableError,
    UnauthorizedError,
)
from invoicing.observability import logger

if TYPE_CHECKING:  # imported on first use: the domain's and the contracts' models are no cold start's cost
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

    from invoicing.domain.access import Caller

OPERATOR_SCOPE = "invoices:admin"
USAGE_SCOPE = "usage:write"
CUSTOMER, OPERATOR, METERING = "Customer", "Operator", "Metering"  # route tags: who may call
PUBLIC_PATHS = frozenset({"/openapi.json", "/swagger"})  # Auth: NONE in template.yaml
API_TITLE, API_VERSION = "Invoicing API", "1.0.0"

_ERROR_DESCRIPTIONS = {
    400: "bad_request: malformed JSON (or not UTF-8), or a cursor that is not valid for this query",
    401: 'unauthorized: no usable JWT claims (API Gateway\'s own refusal is {"message": "Unauthorized"})',
    403: "forbidden: needs the invoices:admin scope, or names another account",
    404: "not_found: no such object for this caller",
    409: "invalid_state (the status does not allow it) or conflict (concurrent change, reused key)",
    422: "validation_error: the body or query fails validation",
    500: "internal_error: unexpected; the message carries a correlation id",
    502: "payment_provider_error: Razorpay failed or timed out; nothing was half-done, retry",
    503: "service_unavailable: a dependency is throttling or busy; retry",
}

_ERRORS: dict[type[InvoicingError], tuple[HTTPStatus, str]] = {
    BadRequestError: (HTTPStatus.BAD_REQUEST, "bad_request"),
    UnauthorizedError: (HTTPStatus.UNAUTHORIZED, "unauthorized"),
    ForbiddenError: (HTTPStatus.FORBIDDEN, "forbidden"),
    NotFoundError: (HTTPStatus.NOT_FOUND, "not_found"),
    InvalidTransitionError: (HTTPStatus.CONFLICT, "invalid_state"),
    ConflictError: (HTTPStatus.CONFLICT, "conflict"),
    DomainValidationError: (HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error"),
    PaymentProviderError: (HTTPStatus.BAD_GATEWAY, "payment_provider_error"),
    RetryableError: (HTTPStatus.SERVICE_UNAVAILABLE, "service_unavailable"),
}


# ------------------------------------------------------------------------------------------------
# Who is calling
# ------------------------------------------------------------------------------------------------
def caller_from_claims(claims: dict[str, Any] | None, account_claim: str) -> Caller:
    """The caller from verified JWT claims; ``UnauthorizedError`` when they identify no one."""
    from invoicing.domain.access import Caller

    if not claims:
        raise UnauthorizedError("This request carries no verified JWT claims.")
    scope = claims.get("scope")
    scopes = set(scope.split()) if isinstance(scope, str) else set()
    is_operator, writes_usage = OPERATOR_SCOPE in scopes, USAGE_SCOPE in scopes
    account = claims.get(account_claim)
    if account is not None and (not isinstance(account, str) or not account or account != account.strip()):
        raise UnauthorizedError(f"The token's {account_claim} claim is not a usable account id.")
    if account is None and not (is_operator or writes_usage):
        raise UnauthorizedError("The token names no billing account.")
    return Caller(account_id=account, is_operator=is_operator, can_write_usage=writes_usage)


def authorize(caller: Caller, tags: list[str] | tuple[str, ...]) -> None:
    """Scope rules by route tag (operators may call every route)."""
    if caller.is_operator:
        return
    if METERING in tags:
        if not caller.can_write_usage:
            raise ForbiddenError(f"This route needs the {USAGE_SCOPE} or {OPERATOR_SCOPE} scope.")
        return
    if caller.can_write_usage:
        raise ForbiddenError(f"The {USAGE_SCOPE} scope may only post usage.")
    if OPERATOR in tags:
        raise ForbiddenError(f"This route needs the {OPERATOR_SCOPE} scope.")


_CALLER: ContextVar[Caller | None] = ContextVar("caller", default=None)


def current_caller() -> Caller:
    """The caller the middleware settled for this request.

    Kept in a context variable rather than the resolver's context: a router's context is that of
    the last resolver that included it, which need not be the one serving this request.
    """
    caller = _CALLER.get()
    if caller is None:
        raise UnauthorizedError("This request carries no verified JWT claims.")
    return caller


# ------------------------------------------------------------------------------------------------
# OpenAPI: every route's answers, errors in the contract's body
# ------------------------------------------------------------------------------------------------
def responses(
    success: int, description: str, *errors: int, content: dict[str, Any] | None = None
) -> dict[int, Any]:
    """A route's documented answers: its success, the errors it names, and 400/401/422/500/503 always."""
    from invoicing.contracts.common import ErrorResponse, GatewayMessage

    answers: dict[int, Any] = {success: {"description": description}}
    if content is not None:
        answers[success]["content"] = content
    for code in sorted({*errors, 400, 401, 422, 500, 503}):
        model = ErrorResponse | GatewayMessage if code == 401 else ErrorResponse
        answers[code] = {"description": _ERROR_DESCRIPTIONS[code], "content": json_content(model)}
    return answers


def json_content(model: Any) -> dict[str, Any]:
    return {content_types.APPLICATION_JSON: {"model": model}}


# ------------------------------------------------------------------------------------------------
# The resolver: middleware, documentation routes, exception handlers
# ------------------------------------------------------------------------------------------------
def install(
    app: APIGatewayHttpResolver,
    account_claim: Callable[[], str],
    load_routes: Callable[[], None] = lambda: None,
) -> None:
    """Authorization middleware, ``/openapi.json`` and ``/swagger``, and the one error map.

    ``load_routes`` includes every route the resolver may still lack (routers included on demand):
    the OpenAPI document describes them all.
    """
    _ROUTE_LOADERS[id(app)] = load_routes

    def authorized(route: Any) -> Caller | None:
        if route is not None and route.path in PUBLIC_PATHS:
            return None
        caller = caller_from_claims(app.current_event.request_context.authorizer.jwt_claim, account_claim())
        authorize(caller, tuple(getattr(route, "tags", None) or ()))
        if route is not None:
            _refuse_unknown_query(route, app.current_event.query_string_parameters or {})
        return caller

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        token = _CALLER.set(authorized(app.context.get("_route")))
        try:
            return next_middleware(app)
        finally:
            _CALLER.reset(token)

    app.use(middlewares=[middleware])

    # No return annotations on these two: Powertools would try to build a response model from them.
    @app.get("/openapi.json", include_in_schema=False)
    def get_openapi_document():  # type: ignore[no-untyped-def]
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json(app))

    @app.get("/swagger", include_in_schema=False)
    def get_swagger_ui():  # type: ignore[no-untyped-def]
        """Swagger UI over the same document (what ``app.enable_swagger`` serves, built lazily)."""
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

        assets = Path(content_types.__file__).parent / "openapi" / "swagger_ui"
        html = generate_swagger_html(
            openapi_json(app).replace("</", "<\\/"),
            (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
            (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
            "",
            None,
        )
        return Response(status_code=200, content_type="text/html", body=html)

    @_exception_handler(app, InvoicingError)
    def invoicing_error(exc: InvoicingError) -> Response[str]:
        status, code = next(
            (_ERRORS[kind] for kind in type(exc).__mro__ if kind in _ERRORS),
            (HTTPStatus.CONFLICT, "conflict"),
        )
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.exception("Request failed", extra={"error_code": code, "status": status.value})
        else:
            logger.info("Request refused", extra={"error_code": code, "status": status.value})
        return error(status, code, exc.message, exc.details)

    @_exception_handler(app, RequestValidationError)
    def request_invalid(exc: RequestValidationError) -> Response[str]:
        try:  # who is calling is settled before what they sent
            authorized(app.context.get("_route"))
        except InvoicingError as refused:
            return invoicing_error(refused)
        from invoicing.contracts.common import validation_message

        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            logger.info("Request refused", extra={"error_code": "bad_request", "status": 400})
            return error(HTTPStatus.BAD_REQUEST, "bad_request", "The request body is not valid JSON.")
        details = [{"loc": _location(err.get("loc", ())), "msg": validation_message(err)} for err in errors]
        logger.info("Request refused", extra={"error_code": "validation_error", "status": 422})
        first = details[0] if details else {"loc": [], "msg": "invalid"}
        where = ".".join(str(part) for part in first["loc"]) or "request"
        message = f"{where}: {str(first['msg']).rstrip('.')}."
        return error(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", message, details)

    @_exception_handler(app, RequestUnsupportedContentType)
    def unsupported_body(exc: RequestUnsupportedContentType) -> Response[str]:
        return error(HTTPStatus.BAD_REQUEST, "bad_request", "Send the request body as application/json.")

    @_exception_handler(app, NoSuchRouteError)
    def no_such_route(exc: NoSuchRouteError) -> Response[str]:
        return error(HTTPStatus.NOT_FOUND, "not_found", "No such route.")

    @_exception_handler(app, Exception)
    def unexpected(exc: Exception) -> Response[str]:
        if isinstance(exc, UnicodeDecodeError | RecursionError):  # a body we cannot read is the caller's
            try:
                authorized(app.context.get("_route"))
            except InvoicingError as refused:
                return invoicing_error(refused)
            logger.info("Request refused", extra={"error_code": "bad_request", "status": 400})
            return error(
                HTTPStatus.BAD_REQUEST, "bad_request", "The request body is not UTF-8 JSON we can read."
            )
        correlation_id = (
            logger.get_correlation_id() or getattr(app.lambda_context, "aws_request_id", None) or "-"
        )
        logger.exception("Unexpected error", extra={"correlation_id": correlation_id})
        return error(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal_error",
            f"Something went wrong on our side; quote correlation id {correlation_id} when reporting it.",
        )


QUERY_MODEL = "params"  # the name routes give their query-string model parameter
_ROUTE_LOADERS: dict[int, Callable[[], None]] = {}


def _refuse_unknown_query(route: Any, query: dict[str, Any]) -> None:
    """Like unknown body fields, a query parameter the route does not take is a 422, not ignored."""
    from pydantic import BaseModel

    known: set[str] = set()
    for param in route.dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            known |= {field.alias or name for name, field in model.model_fields.items()}
        else:
            known.add(param.alias)
    unknown = sorted(name for name in query if name not in known)
    if unknown:
        raise DomainValidationError(
            f"Unknown query parameter {unknown[0]!r}.",
            [{"loc": ["query", name], "msg": "unknown query parameter"} for name in unknown],
        )


def _location(loc: tuple[Any, ...] | list[Any]) -> list[Any]:
    """Where a request failed, as the client wrote it: a query model's fields sit directly under
    ``query`` (``["query", "status"]``), not under the route's parameter name."""
    parts = list(loc)
    if len(parts) > 2 and parts[0] == "query" and parts[1] == QUERY_MODEL:
        del parts[1]
    return parts


@cache
def _openapi(app_id: int, app: APIGatewayHttpResolver) -> str:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    document = json.loads(
        app.get_openapi_json_schema(
            title=API_TITLE,
            version=API_VERSION,
            description="GST invoices for a GPU cloud, collected through Razorpay. See docs/api.md.",
            security_schemes={
                "jwt": HTTPBearer(bearerFormat="JWT", description="API Gateway JWT authorizer")
            },
            security=[{"jwt": []}],
        )
    )
    _precise_query_models(document, app)
    _our_server_errors(document)
    return json.dumps(document)


def _our_server_errors(document: dict[str, Any]) -> None:
    """A 500 is always the contract's error body. Powertools documents its own model for the
    responses it fails to validate (``response_validation_error_http_code``); those reach the
    client through our handler as ``internal_error``, so that is what the document says."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if "500" in operation.get("responses", {}):
                operation["responses"]["500"] = {
                    "description": _ERROR_DESCRIPTIONS[500],
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
                    },
                }
    document.get("components", {}).get("schemas", {}).pop("ResponseValidationError", None)


def _precise_query_models(document: dict[str, Any], app: APIGatewayHttpResolver) -> None:
    """Give the parameters of a query *model* their real schemas (pattern, format, bounds).

    Powertools expands a pydantic query model into one parameter per field but documents each with
    its bare type only (``{"type": "string"}``), which would make the document looser than the
    service. The routes are read from the resolver's route lists (no public accessor exists).
    """
    from pydantic import BaseModel

    for route in [*app._static_routes, *app._dynamic_routes]:
        operation = document.get("paths", {}).get(route.openapi_path, {}).get(route.method.lower())
        if not operation:
            continue
        for param in route.dependant.query_params:
            model = param.field_info.annotation
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                continue
            schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
            properties, required = schema.get("properties", {}), set(schema.get("required", []))
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") in properties:
                    field = dict(properties[parameter["name"]])
                    parameter["description"] = field.pop("description", parameter.get("description", ""))
                    field.pop("title", None)
                    parameter["schema"] = field
                    parameter["required"] = parameter["name"] in required


_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _exception_handler(
    app: APIGatewayHttpResolver, exc_class: type[Exception]
) -> Callable[[_Handler], _Handler]:
    """``app.exception_handler``, typed: Powertools leaves its return unannotated."""
    register: Callable[[_Handler], _Handler] = app.exception_handler(exc_class)
    return register


def openapi_json(app: APIGatewayHttpResolver) -> str:
    """The OpenAPI document generated from the routes and their models, built on first request
    (Powertools' OpenAPI models cost a third of a second to import, which no cold start should pay).
    Every route is included first."""
    _ROUTE_LOADERS.get(id(app), lambda: None)()
    return _openapi(id(app), app)


def error(
    status: HTTPStatus, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_body(code, message, details)),
    )
