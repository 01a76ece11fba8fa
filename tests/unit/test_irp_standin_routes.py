"""The local stack's IRP routes: the stand-in under /_irp and /_local/irp/...."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography import x509

from infra.local.gateway import RouteTable
from infra.local.server import Dispatcher
from invoicing.domain.einvoice_payload import build_payload, from_invoice
from tests.support.irp import CREDENTIALS, new_standin
from tests.unit.einvoice_factories import INTER_BUYER_GSTIN, issued


@pytest.fixture
def dispatcher():
    standin = new_standin()
    return Dispatcher(routes=RouteTable([]), functions={}, standin=None, irp=standin)  # type: ignore[arg-type]


def call(dispatcher, method, path, body=b"", headers=(), query=""):
    response = dispatcher.dispatch(method, path, query, list(headers), body)
    return response.status, response.body


def token(dispatcher) -> str:
    headers = [("client-id", CREDENTIALS.client_id), ("client-secret", CREDENTIALS.client_secret)]
    body = json.dumps({"UserName": CREDENTIALS.user_name, "Password": CREDENTIALS.password}).encode()
    status, answer = call(dispatcher, "POST", "/_irp/eivital/v1.04/auth", body, headers)
    assert status == 200
    return json.loads(answer)["Data"]["AuthToken"]


def register(dispatcher) -> tuple[int, dict]:
    headers = [
        ("client-id", CREDENTIALS.client_id),
        ("client-secret", CREDENTIALS.client_secret),
        ("gstin", CREDENTIALS.gstin),
        ("AuthToken", token(dispatcher)),
    ]
    from invoicing.domain.einvoice_payload import payload_json

    body = payload_json(build_payload(from_invoice(issued(gstin=INTER_BUYER_GSTIN)))).encode()
    status, answer = call(dispatcher, "POST", "/_irp/eicore/v1.03/Invoice", body, headers)
    return status, json.loads(answer)


def test_a_registration_is_listed_and_its_qr_verifies_with_the_served_certificate(dispatcher):
    status, answer = register(dispatcher)
    assert status == 200 and answer["Status"] == 1
    status, listed = call(dispatcher, "GET", "/_local/irp/documents")
    (document,) = json.loads(listed)["items"]
    assert set(document) >= {"irn", "type", "number", "date", "buyer_gstin", "total", "status"}
    assert (document["type"], document["number"], document["status"]) == ("INV", "INV/2627/000042", "active")
    status, pem = call(dispatcher, "GET", "/_local/irp/certificate")
    key = x509.load_pem_x509_certificate(pem).public_key()
    claims = jwt.decode(answer["Data"]["SignedQRCode"], key, algorithms=["RS256"])
    assert json.loads(claims["data"])["Irn"] == document["irn"]


def test_a_second_registration_is_error_2150(dispatcher):
    register(dispatcher)
    _, answer = register(dispatcher)
    assert answer["ErrorDetails"][0]["ErrorCode"] == "2150"
    assert answer["InfoDtls"][0]["InfCd"] == "DUPIRN"


def test_fail_next_transient_answers_503_and_registers_nothing(dispatcher):
    status, _ = call(dispatcher, "POST", "/_local/irp/fail-next", b'{"kind": "transient", "count": 1}')
    assert status == 200
    assert register(dispatcher)[0] == 503
    assert json.loads(call(dispatcher, "GET", "/_local/irp/documents")[1])["items"] == []


def test_fail_next_timeout_registers_and_answers_504(dispatcher):
    call(dispatcher, "POST", "/_local/irp/fail-next", b'{"kind": "timeout"}')
    assert register(dispatcher)[0] == 504
    assert len(json.loads(call(dispatcher, "GET", "/_local/irp/documents")[1])["items"]) == 1


@pytest.mark.parametrize(
    "body", [b'{"kind": "slow"}', b'{"kind": "timeout", "count": 0}', b'{"kind": "x", "n": 1}']
)
def test_a_bad_fail_next_body_is_400(dispatcher, body):
    assert call(dispatcher, "POST", "/_local/irp/fail-next", body)[0] == 400
