"""The local server's routing without sockets: API routes, local-only routes, event sources, settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.cfn import load_template
from infra.local.events import failed_ids, not_implemented, scheduled_event, sqs_event
from infra.local.functions import FunctionSpec, LambdaContext, functions_from_template
from infra.local.gateway import JwtConfiguration, RouteTable
from infra.local.razorpay_standin import RazorpayStandIn
from infra.local.server import Dispatcher
from infra.local.stack import ConfigError, LocalSettings, merged_function_environment, point_at_local_aws
from infra.local.tokens import make_token


class FakeFunction:
    """Stands in for ``LocalFunction``: records events, answers with ``result`` or raises it."""

    def __init__(self, result: Any = None) -> None:
        self.result = result
        self.events: list[dict] = []

    def invoke(self, event: dict, *, request_id: str | None = None) -> Any:
        self.events.append(event)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


@pytest.fixture
def functions() -> dict[str, FakeFunction]:
    return {
        "InvoiceApiFunction": FakeFunction({"statusCode": 200, "body": "{}"}),
        "RazorpayWebhookFunction": FakeFunction({"statusCode": 200, "body": "{}"}),
        "OverdueSweepFunction": FakeFunction({"read": 0}),
        "PdfRendererFunction": FakeFunction({"batchItemFailures": []}),
    }


@pytest.fixture
def dispatcher(functions) -> Dispatcher:
    standin = RazorpayStandIn(key_id="k", key_secret="s", webhook_secret="w")
    return Dispatcher(
        routes=RouteTable.from_template(load_template()),
        functions=functions,  # type: ignore[arg-type]
        standin=standin,
        emails=lambda: [{"to": ["a@b.example"], "subject": "Hi", "body_text": "x"}],
        events=lambda: [{"detail_type": "InvoiceIssued", "detail": {}, "time": "t"}],
    )


def _get(dispatcher: Dispatcher, path: str, *, token: str | None = None, query: str = ""):
    headers = [("Authorization", f"Bearer {token}")] if token else []
    return dispatcher.dispatch("GET", path, query, headers, b"")


def test_health_is_503_until_ready_then_200(dispatcher):
    assert _get(dispatcher, "/health").status == 503
    dispatcher.ready.set()
    response = _get(dispatcher, "/health")
    assert (response.status, json.loads(response.body)) == (200, {"status": "ok"})


def test_api_route_without_token_is_401_and_never_reaches_the_function(dispatcher, functions):
    response = _get(dispatcher, "/invoices")

    assert (response.status, json.loads(response.body)) == (401, {"message": "Unauthorized"})
    assert functions["InvoiceApiFunction"].events == []


def test_expired_token_is_401_says_why_in_one_log_line_and_never_shows_the_token(
    dispatcher, functions, caplog
):
    # Given
    token = make_token("acc_x", now=1_700_000_000)
    caplog.set_level("INFO", logger="infra.local")

    # When
    response = _get(dispatcher, "/invoices", token=token)

    # Then
    assert (response.status, json.loads(response.body)) == (401, {"message": "Unauthorized"})
    assert dict(response.headers)["www-authenticate"].startswith('Bearer scope="" error="invalid_token"')
    assert functions["InvoiceApiFunction"].events == []
    (line,) = [r.getMessage() for r in caplog.records if r.name == "infra.local"]
    assert line == "401 on GET /invoices: the token expired at 2023-11-15T10:13:20Z"
    assert token not in caplog.text and token.split(".")[1] not in caplog.text


def test_configured_issuer_is_required_of_api_tokens(functions):
    dispatcher = Dispatcher(
        routes=RouteTable.from_template(load_template()),
        functions=functions,  # type: ignore[arg-type]
        standin=RazorpayStandIn(key_id="k", key_secret="s", webhook_secret="w"),
        jwt=JwtConfiguration(issuer="https://issuer.example/"),
    )

    assert _get(dispatcher, "/invoices", token=make_token("acc_x")).status == 401
    assert functions["InvoiceApiFunction"].events == []


def test_api_route_with_token_calls_its_function_with_claims(dispatcher, functions):
    response = _get(dispatcher, "/invoices/summary", token=make_token("acc_x"), query="account_id=acc_x")

    assert response.status == 200
    (event,) = functions["InvoiceApiFunction"].events
    assert event["routeKey"] == "GET /invoices/summary"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["account_id"] == "acc_x"
    assert event["queryStringParameters"] == {"account_id": "acc_x"}
    assert any(name == "apigw-requestid" for name, _ in response.headers)


def test_unknown_route_is_404_like_api_gateway(dispatcher):
    response = _get(dispatcher, "/nope")

    assert (response.status, json.loads(response.body)) == (404, {"message": "Not Found"})


def test_a_raising_handler_is_a_500_without_details(dispatcher, functions):
    functions["InvoiceApiFunction"].result = RuntimeError("boom")

    response = _get(dispatcher, "/invoices", token=make_token("acc_x"))

    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})


def test_sweep_route_sends_a_scheduled_event_with_the_given_time(dispatcher, functions):
    body = json.dumps({"time": "2026-12-01T00:30:00Z"}).encode()

    response = dispatcher.dispatch("POST", "/_local/schedules/overdue-sweep", "", [], body)

    assert (response.status, json.loads(response.body)) == (200, {"read": 0})
    (event,) = functions["OverdueSweepFunction"].events
    assert event["time"] == "2026-12-01T00:30:00Z"
    assert (event["detail-type"], event["source"]) == ("Scheduled Event", "aws.scheduler")


def test_sweep_route_defaults_to_now_and_rejects_a_bad_time(dispatcher, functions):
    before = datetime.now(UTC).replace(microsecond=0)

    assert dispatcher.dispatch("POST", "/_local/schedules/overdue-sweep", "", [], b"").status == 200
    sent = datetime.fromisoformat(functions["OverdueSweepFunction"].events[0]["time"].replace("Z", "+00:00"))
    assert sent >= before
    bad = dispatcher.dispatch("POST", "/_local/schedules/overdue-sweep", "", [], b'{"time": "soon"}')
    assert bad.status == 400


def test_sweep_route_answers_501_while_the_sweep_is_not_implemented(dispatcher, functions):
    functions["OverdueSweepFunction"].result = NotImplementedError("arrives with its own issue")

    response = dispatcher.dispatch("POST", "/_local/schedules/overdue-sweep", "", [], b"")

    assert response.status == 501
    assert "not implemented yet" in json.loads(response.body)["message"]


def test_emails_and_events_routes_list_what_was_collected(dispatcher):
    assert json.loads(_get(dispatcher, "/_local/emails").body)[0]["subject"] == "Hi"
    assert json.loads(_get(dispatcher, "/_local/events").body)[0]["detail_type"] == "InvoiceIssued"


def test_pay_route_refuses_unknown_invoices_and_fields(dispatcher):
    unknown = dispatcher.dispatch("POST", "/_local/razorpay/invoices/inv_nope/pay", "", [], b"")
    extra = dispatcher.dispatch("POST", "/_local/razorpay/invoices/inv_nope/pay", "", [], b'{"tip": 1}')

    assert unknown.status == 404
    assert json.loads(unknown.body)["error"]["code"] == "BAD_REQUEST_ERROR"
    assert extra.status == 400


def test_razorpay_prefix_reaches_the_stand_in_with_basic_auth(dispatcher):
    response = dispatcher.dispatch("GET", "/_razorpay/v1/invoices", "count=5", [], b"")

    assert response.status == 401
    assert json.loads(response.body)["error"]["description"].startswith("Please provide your api key")


def test_hosted_page_of_an_unknown_invoice_is_404(dispatcher):
    response = _get(dispatcher, "/_razorpay/i/inv_nope")

    assert response.status == 404
    assert ("Content-Type", "text/html; charset=utf-8") in response.headers


# ------------------------------------------------------------------------- the hosted pay page
def _issued_at_the_stand_in(dispatcher: Dispatcher, *, partial: bool) -> dict:
    return dispatcher.standin.create_invoice(
        {
            "type": "invoice",
            "customer": {"name": "Vyom Analytics LLP"},
            "line_items": [{"name": "GPU hours", "amount": 123450}],  # ₹1,234.50
            "partial_payment": partial,
        }
    )


def _post_form(dispatcher: Dispatcher, invoice_id: str, **form: str):
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
    headers = [("Content-Type", "application/x-www-form-urlencoded")]
    return dispatcher.dispatch("POST", f"/_razorpay/i/{invoice_id}/pay", "", headers, body)


@pytest.fixture
def delivered(dispatcher, monkeypatch) -> list:
    """Webhooks the page's payments would deliver, answered 200 without a webhook function behind them."""
    sent: list = []

    def deliver(delivery):
        sent.append(delivery)
        return {"event": delivery.event, "event_id": delivery.event_id, "status_code": 200}

    monkeypatch.setattr(dispatcher, "deliver", deliver)
    return sent


def test_a_refused_amount_on_the_hosted_page_is_in_rupees_and_stays_typed(dispatcher, delivered):
    # Given
    invoice = _issued_at_the_stand_in(dispatcher, partial=True)

    # When
    response = _post_form(dispatcher, invoice["id"], method="upi", amount="1500.75")

    # Then
    page = response.body.decode()
    assert response.status == 400
    assert "₹1,500.75 is more than the amount due, ₹1,234.50." in page
    assert "paise" not in page and "150075" not in page and "123450" not in page
    assert "name='amount' inputmode='decimal' value='1500.75'" in page
    assert delivered == []


def test_partial_payment_refused_on_the_hosted_page_says_what_to_pay_in_rupees(dispatcher, delivered):
    invoice = _issued_at_the_stand_in(dispatcher, partial=False)

    response = _post_form(dispatcher, invoice["id"], method="card", amount="100")

    assert response.status == 400
    assert "does not accept partial payments: pay ₹1,234.50." in response.body.decode()


def test_paying_on_the_hosted_page_answers_see_other_and_a_reload_does_not_pay_again(dispatcher, delivered):
    # Given
    invoice = _issued_at_the_stand_in(dispatcher, partial=True)

    # When
    response = _post_form(dispatcher, invoice["id"], method="netbanking", amount="1,000.50")

    # Then: 303 to the page (GET), which shows the payment however often it is loaded
    assert response.status == 303
    location = dict(response.headers)["Location"]
    path, _, query = location.partition("?")
    assert path == f"/_razorpay/i/{invoice['id']}" and query.startswith("payment_id=pay_")
    for _ in range(2):
        page = dispatcher.dispatch("GET", path, query, [], b"")
        assert page.status == 200
        assert "Payment of ₹1,000.50 captured" in page.body.decode()
        assert "invoice.partially_paid</code> → 200" in page.body.decode()
    after = dispatcher.standin.fetch_invoice(invoice["id"])
    assert (after["amount_paid"], after["amount_due"]) == (100050, 23400)
    assert [d.event for d in delivered] == ["payment.captured", "invoice.partially_paid"]


def test_the_page_shows_no_payment_of_another_invoice(dispatcher, delivered):
    paid = _issued_at_the_stand_in(dispatcher, partial=False)
    other = _issued_at_the_stand_in(dispatcher, partial=False)
    query = dict(_post_form(dispatcher, paid["id"], method="upi").headers)["Location"].partition("?")[2]

    page = dispatcher.dispatch("GET", f"/_razorpay/i/{other['id']}", query, [], b"")

    assert page.status == 200 and "captured" not in page.body.decode()


# ---------------------------------------------------------------------------- event sources
def test_scheduled_event_is_eventbridge_schedulers_shape():
    event = scheduled_event(
        datetime(2026, 12, 1, 6, 0, 30, 999, tzinfo=UTC), schedule_name="sweep", event_id="e1"
    )

    assert event == {
        "version": "0",
        "id": "e1",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-12-01T06:00:30Z",
        "region": "ap-south-1",
        "resources": ["arn:aws:scheduler:ap-south-1:123456789012:schedule/default/sweep"],
        "detail": {},
    }


def test_sqs_event_is_lambdas_shape():
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": '{"kind": "invoice"}',
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MessageAttributes": {"kind": {"StringValue": "invoice", "DataType": "String"}},
    }

    (record,) = sqs_event([message], queue_arn="arn:aws:sqs:ap-south-1:123456789012:q")["Records"]

    assert record["messageId"] == "m1" and record["receiptHandle"] == "r1"
    assert record["body"] == '{"kind": "invoice"}'
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "ap-south-1"
    assert record["eventSourceARN"] == "arn:aws:sqs:ap-south-1:123456789012:q"
    assert record["attributes"] == {"ApproximateReceiveCount": "1"}
    assert record["messageAttributes"]["kind"]["stringValue"] == "invoice"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"


def test_batch_failures_and_not_implemented_are_recognised():
    class BatchError(Exception):
        def __init__(self, children):
            self.child_exceptions = children

    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}) == {"m2"}
    assert failed_ids(None) == set()
    assert not_implemented(NotImplementedError())
    assert not_implemented(BatchError([(NotImplementedError, NotImplementedError(), None)]))
    assert not not_implemented(BatchError([(ValueError, ValueError(), None)]))


# --------------------------------------------------------------------------------- functions
def test_functions_and_their_lambda_context_come_from_the_template():
    specs = functions_from_template(load_template())

    api = specs["InvoiceApiFunction"]
    assert api.function_name == "invoicing-dev-invoice-api"
    assert (api.code_uri, api.handler, api.timeout_seconds, api.memory_mb) == (
        "functions/invoice_api/",
        "handler.lambda_handler",
        29,
        512,
    )
    assert api.service_name == "invoice-api"  # its POWERTOOLS_SERVICE_NAME: its logs say so locally too
    assert specs["PdfRendererFunction"].service_name == "pdf-renderer"
    context = LambdaContext(api, request_id="r1")
    assert context.aws_request_id == "r1"
    assert context.invoked_function_arn.endswith(":function:invoicing-dev-invoice-api")
    assert 0 < context.get_remaining_time_in_millis() <= 29_000


def test_lambda_context_counts_down_to_zero():
    spec = FunctionSpec("F", "f", "functions/f/", "handler.lambda_handler", timeout_seconds=0, memory_mb=128)

    assert LambdaContext(spec).get_remaining_time_in_millis() == 0


# ---------------------------------------------------------------------------------- settings
def test_settings_default_to_the_documented_development_values():
    settings = LocalSettings.from_env({})

    assert (settings.port, settings.aws_port, settings.demo_data) == (3000, 4566, True)
    assert (settings.key_id, settings.key_secret, settings.webhook_secret) == (
        "rzp_test_local",
        "local_key_secret",
        "local_webhook_secret",
    )


def test_settings_honour_the_environment_and_refuse_nonsense():
    env = {"PORT": "3100", "AWS_PORT": "0", "DEMO_DATA": "0", "RAZORPAY_WEBHOOK_SECRET": "whsec"}

    settings = LocalSettings.from_env(env)

    assert settings.jwt == JwtConfiguration()  # unset: issuer and audience unchecked
    assert LocalSettings.from_env({"JWT_ISSUER": "https://i/", "JWT_AUDIENCE": "a"}).jwt == JwtConfiguration(
        issuer="https://i/", audiences=("a",)
    )

    assert (settings.port, settings.aws_port, settings.demo_data, settings.webhook_secret) == (
        3100,
        0,
        False,
        "whsec",
    )
    with pytest.raises(ConfigError):
        LocalSettings.from_env({"PORT": "http"})
    with pytest.raises(ConfigError):
        LocalSettings.from_env({"DEMO_DATA": "yes"})


def test_local_aws_environment_drops_profiles_and_per_service_endpoints():
    env = {"AWS_PROFILE": "prod", "AWS_ENDPOINT_URL_DYNAMODB": "https://real", "AWS_SESSION_TOKEN": "t"}

    point_at_local_aws(env, "http://127.0.0.1:4566")

    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "ap-south-1"
    assert not {"AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_SESSION_TOKEN"} & env.keys()


def test_functions_share_one_environment_with_a_local_service_name_for_code_outside_them():
    env = merged_function_environment(load_template(), {"INVOICES_TABLE": "t"})

    assert env["INVOICES_TABLE"] == "t"
    assert env["POWERTOOLS_SERVICE_NAME"] == "invoicing-local"
