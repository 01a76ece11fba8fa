"""Prepaid wallets at the functions' handlers on moto: what only the HTTP and AWS path shows. Each
wallet route's answer and error mappings, tenancy at the edge, the Idempotency-Key over DynamoDB, a
top-up paid by signed webhooks (a bad signature, a throttled commit), the receipt voucher's PDF
really stored (and a render that fails), and a settlement race proved on DynamoDB's conditions.

What the services decide (settlement outcomes, the payment link that follows a short balance,
statements, expiry, the order of Razorpay's events, refunds of unmatched payments, e-invoicing of a
prepaid invoice) is tested against the fakes in tests/billing/test_prepaid.py."""

from __future__ import annotations

import io
import re

import boto3
import pytest
from pypdf import PdfReader

from tests.integration.wallet.conftest import Wallets


def test_a_customer_tops_up_pays_the_link_and_gets_a_receipt_voucher(wallets: Wallets, aws_calls):
    wallets.profile()

    created = wallets.top_up(amount=500_000)

    assert created["status"] == "created" and created["id"].startswith("top_")
    assert (created["amount"], created["tax"], created["total"]) == (
        500_000,
        {"rate": "18", "cgst": 45_000, "sgst": 45_000, "igst": 0},
        590_000,
    )
    assert created["payment_url"].endswith("/l/" + created["razorpay_payment_link_id"])
    assert created["receipt"] is None and created["paid_at"] is None

    # When the customer pays on Razorpay's page (payment.captured, then payment_link.paid)
    assert wallets.pay(created) == ["processed", "duplicate"]

    # Then the top-up is paid with a receipt voucher of its own series, and the balance grew
    paid = wallets.top_up_of(created["id"])
    assert paid["status"] == "paid" and paid["paid_at"]
    assert (paid["receipt"]["receipt_number"], paid["receipt"]["method"]) == ("RV/2627/000001", "upi")
    aws_calls.clear()
    assert wallets.balance() == 500_000
    assert aws_calls.of("dynamodb") == ["GetItem"]  # the balance is one read, never a sum
    events = [(kind, detail) for kind, detail in wallets.effects.events() if kind == "WalletTopUpPaid"]
    assert [detail["receipt_number"] for _, detail in events] == ["RV/2627/000001"]
    assert (events[0][1]["account_id"], events[0][1]["top_up_id"], events[0][1]["amount"]) == (
        "acc_1",
        created["id"],
        500_000,
    )
    listed = wallets.customer("acc_1", "GET", "/wallet/top-ups").json()
    assert [t["id"] for t in listed["items"]] == [created["id"]] and listed["next_cursor"] is None


def test_the_receipt_voucher_pdf_carries_every_rule_50_field(wallets: Wallets):
    wallets.profile(intra_state=False)
    paid = wallets.paid(amount=500_000)
    receipt = paid["receipt"]
    pending = wallets.customer("acc_1", "GET", f"/receipts/{receipt['id']}/pdf")
    assert pending.status in (200, 202)

    wallets.effects.render()
    reply = wallets.customer("acc_1", "GET", f"/receipts/{receipt['id']}/pdf")

    assert reply.status == 200, reply.text
    assert reply.json()["filename"] == "RV-2627-000001.pdf"
    body = (
        boto3.client("s3")
        .get_object(Bucket=wallets.effects.env["PDF_BUCKET"], Key=f"pdfs/acc_1/{receipt['id']}/v1.pdf")[
            "Body"
        ]
        .read()
    )
    text = re.sub(r"\s+", " ", PdfReader(io.BytesIO(body)).pages[0].extract_text())
    for field in (
        "Receipt Voucher",
        # supplier: name, address, GSTIN
        "Example Cloud Private Limited",
        "Example Business Park",
        "27AAPFU0939F1ZV",
        # its number and date
        "RV/2627/000001",
        "01 Oct 2026",
        # recipient: name, address, GSTIN
        "Kavach AI Labs",
        "Sindhu Bhavan Marg",
        "24AABCJ1087G1ZT",
        # description, SAC and the advance
        "Advance for GPU cloud services",
        "998315",
        "5,000.00",
        # rate and amount of each tax
        "IGST @ 18%",
        "900.00",
        "5,900.00",
        # place of supply (state name and code), reverse charge, signatory
        "Gujarat (24)",
        "Reverse charge: No",
        "Authorised signatory",
        "Page 1 of 1",
    ):
        assert field in text, field


def test_a_receipt_voucher_the_renderer_fails_on_answers_409_not_202_forever(wallets: Wallets, monkeypatch):
    # Given a voucher whose render fails (the renderer breaks on it every time)
    from invoicing.adapters.pdf_receipt import ReceiptPdfRenderer

    def broken(self, receipt):  # type: ignore[no-untyped-def]
        raise ValueError("year 10000 is out of range")

    monkeypatch.setattr(ReceiptPdfRenderer, "render_receipt", broken)
    wallets.profile()
    receipt = wallets.paid(amount=500_000)["receipt"]

    # When its render job runs (and is done with: no retry)
    assert [job["kind"] for job in wallets.effects.render()] == ["receipt"]

    # Then the customer gets a 409 in the contract's error body, and no new job is queued
    reply = wallets.customer("acc_1", "GET", f"/receipts/{receipt['id']}/pdf")
    assert reply.status == 409, reply.text
    assert reply.json()["error"]["code"] == "invalid_state"
    assert "receipt voucher" in reply.json()["error"]["message"]
    assert wallets.effects.render() == []


def test_an_idempotency_key_answers_the_same_top_up_and_another_body_is_a_conflict(wallets: Wallets):
    wallets.profile()
    headers = {"Idempotency-Key": "top-up-1"}

    first = wallets.top_up(amount=200_000, headers=headers)
    again = wallets.top_up(amount=200_000, headers=headers)
    other = wallets.customer(
        "acc_1", "POST", "/wallet/top-ups", body={"account_id": "acc_1", "amount": 300_000}, headers=headers
    )

    assert again == first
    assert other.status == 409 and other.json()["error"]["code"] == "conflict"
    assert len(wallets.standin.list_links({})["payment_links"]) == 1


@pytest.mark.parametrize(
    ("amount", "account", "status", "code"),
    [
        (9_999, "acc_1", 422, "validation_error"),
        (500_000, "acc_2", 403, "forbidden"),
        (500_000, "acc_9", 409, "conflict"),  # no billing profile
    ],
)
def test_bad_top_ups_are_refused_clearly_and_change_nothing(wallets: Wallets, amount, account, status, code):
    wallets.profile("acc_1")
    wallets.profile("acc_2")
    caller = "acc_9" if account == "acc_9" else "acc_1"

    reply = wallets.customer(
        caller, "POST", "/wallet/top-ups", body={"account_id": account, "amount": amount}
    )

    assert reply.status == status, reply.text
    assert reply.json()["error"]["code"] == code
    if status == 422:
        assert reply.json()["error"]["details"][0]["loc"] == ["body", "amount"]
    assert wallets.standin.list_links({})["payment_links"] == []
    assert wallets.customer(caller, "GET", "/wallet/top-ups").json()["items"] == []


def test_every_wallet_route_keeps_tenants_apart(wallets: Wallets):
    wallets.profile("acc_1")
    theirs = wallets.paid("acc_1", 100_000)  # its voucher's PDF not rendered: 202 to acc_1, 404 to acc_2

    def as_acc_2(method: str, path: str, **kwargs):
        return wallets.customer("acc_2", method, path, **kwargs).status

    assert as_acc_2("GET", f"/wallet/top-ups/{theirs['id']}") == 404
    assert as_acc_2("GET", f"/receipts/{theirs['receipt']['id']}/pdf") == 404
    assert as_acc_2("GET", "/wallet/top-ups", query={"account_id": "acc_1"}) == 403
    assert as_acc_2("GET", "/wallet/balance", query={"account_id": "acc_1"}) == 403
    assert as_acc_2("POST", "/wallet/top-ups", body={"account_id": "acc_1", "amount": 100_000}) == 403
    assert wallets.customer("acc_2", "GET", "/wallet/top-ups").json()["items"] == []
    assert wallets.balance("acc_2") == 0
    # operators see every account, naming it
    assert (
        wallets.operator("GET", "/wallet/balance", query={"account_id": "acc_1"}).json()["advance_balance"]
        == 100_000
    )
    assert wallets.operator("GET", "/wallet/balance").status == 422


def test_top_ups_are_listed_a_page_at_a_time_newest_first(wallets: Wallets):
    wallets.profile()
    made = []
    for n in range(3):
        made.append(wallets.top_up(amount=100_000 + n)["id"])  # the clock ticks between them

    first = wallets.customer("acc_1", "GET", "/wallet/top-ups", query={"limit": "2"}).json()
    rest = wallets.customer(
        "acc_1", "GET", "/wallet/top-ups", query={"limit": "2", "cursor": first["next_cursor"]}
    ).json()

    assert [t["id"] for t in first["items"] + rest["items"]] == made[::-1]
    assert rest["next_cursor"] is None


# --------------------------------------------------------------------------------------------------- webhooks
def test_a_signature_that_does_not_match_changes_nothing(wallets: Wallets):
    wallets.profile()
    made = wallets.top_up(amount=100_000)
    _, paid = wallets.standin.pay_link(made["razorpay_payment_link_id"])
    bad = type(paid)(paid.event, paid.event_id, paid.body, {**paid.headers, "X-Razorpay-Signature": "0" * 64})
    assert wallets.webhook(bad).status == 400
    assert wallets.top_up_of(made["id"])["status"] == "created"


def test_a_throttled_webhook_answers_503_keeps_nothing_and_razorpay_s_retry_credits_once(
    wallets: Wallets, resources, monkeypatch
):
    from botocore.exceptions import ClientError

    from invoicing.wiring import common

    wallets.profile()
    made = wallets.top_up(amount=100_000)
    captured, paid = wallets.standin.pay_link(made["razorpay_payment_link_id"])
    table = common.table(resources["INVOICES_TABLE"])
    real = table.client

    class Throttled:
        def transact_write_items(self, **params):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems"
            )

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(table, "client", Throttled())
    assert wallets.webhook(paid).status == 503
    monkeypatch.setattr(table, "client", real)
    assert wallets.top_up_of(made["id"])["status"] == "created" and wallets.balance() == 0

    assert [wallets.webhook(d).json()["status"] for d in (paid, captured, paid)] == [
        "processed",
        "duplicate",
        "duplicate",
    ]
    assert wallets.balance() == 100_000
    assert [k for k, _ in wallets.effects.events()].count("WalletTopUpPaid") == 1


# ------------------------------------------------------------- the billing run: a settlement race on DynamoDB
def test_a_settlement_racing_a_redelivered_one_draws_once(wallets: Wallets, monkeypatch):
    # Given the month's settlement, and a redelivered billing message settling the same invoice
    # that commits just before it (injected at the commit)
    from invoicing.config import BillingRunSettings
    from invoicing.domain.changes import SaveInvoice
    from invoicing.domain.wallet import DrawAdvances
    from invoicing.repository.commit import DynamoTransactions
    from invoicing.wiring import common, wallet

    wallets.profile()
    wallets.paid(amount=150_000)
    wallets.paid(amount=200_000)
    wallets.usage(hours=10)  # ₹2,455.00 taxable
    real = DynamoTransactions.commit
    raced: list[str] = []

    def racing(self, changes):
        if not raced and any(isinstance(c, DrawAdvances) for c in changes):
            invoice_id = next(c.after.id for c in changes if isinstance(c, SaveInvoice))
            raced.append(invoice_id)
            wallet.advance_settlement(common.settings(BillingRunSettings)).settle(invoice_id)
        return real(self, changes)

    monkeypatch.setattr(DynamoTransactions, "commit", racing)
    # When
    run = wallets.run_month()
    monkeypatch.setattr(DynamoTransactions, "commit", real)

    # Then one settlement: one advance payment, the balance lowered once, one record
    (invoice_id,) = raced
    invoice = wallets.operator("GET", f"/invoices/{invoice_id}").json()
    assert (run["invoices_created"], invoice["status"]) == (1, "paid")
    assert [p["method"] for p in invoice["payments"]] == ["advance"]
    assert wallets.balance() == 350_000 - 245_500
    store = wallet.store(wallets.effects.env["INVOICES_TABLE"])
    record = store.settlement("acc_1", invoice_id)
    assert (record.drawn, record.amount, [d.taken for d in record.draws]) == (
        245_500,
        289_690,
        [150_000, 95_500],
    )
    (left,) = store.open_advances("acc_1", covering=10**9, limit=90)
    assert left.remaining == 104_500
