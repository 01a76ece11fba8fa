"""API Gateway (HTTP API, payload format 2.0) in front of the in-process handlers.

Routes come from the ``HttpApi`` events of every function in ``template.yaml``. A request is matched
like API Gateway does (the most specific route wins: a literal segment beats a ``{param}``, which
beats a greedy ``{proxy+}``; an exact method beats ``ANY``), turned into the v2 event the function
would receive, and the function's v2 response is turned back into HTTP.

The JWT authorizer is emulated **without signature verification** (locally there is no issuer whose
keys could be fetched; any well-formed ``header.payload.signature`` token is decoded, unsigned ones
too). Its claims are checked as API Gateway checks them (:func:`check_claims`): ``exp`` must be in
the future, ``nbf`` and ``iat`` not, and — when configured, as the template's ``JwtIssuer`` and
``JwtAudience`` parameters configure them in AWS — ``iss`` must be the issuer and ``aud`` (or
``client_id`` when there is no ``aud``) one of the audiences. Locally ``JWT_ISSUER`` and
``JWT_AUDIENCE`` configure them; unset, they are not checked. The payload then becomes
``requestContext.authorizer.jwt.claims`` (values as strings, as API Gateway passes them). A token
that fails answers ``401 {"message": "Unauthorized"}`` with API Gateway's ``www-authenticate`` header
saying why.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from infra.local.functions import FUNCTION, LOCAL_ACCOUNT_ID
from infra.local.tokens import decode_claims

LOCAL_API_ID = "local"
UNAUTHORIZED = (401, {"message": "Unauthorized"})
NOT_FOUND = (404, {"message": "Not Found"})
INTERNAL_ERROR = (500, {"message": "Internal Server Error"})

_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|.*\+json|x-www-form-urlencoded|xml|.*\+xml|javascript|x-ndjson|graphql))$"
)


@dataclass(frozen=True)
class Route:
    """One ``HttpApi`` event: ``METHOD /path`` served by a function, with or without the JWT authorizer."""

    method: str
    path: str
    function_id: str
    event_name: str
    authorizer: str | None  # None: open (Authorizer NONE)
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/")) if self.path.strip("/") else ()

    def match(self, path: str) -> dict[str, str] | None:
        """Path parameters if ``path`` matches this route's path (the method is checked separately)."""
        parts = path.strip("/").split("/") if path.strip("/") else []
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = parts[index:]
                if not rest:
                    return None
                params[segment[1:-2]] = "/".join(rest)
                return params
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not parts[index]:
                    return None
                params[segment[1:-1]] = parts[index]
            elif segment != parts[index]:
                return None
        return params if len(parts) == len(self.segments) else None

    def specificity(self) -> tuple[tuple[int, ...], int]:
        """Higher is more specific: literal (2) > parameter (1) > greedy (0), segment by segment."""
        ranks = tuple(0 if s.endswith("+}") else 1 if s.startswith("{") else 2 for s in self.segments)
        return ranks, 0 if self.method == "ANY" else 1


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: r.specificity(), reverse=True)

    @classmethod
    def from_template(cls, template: Mapping[str, Any]) -> RouteTable:
        resources = template.get("Resources", {})
        routes = []
        for function_id, resource in resources.items():
            if resource.get("Type") != FUNCTION:
                continue
            for event_name, event in resource.get("Properties", {}).get("Events", {}).items():
                if event.get("Type") != "HttpApi":
                    continue
                props = event.get("Properties", {})
                auth = props.get("Auth", {})
                authorizer = auth.get("Authorizer") or _default_authorizer(resources, props.get("ApiId"))
                routes.append(
                    Route(
                        method=str(props.get("Method", "ANY")).upper(),
                        path=str(props.get("Path", "/")),
                        function_id=function_id,
                        event_name=event_name,
                        authorizer=None if authorizer in (None, "NONE") else str(authorizer),
                        scopes=tuple(auth.get("AuthorizationScopes", ())),
                    )
                )
        return cls(routes)

    def resolve(self, method: str, path: str) -> Match | None:
        """The most specific route for ``method path``; ``None`` (404) if none, whatever the method."""
        for route in self.routes:  # most specific first
            if route.method not in (method.upper(), "ANY"):
                continue
            params = route.match(path)
            if params is not None:
                return Match(route, params)
        return None


def _default_authorizer(resources: Mapping[str, Any], api_id: Any) -> str | None:
    """The HttpApi's ``Auth.DefaultAuthorizer`` (a route without ``ApiId`` uses SAM's implicit, open API)."""
    name = api_id.get("Ref") if isinstance(api_id, dict) else api_id
    if not name or name not in resources:
        return None
    return resources[name].get("Properties", {}).get("Auth", {}).get("DefaultAuthorizer")


# ------------------------------------------------------------------------------------------------
# Request → v2 event
# ------------------------------------------------------------------------------------------------
def claim_string(value: Any) -> str:
    """API Gateway passes every JWT claim as a string; arrays become ``[a b]``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _joined_headers(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body with this ``Content-Type`` as text (else base64)."""
    if not content_type:
        return False
    return bool(_TEXT_TYPES.match(content_type.split(";", 1)[0].strip().lower()))


@dataclass(frozen=True)
class JwtConfiguration:
    """The authorizer's ``JwtConfiguration``: the issuer and audiences tokens must name (unset: unchecked)."""

    issuer: str | None = None
    audiences: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> JwtConfiguration:
        """``JWT_ISSUER`` and ``JWT_AUDIENCE`` (comma-separated for several), as the template's parameters."""
        issuer = environ.get("JWT_ISSUER", "").strip() or None
        audiences = tuple(a.strip() for a in environ.get("JWT_AUDIENCE", "").split(",") if a.strip())
        return cls(issuer=issuer, audiences=audiences)


class UnauthorizedError(Exception):
    """The request does not pass the JWT authorizer; ``reason`` says why (never the token itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def www_authenticate(self) -> str:
        """API Gateway's header on a 401 from its JWT authorizer."""
        return f'Bearer scope="" error="invalid_token" error_description="{self.reason}"'


def _timestamp(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnauthorizedError(f"the token's {name} claim is not a timestamp")
    return float(value)


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_claims(claims: Mapping[str, Any], jwt: JwtConfiguration, now: float) -> None:
    """Raise ``UnauthorizedError`` unless the claims pass what API Gateway's JWT authorizer checks.

    The times are checked when present (a token without ``exp`` is not refused here).
    """
    expires = _timestamp(claims, "exp")
    if expires is not None and expires <= now:
        raise UnauthorizedError(f"the token expired at {_utc(expires)}")
    not_before = _timestamp(claims, "nbf")
    if not_before is not None and not_before > now:
        raise UnauthorizedError(f"the token is not valid before {_utc(not_before)}")
    issued = _timestamp(claims, "iat")
    if issued is not None and issued > now:
        raise UnauthorizedError(f"the token is issued in the future, at {_utc(issued)}")
    if jwt.issuer is not None and claims.get("iss") != jwt.issuer:
        raise UnauthorizedError(f"the token does not have a valid issuer (iss {claims.get('iss')!r})")
    if jwt.audiences:
        named = claims.get("aud", claims.get("client_id"))  # client_id counts only without aud
        values = named if isinstance(named, list) else [named]
        if not set(jwt.audiences) & {v for v in values if isinstance(v, str)}:
            raise UnauthorizedError(f"the token does not have a valid audience (aud {named!r})")


def authorize(
    route: Route,
    headers: Mapping[str, str],
    *,
    jwt: JwtConfiguration | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The ``authorizer`` block for a route behind the JWT authorizer; ``{}`` for an open route.

    Raises ``UnauthorizedError`` when the token is missing, not a JWT, or fails :func:`check_claims`
    or the route's scopes. The signature is never verified locally.
    """
    if route.authorizer is None:
        return {}
    header = headers.get("authorization", "")
    if not header.strip():
        raise UnauthorizedError("no token in the Authorization header")
    claims = decode_claims(header)
    if claims is None:
        raise UnauthorizedError("the token is not a well-formed JWT")
    check_claims(claims, jwt or JwtConfiguration(), time.time() if now is None else now)
    token_scopes = set(str(claims.get("scope", claims.get("scp", ""))).replace(",", " ").split())
    if route.scopes and not token_scopes & set(route.scopes):
        raise UnauthorizedError(f"the token has none of the route's scopes ({' '.join(route.scopes)})")
    scopes = sorted(token_scopes & set(route.scopes)) if route.scopes else None
    return {"jwt": {"claims": {k: claim_string(v) for k, v in claims.items()}, "scopes": scopes}}


def build_event(
    match: Match,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The HTTP API payload-format-2.0 event for one request."""
    now = now or datetime.now(UTC)
    request_id = request_id or uuid.uuid4().hex[:16]
    joined = _joined_headers(headers)
    cookie_header = joined.pop("cookie", None)
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    domain = joined.get("host", "127.0.0.1")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
    }
    if cookie_header:
        event["cookies"] = [c.strip() for c in cookie_header.split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": match.route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if authorizer:
        context["authorizer"] = dict(authorizer)
    event["requestContext"] = context
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if body:
        text = _as_text(body) if is_text(joined.get("content-type")) else None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
            event["isBase64Encoded"] = False
    else:
        event["isBase64Encoded"] = False
    return event


def _as_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


# ------------------------------------------------------------------------------------------------
# v2 response → HTTP
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def json(cls, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
        body = json.dumps(payload).encode()
        return cls(status, [("Content-Type", "application/json"), *headers], body)


def to_http(result: Any) -> HttpResponse:
    """Translate what a handler returned, as API Gateway does for payload format 2.0.

    A dict with ``statusCode`` is a full response; anything else is JSON for a 200 (format inference).
    Raises ``ValueError`` on a malformed response (API Gateway answers 500).
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], body.encode())
    status = int(result["statusCode"])
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(str(name), str(v)) for v in values]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or ()]
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    elif isinstance(raw, str):
        body = raw.encode()
    else:
        raise ValueError(f"body must be a string, got {type(raw).__name__}")
    return HttpResponse(status, headers, body)
