"""The prepaid tour over real HTTP against ``make run``'s stack (demo data on): the demo prepaid
account's seeded wallet, a top-up paid through ``POST /_local/razorpay/payment-links/{id}/pay`` and
through the stand-in's hosted page, its receipt voucher's PDF, and the local routes' refusals."""

from __future__ import annotations

import pytest
import requests

from infra.demo import DEMO_PREPAID_ACCOUNT
from infra.local.tokens import make_token
from tests.e2e.conftest import Stack, eventually

pytestmark = pytest.mark.e2e

PREPAID = {"Authorization": f"Bearer {make_token(DEMO_PREPAID_ACCOUNT)}"}


def _get(stack: Stack, path: str, **params: str) -> dict:
    response = requests.get(f"{stack.url}{path}", params=params, headers=PREPAID, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def _top_up(stack: Stack, amount: int) -> dict:
    created = requests.post(
        f"{stack.url}/wallet/top-ups",
        json={"account_id": DEMO_PREPAID_ACCOUNT, "amount": amount},
        headers=PREPAID,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_the_demo_prepaid_account_has_two_paid_top_ups_and_a_month_settled_from_them(stack):
    top_ups = _get(stack, "/wallet/top-ups", limit="100")["items"]
    seeded = [t for t in top_ups if t["receipt"] and t["receipt"]["receipt_number"] in _first_two(top_ups)]
    assert len(seeded) == 2 and all(t["status"] == "paid" for t in seeded)

    invoices = _get(stack, "/invoices", limit="100")["items"]
    settled = [_get(stack, f"/invoices/{i['id']}") for i in invoices]
    advance = [p for i in settled for p in i["payments"] if p["method"] == "advance"]
    assert advance and set(advance[0]["receipts"]) <= {t["receipt"]["receipt_number"] for t in seeded}
    # a B2B invoice: registered with the (stand-in) IRP as of its issue, like the other demo invoices
    (month,) = [i for i in settled if any(p["method"] == "advance" for p in i["payments"])]
    assert month["e_invoice"]["status"] == "generated" and month["e_invoice"]["irn"]
    assert _get(stack, "/wallet/balance")["advance_balance"] >= 0


def _first_two(top_ups: list[dict]) -> set[str]:
    numbers = sorted(t["receipt"]["receipt_number"] for t in top_ups if t["receipt"])
    return set(numbers[:2])


def test_the_pay_route_pays_a_top_up_s_link_with_signed_webhooks_and_a_receipt_voucher(stack_alone):
    stack = stack_alone  # the wallet's balance is counted: no other top-up is paid meanwhile
    # Given
    before = _get(stack, "/wallet/balance")["advance_balance"]
    made = _top_up(stack, 250_000)

    # When
    paid = requests.post(
        f"{stack.url}/_local/razorpay/payment-links/{made['razorpay_payment_link_id']}/pay",
        json={"method": "card"},
        timeout=30,
    )

    # Then
    assert paid.status_code == 200, paid.text
    deliveries = paid.json()["deliveries"]
    assert [d["event"] for d in deliveries] == ["payment.captured", "payment_link.paid"]
    assert [d["status_code"] for d in deliveries] == [200, 200]
    assert paid.json()["amount"] == made["total"] == 295_000
    top_up = _get(stack, f"/wallet/top-ups/{made['id']}")
    assert (top_up["status"], top_up["receipt"]["method"]) == ("paid", "card")
    assert top_up["receipt"]["receipt_number"].startswith("RV/")
    assert _get(stack, "/wallet/balance")["advance_balance"] == before + 250_000

    receipt_pdf = eventually(
        lambda: requests.get(
            f"{stack.url}/receipts/{top_up['receipt']['id']}/pdf", headers=PREPAID, timeout=15
        ),
        lambda reply: reply.status_code == 200,
    )
    assert requests.get(receipt_pdf.json()["url"], timeout=30).content.startswith(b"%PDF")

    link = made["razorpay_payment_link_id"]
    again = requests.post(f"{stack.url}/_local/razorpay/payment-links/{link}/pay", json={}, timeout=30)
    assert again.status_code == 400  # the stand-in's link is paid: nothing is paid twice


def test_the_hosted_page_s_pay_button_pays_the_top_up(stack):
    made = _top_up(stack, 100_000)

    page = requests.get(made["payment_url"], timeout=15)
    assert page.status_code == 200 and "Pay" in page.text

    paid = requests.post(f"{made['payment_url']}/pay", data={"method": "upi"}, timeout=30)

    assert [r.status_code for r in paid.history] == [303] and paid.status_code == 200
    assert _get(stack, f"/wallet/top-ups/{made['id']}")["status"] == "paid"


def test_an_expired_link_expires_the_top_up_and_unknown_links_are_404(stack):
    made = _top_up(stack, 100_000)

    expired = requests.post(
        f"{stack.url}/_local/razorpay/payment-links/{made['razorpay_payment_link_id']}/expire", timeout=30
    )

    assert expired.status_code == 200, expired.text
    assert [d["event"] for d in expired.json()["deliveries"]] == ["payment_link.expired"]
    assert _get(stack, f"/wallet/top-ups/{made['id']}")["status"] == "expired"
    unknown = requests.post(f"{stack.url}/_local/razorpay/payment-links/plink_nope/pay", json={}, timeout=10)
    assert unknown.status_code == 404
