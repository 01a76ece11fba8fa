"""The invoice API under moto: ``lambda_handler`` called with real HTTP API v2 events.

Resources come from template.yaml (``resources``); Razorpay is the local stand-in behind the real SDK
adapter (``razorpay``); what a commit sets off (domain events, render jobs) is performed by the outbox
dispatcher when ``effects`` reads it. ``seed`` writes an issued invoice straight into the table, for
tests of what is read or refused rather than of the issue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from invoicing.domain.invoice import Invoice
from tests.conftest import NOW
from tests.events.http import OPERATOR, customer, http_event
from tests.support.api import Reply, create_body
from tests.support.functions import API, Functions
from tests.support.stack import Invoices
from tests.unit.factories import draft

__all__ = ["NOW", "Seed", "create_body"]

Seed = Callable[..., Invoice]


class Api:
    """Calls ``lambda_handler`` the way API Gateway would."""

    def __init__(self, functions: Functions) -> None:
        self.functions = functions
        self.last_event: dict[str, Any] | None = None

    @property
    def handler(self) -> Any:
        return self.functions.module(API)

    def call(
        self,
        method: str,
        path: str,
        *,
        claims: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        event = http_event(method, path, claims=claims, body=body, headers=headers, query=query)
        self.last_event = event
        result = self.functions.invoke(API, event)
        assert set(result) >= {"statusCode", "body", "headers"}, result
        return Reply.of(result)

    # the operator's and customers' shorthands
    def operator(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=OPERATOR, **kwargs)

    def customer(self, account_id: str, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=customer(account_id), **kwargs)

    # building state through the API itself
    def create(self, account_id: str = "acc_1", **overrides: Any) -> dict[str, Any]:
        reply = self.operator("POST", "/invoices", body=create_body(account_id, **overrides))
        assert reply.status == 201, reply.text
        created: dict[str, Any] = reply.json()
        return created

    def issued(self, account_id: str = "acc_1", **overrides: Any) -> dict[str, Any]:
        created = self.create(account_id, **overrides)
        reply = self.operator("POST", f"/invoices/{created['id']}/issue")
        assert reply.status == 200, reply.text
        issued: dict[str, Any] = reply.json()
        return issued


@pytest.fixture
def api(functions: Functions, razorpay: Any) -> Api:
    return Api(functions)


@pytest.fixture
def seed(repository: Invoices) -> Seed:
    """``seed("acc_1", at=NOW, **draft_overrides)``: an issued invoice (numbered in its series, with a
    Razorpay id and the pointer from it, in the summary) committed straight, without the API, Razorpay
    or side effects."""

    def make(account_id: str = "acc_1", *, at: datetime = NOW, **overrides: Any) -> Invoice:
        return repository.issue(draft(account_id=account_id, **overrides), now=at)

    return make


def at_razorpay(standin: Any) -> dict[str, dict[str, Any]]:
    """Every invoice the Razorpay stand-in holds, by id (a deleted draft is gone)."""
    return {invoice["id"]: invoice for invoice in standin.list_invoices({"count": "100"})["items"]}
