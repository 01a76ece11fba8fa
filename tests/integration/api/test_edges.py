"""Edges of the HTTP contract through ``lambda_handler``: strict scalars, exact scope tokens, bodies
that cannot be read (answered after authorization)."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.domain.invoice import Payment
from tests.integration.api.conftest import NOW, Api, Seed, create_body
from tests.support.stack import Invoices


@pytest.mark.parametrize("days", [True, "15", 15.0])
def test_payment_terms_days_must_be_a_plain_integer(api: Api, days: Any) -> None:
    reply = api.operator("POST", "/invoices", body=create_body("acc_a", payment_terms_days=days))

    assert reply.status == 422
    assert ["body", "payment_terms_days"] in [detail["loc"] for detail in reply.error["details"]]


@pytest.mark.parametrize("value", ["0", "20261001", "1790000000"])
def test_a_number_is_not_a_date_in_the_query(api: Api, value: str) -> None:
    reply = api.customer("acc_a", "GET", "/invoices", query={"to": value})

    assert reply.status == 422
    assert reply.error["details"][0]["loc"] == ["query", "to"]


def test_an_unknown_status_filter_points_at_the_status_parameter(api: Api) -> None:
    reply = api.customer("acc_a", "GET", "/invoices/export.csv", query={"status": "paid,unpaid"})

    assert reply.status == 422
    assert reply.error["details"][0]["loc"] == ["query", "status"]


@pytest.mark.parametrize(
    "scope",
    [
        "invoices:read,invoices:admin",
        "[invoices:admin]",
        "invoices:admins",
        "INVOICES:ADMIN",
        "invoices:admin,",
    ],
)
def test_only_the_exact_operator_token_makes_an_operator(api: Api, scope: str) -> None:
    claims = {"sub": "someone", "account_id": "acc_a", "scope": scope}

    reply = api.call("POST", "/invoices", claims=claims, body=create_body("acc_a"))

    assert reply.status == 403
    assert reply.error["code"] == "forbidden"


def test_the_operator_token_among_others_makes_an_operator(api: Api) -> None:
    claims = {"sub": "staff", "scope": "openid invoices:read  invoices:admin"}

    assert api.call("POST", "/invoices", claims=claims, body=create_body("acc_a")).status == 201


@pytest.mark.parametrize("account", [" acc_a", "acc_a ", "", "\tacc_a"])
def test_an_account_claim_that_is_not_exactly_an_account_id_is_unauthorized(api: Api, account: str) -> None:
    claims = {"sub": "user", "account_id": account, "scope": "invoices:read"}

    reply = api.call("GET", "/invoices", claims=claims)

    assert reply.status == 401
    assert reply.error["code"] == "unauthorized"


UNREADABLE_BODIES = [
    pytest.param("[" * 100_000, id="nested-100000-deep"),
    pytest.param(b'{"account_id": "acc_\xff\xfe"}', id="not-utf-8"),
]


@pytest.mark.parametrize("body", UNREADABLE_BODIES)
def test_a_body_that_cannot_be_read_is_a_bad_request(api: Api, body: str | bytes) -> None:
    reply = api.operator("POST", "/invoices", body=body)

    assert reply.status == 400
    assert reply.error["code"] == "bad_request"


@pytest.mark.parametrize("body", UNREADABLE_BODIES)
def test_a_customer_sending_an_unreadable_body_to_an_operator_route_is_forbidden_first(
    api: Api, body: str | bytes
) -> None:
    reply = api.customer("acc_a", "POST", "/invoices", body=body)

    assert reply.status == 403
    assert reply.error["code"] == "forbidden"


@pytest.mark.parametrize("body", UNREADABLE_BODIES)
def test_an_unreadable_body_without_claims_is_unauthorized_first(api: Api, body: str | bytes) -> None:
    assert api.call("POST", "/invoices", body=body).status == 401


def test_an_overpaid_invoice_shows_its_refund_and_the_csv_its_amount_refunded(
    api: Api, repository: Invoices, seed: Seed
) -> None:
    invoice = seed("acc_a")
    overpaid = Payment(id="pay_Over00000001", amount=invoice.amount + 1000, method="upi", paid_at=NOW)
    repository.save(invoice, invoice.apply_payment(overpaid, NOW))

    body = api.customer("acc_a", "GET", f"/invoices/{invoice.id}").json()
    csv = api.customer("acc_a", "GET", "/invoices/export.csv").text

    assert (body["status"], body["amount_due"], body["amount_refunded"]) == ("paid", 0, 1000)
    assert (
        body["amount_paid"] - body["amount_refunded"] + body["amount_credited"] + body["amount_due"]
        == (body["amount"])
    )
    [refund] = body["refunds"]
    assert (refund["payment_id"], refund["amount"], refund["reason"], refund["status"]) == (
        "pay_Over00000001",
        1000,
        "overpayment",
        "pending",
    )
    assert csv.splitlines()[1].endswith(",0.00,10.00")  # amount_credited, amount_refunded
