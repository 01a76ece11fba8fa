"""Payment links for wallet top-ups: the stand-in's REST slice and webhooks, the adapter's calls
through the real SDK, and the webhook mapping of ``payment_link.*`` and a link's ``payment.captured``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from infra.local.razorpay_standin import RazorpayError, render_link_page, sign
from invoicing.adapters import razorpay_webhooks as rw
from invoicing.adapters.razorpay import RazorpayPaymentProvider, payment_link_body
from invoicing.adapters.secrets import RazorpayCredentials
from invoicing.domain.errors import PaymentProviderError
from invoicing.domain.notices import NoticeKind
from invoicing.domain.wallet import TopUp
from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, razorpay_standin  # noqa: F401
from tests.unit.factories import NOW, customer, supplier

SAMPLES = Path(__file__).parents[1] / "support" / "razorpay_samples"


def top_up(top_up_id: str = "top_Abcdefghijklmn", amount: int = 500_000) -> TopUp:
    return TopUp.create(
        top_up_id=top_up_id,
        account_id="acc_1",
        amount=amount,
        supplier=supplier(),
        customer=customer(intra_state=False),
        now=NOW,
    )


@pytest.fixture
def provider(razorpay_standin):  # noqa: F811
    return RazorpayPaymentProvider(lambda: RazorpayCredentials(KEY_ID, KEY_SECRET, WEBHOOK_SECRET))


# ------------------------------------------------------------------------------------ adapter
def test_a_top_up_s_link_collects_its_total_quietly_with_our_ids_and_an_expiry():
    body = payment_link_body(top_up())

    assert (body["amount"], body["currency"], body["accept_partial"]) == (590_000, "INR", False)
    assert body["notify"] == {"sms": False, "email": False} and body["reminder_enable"] is False
    assert body["notes"] == {"top_up_id": "top_Abcdefghijklmn", "account_id": "acc_1"}
    assert body["reference_id"] == "top_Abcdefghijklmn"
    assert body["expire_by"] == int((NOW + timedelta(days=7)).timestamp())
    assert "IGST ₹900.00" in body["description"] and "credit ₹5000.00" in body["description"]


def test_creating_a_link_again_finds_the_one_made_for_that_top_up(provider, razorpay_standin):  # noqa: F811
    first = provider.create_payment_link(top_up())
    again = provider.create_payment_link(top_up())

    assert again == first and first.provider_id.startswith("plink_")
    assert (first.amount, first.status, first.reference_id) == (590_000, "created", "top_Abcdefghijklmn")
    assert first.payment_url == razorpay_standin.link_url(first.provider_id)
    assert razorpay_standin.calls.count("create_link") == 1
    assert razorpay_standin.calls.count("list_links") == 2


def test_cancelling_a_link_twice_or_a_paid_one_is_fine(provider, razorpay_standin):  # noqa: F811
    link = provider.create_payment_link(top_up())
    provider.cancel_payment_link(link.provider_id)
    provider.cancel_payment_link(link.provider_id)
    assert provider.fetch_payment_link(link.provider_id).status == "cancelled"

    paid = provider.create_payment_link(top_up("top_Bbcdefghijklmn"))
    razorpay_standin.pay_link(paid.provider_id)
    provider.cancel_payment_link(paid.provider_id)
    assert provider.fetch_payment_link(paid.provider_id).status == "paid"


def test_a_razorpay_failure_creating_the_link_is_a_provider_error(provider, razorpay_standin):  # noqa: F811
    razorpay_standin.fail_next("create_link", "timeout")
    with pytest.raises(PaymentProviderError):
        provider.create_payment_link(top_up())
    assert razorpay_standin.list_links({})["payment_links"] == []


# ----------------------------------------------------------------------------------- stand-in
def test_the_stand_in_refuses_a_second_link_with_the_same_reference(razorpay_standin):  # noqa: F811
    razorpay_standin.create_link({"amount": 10_000, "reference_id": "top_x"})
    with pytest.raises(RazorpayError):
        razorpay_standin.create_link({"amount": 10_000, "reference_id": "top_x"})


def test_paying_a_link_sends_payment_captured_then_payment_link_paid_signed(razorpay_standin):  # noqa: F811
    link = razorpay_standin.create_link(payment_link_body(top_up()))

    captured, paid = razorpay_standin.pay_link(link["id"], "card")

    assert (captured.event, paid.event) == ("payment.captured", "payment_link.paid")
    for delivery in (captured, paid):
        assert delivery.headers["X-Razorpay-Signature"] == sign(delivery.body, WEBHOOK_SECRET)
    payment = captured.payload["payload"]["payment"]["entity"]
    assert (payment["amount"], payment["invoice_id"], payment["method"]) == (590_000, None, "card")
    assert payment["description"] == "#" + link["id"].removeprefix("plink_")
    entity = paid.payload["payload"]["payment_link"]["entity"]
    assert (entity["status"], entity["amount_paid"], entity["reference_id"]) == (
        "paid",
        590_000,
        "top_Abcdefghijklmn",
    )
    assert set(paid.payload["payload"]) == {"payment_link", "payment", "order"}
    with pytest.raises(RazorpayError):
        razorpay_standin.pay_link(link["id"])
    assert razorpay_standin.list_links({"payment_id": payment["id"]})["payment_links"][0]["id"] == link["id"]


def test_an_unpaid_link_expires_with_a_webhook(razorpay_standin):  # noqa: F811
    link = razorpay_standin.create_link(payment_link_body(top_up()))
    (expired,) = razorpay_standin.expire_link(link["id"])
    assert expired.event == "payment_link.expired"
    assert expired.payload["payload"]["payment_link"]["entity"]["status"] == "expired"


def test_the_hosted_page_of_a_link_has_a_pay_button_until_it_is_paid(razorpay_standin):  # noqa: F811
    link = razorpay_standin.create_link(payment_link_body(top_up()))
    page = render_link_page(link, action="/pay")
    assert "Pay ₹5,900.00" in page and "method" in page
    razorpay_standin.pay_link(link["id"])
    assert "Pay ₹" not in render_link_page(razorpay_standin.fetch_link(link["id"]), action="/pay")


# ------------------------------------------------------------------------------------ webhooks
def test_a_payment_link_paid_event_names_our_top_up_its_link_and_the_payment(razorpay_standin):  # noqa: F811
    link = razorpay_standin.create_link(payment_link_body(top_up()))
    captured, paid = razorpay_standin.pay_link(link["id"])

    by_link = rw.parse_notice(paid.body, "evt_1")
    by_payment = rw.parse_notice(captured.body, "evt_2")

    for notice in (by_link, by_payment):
        assert notice.kind is NoticeKind.PAYMENT and notice.payment is not None
        assert (notice.provider_link_id, notice.payment.amount) == (link["id"], 590_000)
        assert notice.invoice_id is None and notice.provider_invoice_id is None
    assert (by_link.top_up_id, by_link.account_id, by_link.ours) == ("top_Abcdefghijklmn", "acc_1", True)
    assert by_payment.top_up_id is None  # a payment.captured names the link only by its description


def test_razorpay_s_own_payment_link_sample_is_a_payment_on_a_link_that_is_not_ours():
    with open(f"{SAMPLES}/razorpay-webhook-payment-link-paid.json", "rb") as sample:
        notice = rw.parse_notice(sample.read(), "evt_1")
    assert notice.kind is NoticeKind.PAYMENT
    assert (notice.provider_link_id, notice.top_up_id, notice.ours) == ("plink_QflcnnZqCekuvL", None, False)


def test_an_expired_or_cancelled_link_is_an_expiry_of_its_top_up(razorpay_standin):  # noqa: F811
    link = razorpay_standin.create_link(payment_link_body(top_up()))
    (expired,) = razorpay_standin.expire_link(link["id"])
    notice = rw.parse_notice(expired.body, "evt_1")
    assert (notice.kind, notice.top_up_id, notice.provider_link_id) == (
        NoticeKind.EXPIRY,
        "top_Abcdefghijklmn",
        link["id"],
    )
    document = expired.payload | {"event": "payment_link.cancelled"}
    assert rw.parse_notice(json.dumps(document).encode(), "evt_2").kind is NoticeKind.EXPIRY


def test_a_payment_link_paid_event_without_its_payment_is_unreadable(razorpay_standin):  # noqa: F811
    link = razorpay_standin.create_link(payment_link_body(top_up()))
    _, paid = razorpay_standin.pay_link(link["id"])
    document = paid.payload
    del document["payload"]["payment"]
    assert rw.parse_notice(json.dumps(document).encode(), "evt_1").kind is NoticeKind.UNREADABLE


def test_a_plain_payment_captured_is_still_about_an_invoice_or_nothing():
    with open(f"{SAMPLES}/razorpay-webhook-payment-captured.json", "rb") as sample:
        notice = rw.parse_notice(sample.read(), "evt_1")
    assert (notice.kind, notice.provider_link_id, notice.top_up_id) == (NoticeKind.PAYMENT, None, None)
