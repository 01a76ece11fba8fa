"""The Razorpay stand-in, driven by the real ``razorpay`` SDK through ``tests/support/razorpay.py``."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import razorpay
from razorpay.errors import BadRequestError

from infra.local.razorpay_standin import (
    RazorpayError,
    format_inr,
    parse_rupees,
    render_hosted_page,
)
from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, razorpay_standin  # noqa: F401


def _client(secret: str = KEY_SECRET) -> razorpay.Client:
    return razorpay.Client(auth=(KEY_ID, secret))


def _invoice(**extra: object) -> dict:
    return {
        "type": "invoice",
        "description": "Cloud usage October 2026",
        "customer": {
            "name": "Vyom Analytics LLP",
            "email": "accounts@vyom.example",
            "gstin": "27AAPFU0939F1ZV",
        },
        "line_items": [
            {"name": "NVIDIA A100 80GB pod", "amount": 17676000, "quantity": 1},
            {"name": "Block storage", "amount": 215250, "quantity": 2},
        ],
        "currency": "INR",
        **extra,
    }


def test_draft_is_created_unpayable_with_the_sum_of_its_lines(razorpay_standin):  # noqa: F811
    # When
    created = _client().invoice.create(_invoice(draft="1", receipt="inv_ours123"))

    # Then
    assert created["id"].startswith("inv_") and len(created["id"]) == 18
    assert created["entity"] == "invoice"
    assert created["status"] == "draft"
    assert created["short_url"] is None
    assert created["amount"] == created["amount_due"] == 17676000 + 2 * 215250
    assert created["amount_paid"] == 0
    assert created["receipt"] == "inv_ours123"
    assert created["customer_details"]["gstin"] == "27AAPFU0939F1ZV"
    assert _client().invoice.fetch(created["id"]) == created


def test_draft_accepts_any_change_then_issues_with_a_hosted_page(razorpay_standin):  # noqa: F811
    # Given
    client = _client()
    draft = client.invoice.create(_invoice(draft="1"))

    # When
    client.invoice.edit(
        draft["id"], {"receipt": "INV/2627/000042", "line_items": [{"name": "Support", "amount": 499900}]}
    )
    issued = client.invoice.issue(draft["id"])

    # Then
    assert issued["status"] == "issued"
    assert issued["receipt"] == "INV/2627/000042"
    assert issued["amount"] == 499900
    assert issued["short_url"] == f"https://rzp.io/i/{draft['id']}"
    assert issued["order_id"].startswith("order_")
    assert issued["issued_at"] is not None


def test_invoice_created_without_draft_is_issued_at_once(razorpay_standin):  # noqa: F811
    issued = _client().invoice.create(_invoice())

    assert issued["status"] == "issued"
    assert issued["short_url"]


def test_issued_invoice_only_takes_the_fields_razorpay_allows(razorpay_standin):  # noqa: F811
    # Given
    client = _client()
    issued = client.invoice.create(_invoice())

    # When / Then
    edited = client.invoice.edit(issued["id"], {"receipt": "INV/2627/000001", "partial_payment": True})
    assert edited["partial_payment"] is True
    with pytest.raises(BadRequestError, match="line_items cannot be updated"):
        client.invoice.edit(issued["id"], {"line_items": [{"name": "x", "amount": 100}]})


def test_partly_paid_invoice_takes_no_change_at_all(razorpay_standin):  # noqa: F811
    invoice = _client().invoice.create(_invoice(partial_payment=True))
    razorpay_standin.pay(invoice["id"], 10000)

    with pytest.raises(BadRequestError, match="partially_paid status"):
        _client().invoice.edit(invoice["id"], {"notes": {"k": "v"}})


def test_cancel_moves_an_issued_invoice_to_cancelled_but_never_a_paid_one(razorpay_standin):  # noqa: F811
    # Given
    client = _client()
    to_cancel = client.invoice.create(_invoice())
    paid = client.invoice.create(_invoice())
    razorpay_standin.pay(paid["id"])

    # When
    cancelled = client.invoice.cancel(to_cancel["id"])

    # Then
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] is not None
    with pytest.raises(BadRequestError, match="paid status"):
        client.invoice.cancel(paid["id"])


def test_wrong_key_secret_is_refused_like_razorpay(razorpay_standin):  # noqa: F811
    with pytest.raises(BadRequestError, match="api key provided is invalid"):
        _client("not-the-secret").invoice.create(_invoice())


def test_missing_authentication_is_401_with_razorpays_error_shape(razorpay_standin):  # noqa: F811
    status, _, body = razorpay_standin.handle("GET", "/v1/invoices/inv_x", {}, None)

    assert status == 401
    assert json.loads(body)["error"]["code"] == "BAD_REQUEST_ERROR"


def test_unknown_invoice_and_unknown_fields_are_bad_requests(razorpay_standin):  # noqa: F811
    client = _client()
    with pytest.raises(BadRequestError, match="does not exist"):
        client.invoice.fetch("inv_00000000000000")
    with pytest.raises(BadRequestError, match="colour is/are not required"):
        client.invoice.create(_invoice(colour="blue"))
    with pytest.raises(BadRequestError, match="type field is required"):
        client.invoice.create({k: v for k, v in _invoice().items() if k != "type"})


def test_full_payment_sends_payment_captured_then_invoice_paid_signed_over_the_raw_body(
    razorpay_standin,  # noqa: F811
):
    # Given
    invoice = _client().invoice.create(_invoice())

    # When
    deliveries = razorpay_standin.pay(invoice["id"], method="card")

    # Then
    assert [d.event for d in deliveries] == ["payment.captured", "invoice.paid"]
    for delivery in deliveries:
        expected = hmac.new(WEBHOOK_SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["X-Razorpay-Signature"] == expected
        assert delivery.headers["X-Razorpay-Event-Id"] == delivery.event_id
        assert delivery.headers["Content-Type"] == "application/json"
    assert deliveries[0].event_id != deliveries[1].event_id
    captured, paid = (d.payload for d in deliveries)
    payment = captured["payload"]["payment"]["entity"]
    assert captured["entity"] == "event" and captured["contains"] == ["payment"]
    assert payment["status"] == "captured" and payment["method"] == "card" and payment["card_id"]
    assert payment["invoice_id"] == invoice["id"] and payment["amount"] == invoice["amount"]
    assert paid["contains"] == ["payment", "order", "invoice"]
    assert paid["payload"]["invoice"]["entity"]["status"] == "paid"
    assert paid["payload"]["invoice"]["entity"]["amount_due"] == 0
    assert paid["payload"]["order"]["entity"]["status"] == "paid"
    assert _client().invoice.fetch(invoice["id"])["status"] == "paid"


def test_part_payment_is_refused_unless_partial_payment_is_allowed(razorpay_standin):  # noqa: F811
    # Given
    strict = _client().invoice.create(_invoice())
    lenient = _client().invoice.create(_invoice(partial_payment=True))

    # When / Then
    with pytest.raises(RazorpayError, match="does not accept partial payments"):
        razorpay_standin.pay(strict["id"], 10000)
    deliveries = razorpay_standin.pay(lenient["id"], 10000, "upi")
    assert [d.event for d in deliveries] == ["payment.captured", "invoice.partially_paid"]
    entity = deliveries[1].payload["payload"]["invoice"]["entity"]
    assert (entity["status"], entity["amount_paid"]) == ("partially_paid", 10000)
    assert deliveries[0].payload["payload"]["payment"]["entity"]["vpa"]
    with pytest.raises(RazorpayError, match="exceeds the amount due"):
        razorpay_standin.pay(lenient["id"], entity["amount_due"] + 1)


def test_hosted_page_shows_the_amount_due_in_indian_grouping_and_a_pay_form(razorpay_standin):  # noqa: F811
    invoice = _client().invoice.create(_invoice(receipt="INV/2627/000042", partial_payment=True))

    page = render_hosted_page(invoice, action="/pay")

    assert "INV/2627/000042" in page
    assert format_inr(invoice["amount_due"]) in page
    assert "₹1,81,065.00" in page
    for label in ("UPI", "Card", "Net banking", "Wallet"):
        assert label in page
    assert "name='amount'" in page and "action='/pay'" in page


def test_hosted_page_of_a_paid_invoice_has_nothing_to_pay(razorpay_standin):  # noqa: F811
    invoice = _client().invoice.create(_invoice())
    razorpay_standin.pay(invoice["id"])

    page = render_hosted_page(razorpay_standin.fetch_invoice(invoice["id"]), action="/pay")

    assert "<form" not in page and "nothing to pay" in page


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "₹0.00"),
        (5, "₹0.05"),
        (99900, "₹999.00"),
        (12345678, "₹1,23,456.78"),
        (386650150, "₹38,66,501.50"),
    ],
)
def test_inr_uses_indian_digit_grouping(paise, text):
    assert format_inr(paise) == text


def test_rupees_typed_on_the_page_become_paise():
    assert parse_rupees("1,234.5") == 123450
    with pytest.raises(RazorpayError):
        parse_rupees("12.345")
    with pytest.raises(RazorpayError):
        parse_rupees("abc")
