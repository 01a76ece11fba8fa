"""The local API Gateway: routes from template.yaml, HTTP API v2 events, v2 responses back to HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from infra.cfn import load_template
from infra.local.gateway import (
    JwtConfiguration,
    Match,
    Route,
    RouteTable,
    UnauthorizedError,
    authorize,
    build_event,
    check_claims,
    claim_string,
    is_text,
    to_http,
)
from infra.local.tokens import decode_claims, make_token

NOW = datetime(2026, 11, 21, 5, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def routes() -> RouteTable:
    return RouteTable.from_template(load_template())


def _unsigned(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _event(match: Match, *, headers=(), body=b"", query="", method=None, authorizer=None) -> dict:
    return build_event(
        match,
        method=method or match.route.method,
        raw_path="/invoices/inv_abc",
        raw_query=query,
        headers=list(headers),
        body=body,
        source_ip="127.0.0.1",
        authorizer=authorizer,
        request_id="req-1",
        now=NOW,
    )


# ------------------------------------------------------------------------------------ routing
def test_every_http_api_event_of_the_template_becomes_a_route(routes):
    resources = load_template()["Resources"].values()
    http_events = [
        e
        for r in resources
        for e in r.get("Properties", {}).get("Events", {}).values()
        if e["Type"] == "HttpApi"
    ]
    keys = {(r.route_key, r.function_id) for r in routes.routes}

    assert ("GET /invoices/{id}", "InvoiceApiFunction") in keys
    assert ("POST /webhooks/razorpay", "RazorpayWebhookFunction") in keys
    assert ("GET /swagger", "InvoiceApiFunction") in keys
    assert len(keys) == len(http_events) >= 17


@pytest.mark.parametrize(
    ("method", "path", "route_key", "params"),
    [
        ("GET", "/invoices/summary", "GET /invoices/summary", {}),
        ("GET", "/invoices/export.csv", "GET /invoices/export.csv", {}),
        ("GET", "/invoices/inv_abc", "GET /invoices/{id}", {"id": "inv_abc"}),
        ("GET", "/invoices/downloads/dl_1", "GET /invoices/downloads/{id}", {"id": "dl_1"}),
        ("POST", "/invoices/downloads", "POST /invoices/downloads", {}),
        ("POST", "/invoices/inv_abc/issue", "POST /invoices/{id}/issue", {"id": "inv_abc"}),
        ("PATCH", "/invoices/inv_abc", "PATCH /invoices/{id}", {"id": "inv_abc"}),
        ("post", "/invoices", "POST /invoices", {}),
    ],
)
def test_literal_routes_win_over_path_parameters_like_api_gateway(routes, method, path, route_key, params):
    match = routes.resolve(method, path)

    assert match is not None
    assert (match.route.route_key, match.path_parameters) == (route_key, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope"), ("PUT", "/invoices/inv_abc"), ("GET", "/invoices/inv_abc/pdf/extra"), ("GET", "/")],
)
def test_unknown_path_or_method_has_no_route(routes, method, path):
    assert routes.resolve(method, path) is None


def test_greedy_and_any_routes_rank_below_specific_ones():
    table = RouteTable(
        [
            Route("ANY", "/files/{proxy+}", "F", "Any", None),
            Route("GET", "/files/{name}", "F", "One", None),
            Route("ANY", "/files/readme", "F", "AnyReadme", None),
            Route("GET", "/files/readme", "F", "Readme", None),
        ]
    )

    assert table.resolve("GET", "/files/readme").route.event_name == "Readme"
    assert table.resolve("POST", "/files/readme").route.event_name == "AnyReadme"
    assert table.resolve("GET", "/files/a").route.event_name == "One"
    deep = table.resolve("GET", "/files/a/b/c")
    assert (deep.route.event_name, deep.path_parameters) == ("Any", {"proxy": "a/b/c"})


# ------------------------------------------------------------------------------------ events
def test_event_has_the_v2_shape_with_lower_cased_joined_headers_and_query(routes):
    # Given
    match = routes.resolve("GET", "/invoices/inv_abc")
    headers = [
        ("Host", "127.0.0.1:3000"),
        ("User-Agent", "curl/8"),
        ("X-Trace", "a"),
        ("x-trace", "b"),
        ("Cookie", "a=1; b=2"),
    ]

    # When
    event = _event(match, headers=headers, query="status=paid&status=overdue&q=", authorizer={})

    # Then
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /invoices/{id}"
    assert event["rawPath"] == "/invoices/inv_abc"
    assert event["rawQueryString"] == "status=paid&status=overdue&q="
    assert event["queryStringParameters"] == {"status": "paid,overdue", "q": ""}
    assert event["pathParameters"] == {"id": "inv_abc"}
    assert event["headers"] == {"host": "127.0.0.1:3000", "user-agent": "curl/8", "x-trace": "a,b"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/invoices/inv_abc",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /invoices/{id}"
    assert context["requestId"] == "req-1"
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["time"] == "21/Nov/2026:05:30:00 +0000"
    assert context["timeEpoch"] == int(NOW.timestamp() * 1000)
    assert "authorizer" not in context


def test_no_query_and_no_path_parameters_are_left_out(routes):
    event = _event(routes.resolve("GET", "/invoices"))

    assert "queryStringParameters" not in event and "pathParameters" not in event


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("application/json", False),
        ("application/json; charset=utf-8", False),
        ("text/csv", False),
        ("application/x-www-form-urlencoded", False),
        ("application/problem+json", False),
        ("application/pdf", True),
        ("application/octet-stream", True),
        (None, True),
    ],
)
def test_body_is_text_for_text_types_and_base64_otherwise(routes, content_type, encoded):
    match = routes.resolve("POST", "/webhooks/razorpay")
    headers = [("Content-Type", content_type)] if content_type else []
    body = b'{"event":"payment.captured"}'

    event = _event(match, headers=headers, body=body)

    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]) if encoded else event["body"].encode()) == body
    assert is_text(content_type) is not encoded


def test_claims_come_from_an_unsigned_jwt_as_strings(routes):
    # Given
    route = routes.resolve("GET", "/invoices").route
    token = _unsigned(
        {"account_id": "acc_x", "scope": "invoices:read", "exp": 1795280967, "groups": ["a", "b"]}
    )

    # When
    authorizer = authorize(route, {"authorization": f"Bearer {token}"}, now=NOW.timestamp())

    # Then
    assert authorizer == {
        "jwt": {
            "claims": {
                "account_id": "acc_x",
                "scope": "invoices:read",
                "exp": "1795280967",
                "groups": "[a b]",
            },
            "scopes": None,
        }
    }
    event = _event(routes.resolve("GET", "/invoices"), authorizer=authorizer)
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["account_id"] == "acc_x"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer a.b",
        "Bearer !!!.@@@.sig",
        f"Bearer {_unsigned({'a': 1})[:-1]}x.y",
    ],
)
def test_jwt_route_without_a_usable_token_is_unauthorized(routes, header):
    route = routes.resolve("GET", "/invoices").route

    with pytest.raises(UnauthorizedError):
        authorize(route, {"authorization": header} if header else {})


def test_open_routes_get_no_authorizer_block_even_with_a_token(routes):
    route = routes.resolve("POST", "/webhooks/razorpay").route
    authorizer = authorize(route, {"authorization": f"Bearer {make_token('acc_x')}"})

    event = _event(routes.resolve("POST", "/webhooks/razorpay"), authorizer=authorizer)

    assert route.authorizer is None
    assert "authorizer" not in event["requestContext"]


def test_routes_behind_the_default_authorizer_know_it(routes):
    assert routes.resolve("GET", "/invoices/summary").route.authorizer == "JwtAuthorizer"
    assert routes.resolve("GET", "/openapi.json").route.authorizer is None
    assert routes.resolve("GET", "/swagger").route.authorizer is None


def test_route_scopes_are_enforced_when_the_template_declares_them():
    route = Route("GET", "/admin", "F", "Admin", "JwtAuthorizer", scopes=("invoices:admin",))

    admin = authorize(route, {"authorization": make_token("acc_x", admin=True)})

    assert admin["jwt"]["scopes"] == ["invoices:admin"]
    with pytest.raises(UnauthorizedError, match="none of the route's scopes"):
        authorize(route, {"authorization": make_token("acc_x")})


# --------------------------------------------------------------- what the JWT authorizer checks
T = 1_795_000_000  # "now" for the claim checks
ISSUER = "https://cognito-idp.ap-south-1.amazonaws.com/ap-south-1_Example"
CONFIGURED = JwtConfiguration(issuer=ISSUER, audiences=("portal", "scripts"))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": T}, "the token expired at 2026-11-18T11:06:40Z"),
        ({"exp": T - 3600}, "expired"),
        ({"exp": "tomorrow"}, "exp claim is not a timestamp"),
        ({"exp": T + 60, "nbf": T + 1}, "not valid before 2026-11-18T11:06:41Z"),
        ({"exp": T + 60, "iat": T + 30}, "issued in the future"),
    ],
)
def test_a_token_out_of_its_time_is_refused(claims, reason):
    with pytest.raises(UnauthorizedError, match=reason):
        check_claims(claims, JwtConfiguration(), now=T)


def test_a_token_within_its_time_passes_and_times_are_only_checked_when_present():
    check_claims({"exp": T + 1, "nbf": T, "iat": T}, JwtConfiguration(), now=T)
    check_claims({"sub": "x"}, JwtConfiguration(), now=T)  # no exp: not refused here


def test_issuer_and_audience_are_unchecked_unless_configured():
    check_claims({"iss": "https://elsewhere", "aud": "nobody", "exp": T + 60}, JwtConfiguration(), now=T)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://elsewhere", "aud": "portal"}, "valid issuer"),
        ({"aud": "portal"}, "valid issuer"),
        ({"iss": ISSUER, "aud": "nobody"}, "valid audience"),
        ({"iss": ISSUER, "aud": ["nobody", "else"]}, "valid audience"),
        ({"iss": ISSUER}, "valid audience"),
        ({"iss": ISSUER, "aud": "nobody", "client_id": "portal"}, "valid audience"),  # aud wins
    ],
)
def test_configured_issuer_and_audience_are_required(claims, reason):
    with pytest.raises(UnauthorizedError, match=reason):
        check_claims({**claims, "exp": T + 60}, CONFIGURED, now=T)


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": ISSUER, "aud": "scripts"},
        {"iss": ISSUER, "aud": ["other", "portal"]},
        {"iss": ISSUER, "client_id": "portal"},  # Cognito access tokens: no aud, a client_id
    ],
)
def test_a_token_for_the_configured_issuer_and_an_audience_passes(claims):
    check_claims({**claims, "exp": T + 60}, CONFIGURED, now=T)


def test_jwt_configuration_comes_from_the_environment():
    assert JwtConfiguration.from_env({}) == JwtConfiguration()
    assert JwtConfiguration.from_env({"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": "portal, scripts"}) == CONFIGURED


def test_an_expired_token_is_unauthorized_like_api_gateway_says_why_in_its_header(routes):
    route = routes.resolve("GET", "/invoices").route
    token = make_token("acc_x", now=T - 13 * 3600)  # 12 h tokens

    with pytest.raises(UnauthorizedError) as denied:
        authorize(route, {"authorization": f"Bearer {token}"}, now=T)

    assert denied.value.www_authenticate == (
        'Bearer scope="" error="invalid_token" error_description="the token expired at 2026-11-18T10:06:40Z"'
    )


def test_tokens_made_locally_pass_the_configured_issuer_and_audience(routes, monkeypatch):
    monkeypatch.setenv("JWT_ISSUER", ISSUER)
    monkeypatch.setenv("JWT_AUDIENCE", "portal,scripts")
    route = routes.resolve("GET", "/invoices").route

    authorizer = authorize(route, {"authorization": make_token("acc_x")}, jwt=CONFIGURED)

    assert authorizer["jwt"]["claims"]["iss"] == ISSUER
    assert authorizer["jwt"]["claims"]["aud"] == "portal"


# ------------------------------------------------------------------------------------ tokens
def test_local_tokens_carry_the_account_claim_scope_and_times(monkeypatch):
    monkeypatch.setenv("ACCOUNT_ID_CLAIM", "custom:account")

    claims = decode_claims(make_token("acc_x", admin=True, now=1000))

    assert claims["custom:account"] == "acc_x"
    assert claims["scope"] == "invoices:admin"
    assert (claims["iat"], claims["exp"]) == (1000, 1000 + 12 * 3600)
    assert claims["sub"]
    assert decode_claims(make_token("acc_y", signed=False))["scope"] == "invoices:read"


def test_claim_values_are_stringified_like_api_gateway():
    assert [claim_string(v) for v in ("s", 5, True, ["x", 1], {"k": 1})] == [
        "s",
        "5",
        "true",
        "[x 1]",
        '{"k":1}',
    ]


# ------------------------------------------------------------------------------------ responses
def test_v2_response_with_status_headers_cookies_and_base64_body():
    response = to_http(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/pdf"},
            "cookies": ["a=1", "b=2"],
            "body": base64.b64encode(b"%PDF").decode(),
            "isBase64Encoded": True,
        }
    )

    assert response.status == 201
    assert response.headers == [
        ("Content-Type", "application/pdf"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    assert response.body == b"%PDF"


def test_response_without_status_code_is_json_for_a_200_like_format_inference():
    response = to_http({"items": []})

    assert (response.status, response.body) == (200, b'{"items": []}')
    assert ("Content-Type", "application/json") in response.headers


def test_malformed_response_body_is_refused():
    with pytest.raises(ValueError, match="body must be a string"):
        to_http({"statusCode": 200, "body": {"not": "a string"}})
