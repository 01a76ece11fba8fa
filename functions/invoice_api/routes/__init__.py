"""The invoice API's routes, one Powertools ``Router`` per resource, included when first needed.

A cold start imports only the router that serves its first request (and the contracts and
services behind it), not all of them: :data:`ROUTES` names the module serving each API Gateway
route key (the template's ``HttpApi`` routes; parameter names do not matter: ``{id}`` and
``{invoice_id}`` are the same key). A key it does not list (``/openapi.json``, ``/swagger``, an
unknown path, a route added without an entry) includes every router, in :data:`ORDER`: correct,
only slower. ``tests/unit/test_api_routes.py`` keeps the table equal to what the routers declare.

Two routers' routes can match one path (``GET /invoices/downloads/disputes``: a download named
``disputes``, or the disputes of an invoice named ``downloads``); Powertools answers with the first
registered. So after each inclusion the resolver's dynamic routes are put back in :data:`ORDER`,
and the answer never depends on which request came first.
"""

from __future__ import annotations

import importlib
import re
import threading
from typing import Any

ORDER = (
    "documents",
    "invoices",
    "operations",
    "credit_notes",
    "disputes",
    "einvoices",
    "statements",
    "accounts",
    "prices",
    "usage",
    "billing_runs",
    "wallet",
)

ROUTES = {
    "GET /accounts/{}/billing-profile": "accounts",
    "PUT /accounts/{}/billing-profile": "accounts",
    "POST /billing-runs": "billing_runs",
    "GET /billing-runs/{}": "billing_runs",
    "GET /credit-notes": "credit_notes",
    "GET /credit-notes/{}": "credit_notes",
    "GET /credit-notes/{}/pdf": "credit_notes",
    "POST /credit-notes/{}/e-invoice/retry": "einvoices",
    "GET /e-invoices": "einvoices",
    "GET /invoices": "invoices",
    "POST /invoices": "operations",
    "POST /invoices/downloads": "documents",
    "GET /invoices/downloads/{}": "documents",
    "GET /invoices/export.csv": "invoices",
    "GET /invoices/summary": "invoices",
    "DELETE /invoices/{}": "operations",
    "GET /invoices/{}": "invoices",
    "PATCH /invoices/{}": "operations",
    "POST /invoices/{}/cancel": "operations",
    "POST /invoices/{}/credit-notes": "credit_notes",
    "GET /invoices/{}/disputes": "disputes",
    "POST /invoices/{}/disputes": "invoices",
    "POST /invoices/{}/disputes/{}/resolve": "disputes",
    "POST /invoices/{}/e-invoice/retry": "einvoices",
    "POST /invoices/{}/issue": "operations",
    "POST /invoices/{}/pay": "invoices",
    "GET /invoices/{}/pdf": "documents",
    "GET /prices": "prices",
    "PUT /prices/{}": "prices",
    "POST /statements": "statements",
    "GET /statements/{}": "statements",
    "POST /usage": "usage",
    "GET /usage/summary": "usage",
    "POST /wallet/top-ups": "wallet",
    "GET /wallet/top-ups": "wallet",
    "GET /wallet/top-ups/{}": "wallet",
    "GET /wallet/balance": "wallet",
    "GET /receipts/{}/pdf": "wallet",
}


def route_key(key: str) -> str:
    """``GET /invoices/{id}`` → ``GET /invoices/{}``: the table's form of a route key."""
    return re.sub(r"\{[^}]*\}", "{}", key)


class Routers:
    """Includes the routers into the resolver, each once, when a request needs it."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._included: set[str] = set()
        self._lock = threading.Lock()

    def serve(self, key: str | None) -> None:
        """Make sure the router of route ``key`` is included (every router for an unknown key)."""
        name = ROUTES.get(route_key(key or ""))
        if name is None:
            self.include_all()
        elif name not in self._included:
            self._include(name)

    def include_all(self) -> None:
        for name in ORDER:
            if name not in self._included:
                self._include(name)

    def _include(self, name: str) -> None:
        with self._lock:
            if name in self._included:
                return
            self._app.include_router(importlib.import_module(f"{__name__}.{name}").router)
            self._included.add(name)
            # Powertools keeps no public view of its routes (``invoicing.http`` reads them too).
            self._app._dynamic_routes.sort(key=lambda route: _RANK.get(route.func.__module__, -1))


_RANK = {f"{__name__}.{name}": rank for rank, name in enumerate(ORDER)}
