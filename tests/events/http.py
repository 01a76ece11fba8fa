"""API Gateway HTTP API (payload format 2.0) events, as the JWT-authorized route sends them.

``http_event("GET", "/invoices/inv_1", claims={"account_id": "acc_1"})`` fills in what API Gateway
does: the route key from the matching ``HttpApi`` route of template.yaml (``GET /invoices/{id}``),
``pathParameters``, lower-cased header names, the raw and parsed query string, and
``requestContext.authorizer.jwt`` with the claims (all strings, ``scope`` space-separated) and
scopes. ``claims=None`` leaves the authorizer out, as for a route with ``Authorizer: NONE``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from infra.cfn import load_template

OPERATOR = {"sub": "operator-1", "scope": "invoices:admin"}


def customer(account_id: str) -> dict[str, str]:
    """Claims of a customer of ``account_id`` (a billing-portal user)."""
    return {"sub": f"user-of-{account_id}", "account_id": account_id, "scope": "invoices:read"}


@cache
def _routes() -> tuple[tuple[str, str], ...]:
    routes = []
    for resource in load_template()["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "HttpApi":
                routes.append((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return tuple(routes)


def route_of(method: str, path: str) -> tuple[str, dict[str, str] | None]:
    """The template's route key for a request, and its path parameters (static routes win)."""
    matches = []
    for route_method, template in _routes():
        if route_method != method.upper():
            continue
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        found = re.match(pattern, path)
        if found:
            matches.append((template.count("{"), template, found.groupdict() or None))
    if not matches:
        return "$default", None
    _, template, params = min(matches, key=lambda match: match[0])
    return f"{method.upper()} {template}", params


def http_event(
    method: str,
    path: str,
    *,
    claims: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """One HTTP API v2 event. ``body``: a dict/list (sent as JSON), ``str`` or ``bytes`` (sent as is;
    bytes that are not UTF-8, or ``base64_body=True``, arrive base64-encoded as API Gateway sends
    binary bodies)."""
    route_key, path_parameters = route_of(method, path)
    sent_headers = {
        "accept": "application/json",
        "host": "abc123.execute-api.ap-south-1.amazonaws.com",
        "user-agent": "pytest",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if claims is not None:
        sent_headers["authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
    raw: str | None = None
    if body is not None:
        sent = json.dumps(body).encode() if isinstance(body, dict | list) else _bytes(body)
        sent_headers["content-type"] = "application/json"
        sent_headers["content-length"] = str(len(sent))
        # API Gateway passes a body that is not UTF-8 text base64-encoded, whatever was asked
        base64_body = base64_body or not _is_utf8(sent)
        raw = base64.b64encode(sent).decode() if base64_body else sent.decode()
    sent_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.ap-south-1.amazonaws.com",
        "domainPrefix": "abc123",
        "http": {
            "method": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
            "userAgent": "pytest",
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": sent_headers,
        "requestContext": context,
        "isBase64Encoded": bool(base64_body and raw is not None),
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = path_parameters
    if raw is not None:
        event["body"] = raw
    return event


def _bytes(body: str | bytes) -> bytes:
    return body if isinstance(body, bytes) else body.encode()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
