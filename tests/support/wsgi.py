"""The invoice API as a WSGI app: requests go through the local stack's API Gateway emulation
(``infra.local.gateway``: routes from template.yaml, JWT claims decoded from the bearer token,
binary bodies base64-encoded) into ``lambda_handler``. Schemathesis drives it in-process."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from infra.cfn import load_template
from infra.local import gateway
from infra.local.gateway import RouteTable
from tests.support.functions import Functions

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def api_app(functions: Functions) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """Every ``HttpApi`` route of template.yaml, served by ``functions`` (tests/support/functions.py)."""
    routes = RouteTable.from_template(load_template())

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = [
            (name[5:].replace("_", "-").lower(), value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("content-type", environ["CONTENT_TYPE"]))
        match = routes.resolve(method, path)
        if match is None:
            response = gateway.HttpResponse.json(*gateway.NOT_FOUND)
        else:
            try:
                authorizer: dict[str, Any] | None = gateway.authorize(match.route, dict(headers))
            except gateway.UnauthorizedError:
                authorizer = None
            if authorizer is None:
                response = gateway.HttpResponse.json(*gateway.UNAUTHORIZED)
            else:
                request_id = uuid.uuid4().hex[:16]
                event = gateway.build_event(
                    match,
                    method=method,
                    raw_path=path,
                    raw_query=environ.get("QUERY_STRING", ""),
                    headers=headers,
                    body=body,
                    source_ip="203.0.113.7",
                    authorizer=authorizer,
                    request_id=request_id,
                )
                response = gateway.to_http(functions.invoke(match.route.function_id, event))
        start_response(f"{response.status} X", [(k, v) for k, v in response.headers])
        return [response.body]

    return app
