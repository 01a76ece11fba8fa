"""The invoice HTTP API (api.md): customer and operator routes, each one service call.

Who is calling comes only from the JWT claims API Gateway verified
(``requestContext.authorizer.jwt.claims``): the account claim (its name is configurable) and
``scope`` (``invoices:admin`` = operator). Identity is settled before anything else, including
body validation: no claims → 401, a customer on an operator route → 403. Another account's
invoice is 404 on every route, and customers never see drafts.

Every error leaves through the one block of exception handlers at the bottom, as
``{"error": {"code", "message", "details"}}``.
"""

import json
import re
from datetime import UTC, date, datetime
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoSuchRouteError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.config import invoice_settings
from invoicing.contracts.api import (
    AccountId,
    CreateInvoiceRequest,
    DisputeRequest,
    DisputeResponse,
    DownloadAcceptedResponse,
    DownloadRequest,
    DownloadResponse,
    ErrorResponse,
    IdempotencyKey,
    InvoiceResponse,
    InvoiceSummaryRow,
    ListResponse,
    PatchInvoiceRequest,
    PayResponse,
    PdfLinkResponse,
    RenderingResponse,
    SummaryResponse,
    csv_export,
    validation_message,
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
from invoicing.domain.invoice import STATUS_FILTERS, InvoiceStatus
from invoicing.domain.numbering import ist_date
from invoicing.observability import logger, metrics, tracer
from invoicing.repository.invoices import IdempotencyClaim, ListQuery
from invoicing.services.documents import DocumentService, Rendering
from invoicing.services.invoices import Caller, InvoiceService
from invoicing.wiring.api import document_service, invoice_service

OPERATOR_SCOPE = "invoices:admin"
CUSTOMER, OPERATOR = "Customer", "Operator"  # route tags; OPERATOR routes need OPERATOR_SCOPE
PUBLIC_PATHS = frozenset({"/openapi.json", "/swagger"})  # Auth: NONE in template.yaml
API_TITLE, API_VERSION = "Invoicing API", "1.0.0"

app = APIGatewayHttpResolver(
    enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR
)


def now() -> datetime:
    """The one clock of this function (tests replace it)."""
    return datetime.now(UTC)


def service() -> InvoiceService:
    return invoice_service()


def documents() -> DocumentService:
    return document_service()


# ------------------------------------------------------------------------------------------------
# Who is calling
# ------------------------------------------------------------------------------------------------
def current_caller() -> Caller:
    """The caller from the verified JWT claims; 401 when they are missing or carry no identity."""
    claims = app.current_event.request_context.authorizer.jwt_claim
    if not claims:
        raise UnauthorizedError("This request carries no verified JWT claims.")
    is_operator = OPERATOR_SCOPE in _scopes(claims.get("scope"))
    account = claims.get(invoice_settings().account_id_claim)
    account = account.strip() if isinstance(account, str) and account.strip() else None
    if account is None and not is_operator:
        raise UnauthorizedError("The token names no billing account.")
    return Caller(account_id=account, is_operator=is_operator)


def _scopes(value: Any) -> set[str]:
    """``scope`` is space-separated; API Gateway renders a list claim as ``[a b]``."""
    if isinstance(value, list):
        return {str(item) for item in value}
    if isinstance(value, str):
        return set(value.strip("[]").replace(",", " ").split())
    return set()


def _authorize(route: Any) -> Caller | None:
    """Identity and scope for ``route``: None for the public documentation routes."""
    if route is not None and route.path in PUBLIC_PATHS:
        return None
    caller = current_caller()
    if OPERATOR in (getattr(route, "tags", None) or ()) and not caller.is_operator:
        raise ForbiddenError(f"This route needs the {OPERATOR_SCOPE} scope.")
    return caller


def _authorized(app: APIGatewayHttpResolver, next_middleware: Any) -> Response:
    """Runs after request validation succeeded; ``_request_invalid`` does the same check on failure."""
    app.append_context(caller=_authorize(app.context.get("_route")))
    return next_middleware(app)


app.use(middlewares=[_authorized])


def caller() -> Caller:
    return app.context["caller"]


# ------------------------------------------------------------------------------------------------
# OpenAPI: every route's answers, errors in the contract's body
# ------------------------------------------------------------------------------------------------
_ERROR_DESCRIPTIONS = {
    400: "bad_request: malformed JSON or a cursor that is not valid for this query",
    401: "unauthorized: no usable JWT claims",
    403: "forbidden: needs the invoices:admin scope, or names another account",
    404: "not_found: no such invoice for this caller",
    409: "invalid_state (the status does not allow it) or conflict (concurrent change, reused key)",
    422: "validation_error: the body or query fails validation",
    500: "internal_error: unexpected; the message carries a correlation id",
    502: "payment_provider_error: Razorpay failed or timed out; nothing was half-done, retry",
    503: "service_unavailable: a dependency is throttling; retry",
}


def _responses(success: int, description: str, *errors: int, content: dict | None = None) -> dict:
    answers: dict[int, Any] = {success: {"description": description}}
    if content is not None:
        answers[success]["content"] = content
    for code in sorted({*errors, 401, 422, 500}):
        answers[code] = {
            "description": _ERROR_DESCRIPTIONS[code],
            "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}},
        }
    return answers


@cache
def openapi_json() -> str:
    """The OpenAPI document generated from the routes and their models (built on first request:
    Powertools' OpenAPI models cost a third of a second to import, which no cold start should pay)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="GST invoices for a cloud provider, collected through Razorpay (see api.md).",
        security_schemes={"jwt": HTTPBearer(bearerFormat="JWT", description="API Gateway JWT authorizer")},
        security=[{"jwt": []}],
    )


@app.get("/openapi.json", include_in_schema=False)
def get_openapi_document():
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


@app.get("/swagger", include_in_schema=False)
def get_swagger_ui():
    """Swagger UI over the same document (what ``app.enable_swagger`` serves, built lazily)."""
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(content_types.__file__).parent / "openapi" / "swagger_ui"
    html = generate_swagger_html(
        openapi_json().replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    return Response(status_code=200, content_type="text/html", body=html)


# ------------------------------------------------------------------------------------------------
# Customer routes (an operator may call them too)
# ------------------------------------------------------------------------------------------------
StatusFilter = Annotated[
    str | None,
    Query(description="Comma-separated: paid, pending, overdue, cancelled, expired, draft (operators)."),
]
DateFrom = Annotated[date | None, Query(alias="from", description="Issued on or after (YYYY-MM-DD).")]
DateTo = Annotated[date | None, Query(alias="to", description="Issued on or before (YYYY-MM-DD).")]
Search = Annotated[str | None, Query(max_length=100, description="Invoice number or description.")]
AccountFilter = Annotated[AccountId | None, Query(description="Required for operators; a customer's own.")]


def _list_query(
    account_id: str | None,
    status: str | None,
    date_from: date | None,
    date_to: date | None,
    q: str | None,
    limit: int = 25,
    cursor: str | None = None,
) -> ListQuery:
    if date_from and date_to and date_from > date_to:
        raise DomainValidationError(
            "`from` must be on or before `to`.",
            [{"loc": ["query", "from"], "msg": "must be on or before to"}],
        )
    return ListQuery(
        account_id=account_id or "",
        statuses=_statuses(status),
        date_from=date_from,
        date_to=date_to,
        q=q.strip() or None if q else None,
        limit=limit,
        cursor=cursor,
    )


def _statuses(raw: str | None) -> frozenset[InvoiceStatus] | None:
    values = [value.strip() for value in (raw or "").split(",") if value.strip()]
    if not values:
        return None
    unknown = [value for value in values if value not in STATUS_FILTERS]
    if unknown:
        msg = f"unknown status filter {unknown[0]!r}; use {', '.join(STATUS_FILTERS)}"
        raise DomainValidationError(f"The {msg}.", [{"loc": ["query", "status"], "msg": msg}])
    return frozenset().union(*(STATUS_FILTERS[value] for value in values))


@app.get(
    "/invoices",
    tags=[CUSTOMER],
    summary="List invoices, newest first",
    responses=_responses(200, "A page of invoices", 400, 403),
)
def list_invoices(
    status: StatusFilter = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    q: Search = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    account_id: AccountFilter = None,
) -> ListResponse:
    query = _list_query(account_id, status, date_from, date_to, q, limit, cursor)
    page = service().list(caller(), query)
    return ListResponse(
        items=[InvoiceSummaryRow.from_domain(invoice) for invoice in page.items], next_cursor=page.next_cursor
    )


@app.get(
    "/invoices/summary",
    tags=[CUSTOMER],
    summary="Totals paid, pending and overdue",
    responses=_responses(200, "The account's totals", 403),
)
def get_invoice_summary(account_id: AccountFilter = None) -> SummaryResponse:
    return SummaryResponse.from_domain(service().summary(caller(), account_id))


@app.get(
    "/invoices/export.csv",
    tags=[CUSTOMER],
    summary="Every invoice matching the filters, as CSV (money in rupees)",
    responses=_responses(
        200, "CSV with a header row", 403, content={"text/csv": {"schema": {"type": "string"}}}
    ),
)
def export_invoices_csv(
    status: StatusFilter = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    q: Search = None,
    account_id: AccountFilter = None,
):
    who = caller()
    query = _list_query(account_id, status, date_from, date_to, q)
    body = csv_export(service().export(who, query))
    account = account_id or who.account_id or "account"
    filename = f"invoices-{re.sub(r'[^A-Za-z0-9_-]', '_', account)}-{ist_date(now()):%Y%m%d}.csv"
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=body,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@app.get(
    "/invoices/<invoice_id>",
    tags=[CUSTOMER],
    summary="One invoice",
    responses=_responses(200, "The invoice", 404),
)
def get_invoice(invoice_id: str) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    return InvoiceResponse.from_domain(service().get(caller(), invoice_id))


@app.post(
    "/invoices/<invoice_id>/pay",
    tags=[CUSTOMER],
    summary="Razorpay's hosted payment page for the invoice",
    responses=_responses(200, "Where to pay", 404, 409),
)
def pay_invoice(invoice_id: str) -> PayResponse:
    logger.append_keys(invoice_id=invoice_id)
    return PayResponse.from_domain(service().payment_link(caller(), invoice_id))


@app.post(
    "/invoices/<invoice_id>/disputes",
    status_code=201,
    tags=[CUSTOMER],
    summary="Dispute an invoice (reminders and suspension pause)",
    responses=_responses(201, "The dispute, open", 400, 404, 409),
)
def create_dispute(invoice_id: str, request: Annotated[DisputeRequest, Body()]) -> DisputeResponse:
    logger.append_keys(invoice_id=invoice_id)
    dispute = service().dispute(
        caller(),
        invoice_id,
        reason=request.reason,
        expected_correction=request.expected_correction,
        now=now(),
    )
    metrics.add_metric(name="InvoiceDisputed", unit=MetricUnit.Count, value=1)
    return DisputeResponse.from_domain(dispute)


def _json(model: type) -> dict:
    return {content_types.APPLICATION_JSON: {"model": model}}


@app.get(
    "/invoices/<invoice_id>/pdf",
    tags=[CUSTOMER],
    summary="A short-lived download link for the invoice's PDF (202 while it is rendered)",
    responses={
        **_responses(200, "A presigned link (at most 15 minutes)", 404, 409, content=_json(PdfLinkResponse)),
        202: {
            "description": "Being rendered: ask again after Retry-After seconds",
            "content": _json(RenderingResponse),
        },
    },
)
def get_invoice_pdf(invoice_id: str):
    logger.append_keys(invoice_id=invoice_id)
    result = documents().pdf_link(caller(), invoice_id, now())
    if isinstance(result, Rendering):
        return Response(
            status_code=HTTPStatus.ACCEPTED.value,
            content_type=content_types.APPLICATION_JSON,
            body=RenderingResponse(),
            headers={"Retry-After": str(result.retry_after_seconds), "Cache-Control": "no-store"},
        )
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=PdfLinkResponse.from_domain(result),
        headers={"Cache-Control": "no-store"},
    )


@app.post(
    "/invoices/downloads",
    status_code=202,
    tags=[CUSTOMER],
    summary="Ask for a ZIP of up to 100 invoices' PDFs (built in the background)",
    responses=_responses(202, "The download job, pending", 404, 409),
)
def create_download(request: Annotated[DownloadRequest, Body()]) -> DownloadAcceptedResponse:
    download = documents().request_download(caller(), request.invoice_ids, now())
    logger.append_keys(download_id=download.id)
    metrics.add_metric(name="InvoiceDownloadRequested", unit=MetricUnit.Count, value=1)
    return DownloadAcceptedResponse(id=download.id)


@app.get(
    "/invoices/downloads/<download_id>",
    tags=[CUSTOMER],
    summary="A download job; once ready, a short-lived link to its ZIP",
    responses=_responses(200, "The download job", 404),
)
def get_download(download_id: str) -> DownloadResponse:
    logger.append_keys(download_id=download_id)
    state = documents().download(caller(), download_id, now())
    return DownloadResponse.from_domain(state.download, state.link)


# ------------------------------------------------------------------------------------------------
# Operator routes (scope invoices:admin)
# ------------------------------------------------------------------------------------------------
@app.post(
    "/invoices",
    status_code=201,
    tags=[OPERATOR],
    summary="Create a draft invoice (honours Idempotency-Key)",
    responses=_responses(201, "The draft", 400, 403, 409),
)
def create_invoice(
    request: Annotated[CreateInvoiceRequest, Body()],
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(
            alias="Idempotency-Key", description="Same key and body: the same invoice; another body: 409."
        ),
    ] = None,
) -> InvoiceResponse:
    claim = IdempotencyClaim.of(idempotency_key, _canonical(request)) if idempotency_key else None
    created_at = now()
    invoice = service().create(
        account_id=request.account_id, fields=request.to_fields(), now=created_at, claim=claim
    )
    logger.append_keys(invoice_id=invoice.id)
    if invoice.created_at == created_at:  # not a replay of an earlier request with this key
        metrics.add_metric(name="InvoiceCreated", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


def _canonical(request: CreateInvoiceRequest) -> bytes:
    """The parsed body in one canonical form: whitespace and key order do not change the hash."""
    return json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


@app.patch(
    "/invoices/<invoice_id>",
    tags=[OPERATOR],
    summary="Edit an invoice (which fields depends on its status)",
    responses=_responses(200, "The invoice as changed", 400, 403, 404, 409, 502),
)
def update_invoice(invoice_id: str, request: Annotated[PatchInvoiceRequest, Body()]) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    invoice = service().revise(invoice_id, request.to_changes(), now())
    metrics.add_metric(name="InvoiceRevised", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


@app.post(
    "/invoices/<invoice_id>/issue",
    tags=[OPERATOR],
    summary="Issue a draft: number, dates and a Razorpay payment link",
    responses=_responses(200, "The issued invoice", 403, 404, 409, 502, 503),
)
def issue_invoice(invoice_id: str) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    invoice = service().issue(invoice_id, now())
    metrics.add_metric(name="InvoiceIssued", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


@app.post(
    "/invoices/<invoice_id>/cancel",
    tags=[OPERATOR],
    summary="Cancel an unpaid invoice, here and at Razorpay",
    responses=_responses(200, "The cancelled invoice", 403, 404, 409, 502),
)
def cancel_invoice(invoice_id: str) -> InvoiceResponse:
    logger.append_keys(invoice_id=invoice_id)
    invoice = service().cancel(invoice_id, now())
    metrics.add_metric(name="InvoiceCancelled", unit=MetricUnit.Count, value=1)
    return InvoiceResponse.from_domain(invoice)


@app.delete(
    "/invoices/<invoice_id>",
    status_code=204,
    tags=[OPERATOR],
    summary="Delete a draft",
    responses=_responses(204, "Deleted", 403, 404, 409),
)
def delete_invoice(invoice_id: str):
    logger.append_keys(invoice_id=invoice_id)
    service().delete(invoice_id)
    metrics.add_metric(name="InvoiceDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, content_type=None, body="")


# ------------------------------------------------------------------------------------------------
# Errors → HTTP, in this one place
# ------------------------------------------------------------------------------------------------
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


def _error(status: HTTPStatus, code: str, message: str, details: list | None = None) -> Response:
    body = error_body(code, message, details)
    return Response(status_code=status.value, content_type=content_types.APPLICATION_JSON, body=body)


@app.exception_handler(InvoicingError)
def _invoicing_error(exc: InvoicingError) -> Response:
    status, code = next(
        (_ERRORS[kind] for kind in type(exc).__mro__ if kind in _ERRORS), (HTTPStatus.CONFLICT, "conflict")
    )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.exception("Request failed", extra={"error_code": code, "status": status.value})
    else:
        logger.info("Request refused", extra={"error_code": code, "status": status.value})
    return _error(status, code, exc.message, exc.details)


@app.exception_handler(RequestValidationError)
def _request_invalid(exc: RequestValidationError) -> Response:
    try:  # who is calling is settled before what they sent
        _authorize(app.context.get("_route"))
    except InvoicingError as refused:
        return _invoicing_error(refused)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        logger.info("Request refused", extra={"error_code": "bad_request", "status": 400})
        return _error(HTTPStatus.BAD_REQUEST, "bad_request", "The request body is not valid JSON.")
    details = [{"loc": list(error.get("loc", ())), "msg": validation_message(error)} for error in errors]
    logger.info("Request refused", extra={"error_code": "validation_error", "status": 422})
    first = details[0] if details else {"loc": [], "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"]) or "request"
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", f"{where}: {first['msg']}.", details)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_body(exc: RequestUnsupportedContentType) -> Response:
    return _error(HTTPStatus.BAD_REQUEST, "bad_request", "Send the request body as application/json.")


@app.exception_handler(NoSuchRouteError)
def _no_such_route(exc: NoSuchRouteError) -> Response:
    return _error(HTTPStatus.NOT_FOUND, "not_found", "No such route.")


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    correlation_id = logger.get_correlation_id() or getattr(app.lambda_context, "aws_request_id", None) or "-"
    logger.exception("Unexpected error", extra={"correlation_id": correlation_id})
    return _error(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        f"Something went wrong on our side; quote correlation id {correlation_id} when reporting it.",
    )


# ------------------------------------------------------------------------------------------------
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
