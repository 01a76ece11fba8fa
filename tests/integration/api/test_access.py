"""Who may call what: 401 without claims, 403 for customers on operator routes or other accounts,
404 for another account's invoice on every invoice route, drafts invisible to customers.

The invoice these routes are called on is written straight into the table (``repository``): what is
tested is the answer at the HTTP edge, not how the invoice came to be.
"""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.domain.invoice import Invoice
from tests.integration.api.conftest import Api, Seed, create_body
from tests.support.razorpay import RecordingStandIn
from tests.support.stack import Invoices
from tests.unit.factories import draft, issued

DISPUTE = {"reason": "The VM was stopped for half of September."}
# (method, path template, body) of every customer route and every operator route.
CUSTOMER_ROUTES = [
    ("GET", "/invoices", None),
    ("GET", "/invoices/summary", None),
    ("GET", "/invoices/export.csv", None),
    ("GET", "/invoices/{id}", None),
    ("POST", "/invoices/{id}/pay", None),
    ("POST", "/invoices/{id}/disputes", DISPUTE),
]
OPERATOR_ROUTES = [
    ("POST", "/invoices", create_body()),
    ("PATCH", "/invoices/{id}", {"notes": "Thanks"}),
    ("POST", "/invoices/{id}/issue", None),
    ("POST", "/invoices/{id}/cancel", None),
    ("DELETE", "/invoices/{id}", None),
]
INVOICE_CUSTOMER_ROUTES = [route for route in CUSTOMER_ROUTES if "{id}" in route[1]]
LIST_ROUTES = ["/invoices", "/invoices/summary", "/invoices/export.csv"]
Body = dict[str, Any] | None


@pytest.fixture
def invoice(repository: Invoices) -> Invoice:
    """An issued invoice of acc_a, as stored (no Razorpay invoice behind it: nothing may reach it)."""
    return repository.put(issued(account_id="acc_a"))


@pytest.mark.parametrize(("method", "path", "body"), CUSTOMER_ROUTES + OPERATOR_ROUTES)
def test_a_request_without_claims_is_unauthorized_on_every_route(
    api: Api, invoice: Invoice, repository: Invoices, method: str, path: str, body: Body
) -> None:
    reply = api.call(method, path.format(id=invoice.id), body=body)

    assert reply.status == 401
    assert reply.error["code"] == "unauthorized"
    assert repository.get(invoice.id) == invoice


@pytest.mark.parametrize(("method", "path", "body"), [r for r in CUSTOMER_ROUTES + OPERATOR_ROUTES if r[2]])
def test_identity_is_checked_before_the_body_is_validated(
    api: Api, invoice: Invoice, method: str, path: str, body: Body
) -> None:
    # Given a body that would fail validation
    broken = {"unexpected": True}

    # Then a caller without claims still learns only that it is unauthorized
    assert api.call(method, path.format(id=invoice.id), body=broken).status == 401


def test_a_customer_token_without_an_account_claim_is_unauthorized(api: Api) -> None:
    reply = api.call("GET", "/invoices", claims={"sub": "someone", "scope": "invoices:read"})

    assert reply.status == 401
    assert reply.error["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), OPERATOR_ROUTES)
def test_a_customer_on_an_operator_route_is_forbidden_and_nothing_changes(
    api: Api,
    invoice: Invoice,
    repository: Invoices,
    razorpay: RecordingStandIn,
    method: str,
    path: str,
    body: Body,
) -> None:
    reply = api.customer("acc_a", method, path.format(id=invoice.id), body=body)

    assert reply.status == 403
    assert reply.error["code"] == "forbidden"
    assert "invoices:admin" in reply.error["message"]
    assert repository.get(invoice.id) == invoice
    assert razorpay.calls.count() == 0


def test_a_customer_on_an_operator_route_with_a_broken_body_is_still_forbidden(api: Api) -> None:
    reply = api.customer("acc_a", "POST", "/invoices", body={"account_id": "acc_a", "bogus": 1})

    assert reply.status == 403


@pytest.mark.parametrize(("method", "path", "body"), INVOICE_CUSTOMER_ROUTES)
def test_another_accounts_invoice_is_not_found_on_every_invoice_route(
    api: Api, invoice: Invoice, repository: Invoices, method: str, path: str, body: Body
) -> None:
    reply = api.customer("acc_b", method, path.format(id=invoice.id), body=body)

    assert reply.status == 404
    assert reply.error["code"] == "not_found"
    assert repository.get(invoice.id) == invoice  # no dispute was opened on it


@pytest.mark.parametrize(("method", "path", "body"), INVOICE_CUSTOMER_ROUTES)
def test_an_unknown_invoice_is_not_found_like_another_accounts(
    api: Api, method: str, path: str, body: Body
) -> None:
    reply = api.customer("acc_a", method, path.format(id="inv_doesnotexist00"), body=body)

    assert reply.status == 404
    assert reply.error["code"] == "not_found"


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_a_customer_naming_another_account_is_forbidden(api: Api, invoice: Invoice, path: str) -> None:
    reply = api.customer("acc_b", "GET", path, query={"account_id": "acc_a"})

    assert reply.status == 403
    assert reply.error["code"] == "forbidden"


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_a_customer_naming_its_own_account_is_fine(api: Api, invoice: Invoice, path: str) -> None:
    assert api.customer("acc_a", "GET", path, query={"account_id": "acc_a"}).status == 200


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_operators_must_name_the_account_on_list_routes(api: Api, path: str) -> None:
    reply = api.operator("GET", path)

    assert reply.status == 422
    assert reply.error["code"] == "validation_error"
    assert reply.error["details"] == [{"loc": ["query", "account_id"], "msg": "Field required"}]


def test_a_draft_is_invisible_to_its_own_customer(api: Api, repository: Invoices) -> None:
    # (pay and disputes read the invoice as GET does: tests/services/test_invoices.py)
    created = repository.create(draft(account_id="acc_a"))

    reply = api.customer("acc_a", "GET", f"/invoices/{created.id}")

    assert reply.status == 404
    assert reply.error["code"] == "not_found"


def test_drafts_are_left_out_of_a_customers_list_and_export(
    api: Api, repository: Invoices, seed: Seed
) -> None:
    created = repository.create(draft(account_id="acc_a"))
    shown = seed("acc_a")

    listed = api.customer("acc_a", "GET", "/invoices").json()
    drafts_only = api.customer("acc_a", "GET", "/invoices", query={"status": "draft"}).json()
    csv = api.customer("acc_a", "GET", "/invoices/export.csv").text

    assert [row["id"] for row in listed["items"]] == [shown.id]
    assert drafts_only["items"] == []
    assert str(shown.invoice_number) in csv
    assert len(csv.strip().splitlines()) == 2  # header + the issued one
    # while the operator sees both
    operator_view = api.operator("GET", "/invoices", query={"account_id": "acc_a"}).json()
    assert {row["id"] for row in operator_view["items"]} == {created.id, shown.id}


def test_operators_may_read_any_accounts_invoice_including_drafts(api: Api, repository: Invoices) -> None:
    created = repository.create(draft(account_id="acc_a"))

    reply = api.operator("GET", f"/invoices/{created.id}")

    assert reply.status == 200
    assert reply.json()["status"] == "draft"


def test_documentation_routes_need_no_claims(api: Api) -> None:
    assert api.call("GET", "/openapi.json").status == 200
    swagger = api.call("GET", "/swagger")
    assert swagger.status == 200
    assert swagger.headers["Content-Type"].startswith("text/html")


def test_an_unknown_route_is_not_found_in_the_contracts_shape(api: Api) -> None:
    reply = api.operator("GET", "/nothing/here")

    assert reply.status == 404
    assert reply.error["code"] == "not_found"
