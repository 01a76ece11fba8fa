"""The Razorpay stand-in's refunds and receipts, driven by the real SDK (tests/support/razorpay.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import razorpay
from razorpay.errors import BadRequestError

from infra.local.razorpay_standin import RazorpayStandIn, sign
from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, standin_responses


@pytest.fixture
def standin() -> Iterator[RazorpayStandIn]:
    with standin_responses() as answering:
        yield answering


def client() -> razorpay.Client:
    return razorpay.Client(auth=(KEY_ID, KEY_SECRET))


def invoice(receipt: str = "INV/2627/000001", draft: bool = False, amount: int = 10_000) -> dict:
    body = {
        "type": "invoice",
        "customer": {"name": "Acme", "email": "a@acme.example"},
        "line_items": [{"name": "VM", "amount": amount, "quantity": 1}],
        "currency": "INR",
        "receipt": receipt,
        "partial_payment": True,
    }
    if draft:
        body["draft"] = "1"
    return client().invoice.create(body)


def captured(standin, amount: int = 10_000) -> str:
    issued = invoice(amount=amount)
    return standin.pay(issued["id"], amount)[0].payload["payload"]["payment"]["entity"]["id"]


def test_a_refund_is_pending_then_processed_with_a_signed_webhook(standin):
    payment_id = captured(standin)
    refund = client().payment.refund(payment_id, {"amount": 2_500, "notes": {"refund_id": "rfd_1"}})
    assert (refund["status"], refund["amount"], refund["payment_id"]) == ("pending", 2_500, payment_id)
    assert refund["id"].startswith("rfnd_")

    [delivery] = standin.process_refunds()

    assert delivery.event == "refund.processed"
    assert delivery.headers["X-Razorpay-Signature"] == sign(delivery.body, WEBHOOK_SECRET)
    payload = json.loads(delivery.body)["payload"]
    assert payload["refund"]["entity"]["status"] == "processed"
    assert payload["refund"]["entity"]["notes"] == {"refund_id": "rfd_1"}
    assert payload["payment"]["entity"]["amount_refunded"] == 2_500
    assert client().refund.fetch(refund["id"])["status"] == "processed"
    assert standin.process_refunds() == []


def test_the_same_idempotency_key_answers_the_first_refund(standin):
    payment_id = captured(standin)
    headers = {"X-Refund-Idempotency": "rfd_same"}
    first = client().payment.refund(payment_id, {"amount": 1_000}, headers=headers)
    again = client().payment.refund(payment_id, {"amount": 1_000}, headers=headers)
    assert again["id"] == first["id"]
    assert client().payment.fetch(payment_id)["amount_refunded"] == 1_000


def test_a_refund_beyond_what_the_payment_has_left_is_refused(standin):
    payment_id = captured(standin)
    client().payment.refund(payment_id, {"amount": 7_000})
    with pytest.raises(BadRequestError) as refused:
        client().payment.refund(payment_id, {"amount": 3_001})
    assert "greater than the refund payment amount" in str(refused.value)
    full = client().payment.refund(payment_id, {"amount": 3_000})
    assert full["amount"] == 3_000
    assert client().payment.fetch(payment_id)["status"] == "refunded"


def test_a_failed_refund_puts_the_money_back_on_the_payment(standin):
    payment_id = captured(standin)
    refund = client().payment.refund(payment_id, {"amount": 4_000})
    [delivery] = standin.fail_refund(refund["id"])
    assert delivery.event == "refund.failed"
    assert client().payment.fetch(payment_id)["amount_refunded"] == 0
    assert standin.process_refunds() == []


def test_a_receipt_is_carried_by_one_issued_invoice_until_it_is_cancelled(standin):
    first = invoice("INV/2627/000009")
    with pytest.raises(BadRequestError):
        invoice("INV/2627/000009")
    draft = invoice("INV/2627/000009", draft=True)  # drafts hold no receipt
    with pytest.raises(BadRequestError):
        client().invoice.issue(draft["id"])
    client().invoice.cancel(first["id"])
    assert client().invoice.issue(draft["id"])["status"] == "issued"
    listed = client().invoice.all({"receipt": "INV/2627/000009"})["items"]
    assert sorted(i["status"] for i in listed) == ["cancelled", "issued"]
