"""Who may call what: 401 without claims, 403 for customers on operator routes or other accounts,
404 for another account's invoice on every invoice route, drafts invisible to customers."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import create_body

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


@pytest.fixture
def issued(api):
    return api.issued("acc_a")


@pytest.mark.parametrize(("method", "path", "body"), CUSTOMER_ROUTES + OPERATOR_ROUTES)
def test_a_request_without_claims_is_unauthorized_on_every_route(api, issued, repository, method, path, body):
    reply = api.call(method, path.format(id=issued["id"]), body=body)

    assert reply.status == 401
    assert reply.error["code"] == "unauthorized"
    assert repository.get(issued["id"]).version == issued_version(repository, issued)


def issued_version(repository, issued):
    return repository.get(issued["id"]).version


@pytest.mark.parametrize(("method", "path", "body"), [r for r in CUSTOMER_ROUTES + OPERATOR_ROUTES if r[2]])
def test_identity_is_checked_before_the_body_is_validated(api, issued, method, path, body):
    # Given a body that would fail validation
    broken = {"unexpected": True}

    # Then a caller without claims still learns only that it is unauthorized
    assert api.call(method, path.format(id=issued["id"]), body=broken).status == 401


def test_a_customer_token_without_an_account_claim_is_unauthorized(api, issued):
    reply = api.call("GET", "/invoices", claims={"sub": "someone", "scope": "invoices:read"})

    assert reply.status == 401
    assert reply.error["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), OPERATOR_ROUTES)
def test_a_customer_on_an_operator_route_is_forbidden_and_nothing_changes(
    api, issued, repository, razorpay, method, path, body
):
    before = repository.get(issued["id"])
    calls_before = len(razorpay.calls)

    reply = api.customer("acc_a", method, path.format(id=issued["id"]), body=body)

    assert reply.status == 403
    assert reply.error["code"] == "forbidden"
    assert "invoices:admin" in reply.error["message"]
    assert repository.get(issued["id"]) == before
    assert len(razorpay.calls) == calls_before


def test_a_customer_on_an_operator_route_with_a_broken_body_is_still_forbidden(api):
    reply = api.customer("acc_a", "POST", "/invoices", body={"account_id": "acc_a", "bogus": 1})

    assert reply.status == 403


@pytest.mark.parametrize(("method", "path", "body"), INVOICE_CUSTOMER_ROUTES)
def test_another_accounts_invoice_is_not_found_on_every_invoice_route(
    api, issued, repository, method, path, body
):
    before = repository.get(issued["id"])

    reply = api.customer("acc_b", method, path.format(id=issued["id"]), body=body)

    assert reply.status == 404
    assert reply.error["code"] == "not_found"
    assert repository.get(issued["id"]) == before  # no dispute was opened on it


@pytest.mark.parametrize(("method", "path", "body"), INVOICE_CUSTOMER_ROUTES)
def test_an_unknown_invoice_is_not_found_like_another_accounts(api, method, path, body):
    reply = api.customer("acc_a", method, path.format(id="inv_doesnotexist00"), body=body)

    assert reply.status == 404
    assert reply.error["code"] == "not_found"


@pytest.mark.parametrize("path", ["/invoices", "/invoices/summary", "/invoices/export.csv"])
def test_a_customer_naming_another_account_is_forbidden(api, issued, path):
    reply = api.customer("acc_b", "GET", path, query={"account_id": "acc_a"})

    assert reply.status == 403
    assert reply.error["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/invoices", "/invoices/summary", "/invoices/export.csv"])
def test_a_customer_naming_its_own_account_is_fine(api, issued, path):
    assert api.customer("acc_a", "GET", path, query={"account_id": "acc_a"}).status == 200


@pytest.mark.parametrize("path", ["/invoices", "/invoices/summary", "/invoices/export.csv"])
def test_operators_must_name_the_account_on_list_routes(api, path):
    reply = api.operator("GET", path)

    assert reply.status == 422
    assert reply.error["code"] == "validation_error"
    assert reply.error["details"] == [{"loc": ["query", "account_id"], "msg": "Field required"}]


@pytest.mark.parametrize(("method", "path", "body"), INVOICE_CUSTOMER_ROUTES)
def test_drafts_are_invisible_to_their_own_customer(api, method, path, body):
    draft = api.create("acc_a")

    reply = api.customer("acc_a", method, path.format(id=draft["id"]), body=body)

    assert reply.status == 404


def test_drafts_are_left_out_of_a_customers_list_and_export(api):
    draft = api.create("acc_a")
    issued = api.issued("acc_a")

    listed = api.customer("acc_a", "GET", "/invoices").json()
    drafts_only = api.customer("acc_a", "GET", "/invoices", query={"status": "draft"}).json()
    csv = api.customer("acc_a", "GET", "/invoices/export.csv").text

    assert [row["id"] for row in listed["items"]] == [issued["id"]]
    assert drafts_only["items"] == []
    assert issued["invoice_number"] in csv
    assert len(csv.strip().splitlines()) == 2  # header + the issued one
    # while the operator sees both
    operator_view = api.operator("GET", "/invoices", query={"account_id": "acc_a"}).json()
    assert {row["id"] for row in operator_view["items"]} == {draft["id"], issued["id"]}


def test_operators_may_read_any_accounts_invoice_including_drafts(api):
    draft = api.create("acc_a")

    reply = api.operator("GET", f"/invoices/{draft['id']}")

    assert reply.status == 200
    assert reply.json()["status"] == "draft"


def test_documentation_routes_need_no_claims(api):
    assert api.call("GET", "/openapi.json").status == 200
    swagger = api.call("GET", "/swagger")
    assert swagger.status == 200
    assert swagger.headers["Content-Type"].startswith("text/html")


def test_an_unknown_route_is_not_found_in_the_contracts_shape(api):
    reply = api.operator("GET", "/nothing/here")

    assert reply.status == 404
    assert reply.error["code"] == "not_found"
