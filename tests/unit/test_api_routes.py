"""The invoice API includes its routers on demand (``functions/invoice_api/routes``): the table that
says which router serves which route key must be complete and exact, and including routers in any
order must never change which route answers a request."""

from __future__ import annotations

import importlib
import itertools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from infra.cfn import load_template

API = Path(__file__).resolve().parents[2] / "functions" / "invoice_api"


@pytest.fixture(scope="module")
def routes_package() -> Any:
    sys.path.insert(0, str(API))
    try:
        yield importlib.import_module("routes")
    finally:
        sys.path.remove(str(API))


def declared(routes_package: Any) -> dict[str, str]:
    """Every route each router declares, as the table writes its key → the router's name."""
    found = {}
    for name in routes_package.ORDER:
        router = importlib.import_module(f"routes.{name}").router
        for path, method, *_ in router._routes:
            methods = [method] if isinstance(method, str) else list(method)
            for each in methods:
                openapi_path = re.sub(r"<(\w+)>", r"{\1}", path)
                found[routes_package.route_key(f"{each.upper()} {openapi_path}")] = name
    return found


def test_the_table_names_the_router_of_every_route_and_nothing_else(routes_package: Any) -> None:
    assert declared(routes_package) == routes_package.ROUTES


def test_every_template_route_of_the_api_is_in_the_table_or_loads_everything(routes_package: Any) -> None:
    events = load_template()["Resources"]["InvoiceApiFunction"]["Properties"]["Events"].values()
    keys = {f"{e['Properties']['Method'].upper()} {e['Properties']['Path']}" for e in events}
    unlisted = {key for key in keys if routes_package.route_key(key) not in routes_package.ROUTES}
    assert unlisted == {"GET /openapi.json", "GET /swagger"}  # they document every route


def test_the_route_that_answers_does_not_depend_on_the_order_routers_were_included_in(
    routes_package: Any,
) -> None:
    """Routers included one by one in reverse (as requests may need them) answer every request with
    the route that including them all in ``ORDER`` answers with. Paths tried: each route's own path
    with every parameter set to any literal segment of any route, or to ``x``."""
    eager = APIGatewayHttpResolver(enable_validation=True)
    routes_package.Routers(eager).include_all()
    lazy = APIGatewayHttpResolver(enable_validation=True)
    routers = routes_package.Routers(lazy)
    for name in reversed(routes_package.ORDER):
        routers.serve(next(key for key, owner in routes_package.ROUTES.items() if owner == name))

    def answering(app: APIGatewayHttpResolver, method: str, path: str) -> str | None:
        for route in app._static_routes + app._dynamic_routes:
            if route.method == method and route.rule.match(path):
                return f"{route.func.__module__}.{route.func.__name__}"
        return None

    routes = eager._static_routes + eager._dynamic_routes
    parts = {part for route in routes for part in route.openapi_path.split("/")}
    segments = {part for part in parts if part and "{" not in part}
    tried = 0
    for route in routes:
        names = re.findall(r"\{\w+\}", route.openapi_path)
        for values in itertools.product(sorted(segments | {"x"}), repeat=len(names)):
            path = route.openapi_path
            for name, value in zip(names, values, strict=True):
                path = path.replace(name, value, 1)
            assert answering(lazy, route.method, path) == answering(eager, route.method, path), path
            tried += 1
    assert tried > 500


def test_a_cold_start_imports_only_the_router_its_request_needs(routes_package: Any) -> None:
    """``import handler`` loads no router; routing ``GET /invoices/{id}`` loads ``routes.invoices``
    alone, and the OpenAPI document loads them all."""
    probe = (
        "import sys, handler\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('routes.') and '._' not in m)\n"
        "print(loaded())\n"
        "handler.routers.serve('GET /invoices/{id}')\n"
        "print(loaded())\n"
        "handler.routers.serve('GET /openapi.json')\n"
        "print(len(loaded()))\n"
    )
    shared = str(API.parents[1] / "shared")
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=API,
        env={"PYTHONPATH": f"{API}:{shared}", "AWS_DEFAULT_REGION": "ap-south-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, everything = done.stdout.splitlines()
    assert (before, after, everything) == ("[]", "['routes.invoices']", str(len(routes_package.ORDER)))
