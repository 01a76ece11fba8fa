"""Refunds end to end: a credit note on paid money → Razorpay's refund API (the stand-in, through the
SDK) → ``refund.processed`` / ``refund.failed`` webhooks with the webhook's guarantees (signature,
de-duplication, 5xx only on transient failures); overpayments on an older link refunded automatically."""

from __future__ import annotations

from invoicing.repository.commit import DynamoTransactions
from tests.integration.corrections.conftest import Stack


def paid_invoice(stack: Stack) -> dict:
    invoice = stack.issued()
    stack.pay(invoice["razorpay_invoice_id"])
    paid = stack.invoice(invoice["id"])
    assert paid["status"] == "paid"
    return paid


def credit_disk(stack: Stack, invoice_id: str) -> dict:
    reply = stack.credit(
        invoice_id,
        {
            "reason": "excess_charged",
            "description": "Disk billed twice.",
            "lines": [{"line": 1, "amount": 4_550}],
        },
    )
    assert reply.status == 201, reply.text
    return reply.json()


def test_a_credit_on_a_paid_invoice_is_refunded_and_settled_by_refund_processed(stack: Stack):
    # Given a paid invoice and a credit note on it: everything credited is refunded
    invoice = paid_invoice(stack)
    note = credit_disk(stack, invoice["id"])
    assert (note["applied_to_due"], note["refund_amount"]) == (0, note["amount"])
    assert note["refund"] == {"status": "pending", "razorpay_refund_ids": []}

    # When the dispatcher asks Razorpay for the refund
    stack.dispatch()

    # Then Razorpay holds one pending refund of the newest payment, keyed by our refund id
    [refund] = stack.standin.pending_refunds()
    ours = stack.invoice(invoice["id"])["refunds"]
    assert [(r["id"], r["amount"], r["status"], r["reason"], r["credit_note_id"]) for r in ours] == [
        (refund["receipt"], note["amount"], "pending", "credit_note", note["id"])
    ]
    assert refund["payment_id"] == invoice["payments"][-1]["id"]

    # When Razorpay processes it and says so (twice: webhooks arrive at least once)
    [delivery] = stack.standin.process_refunds()
    first, repeat = stack.webhook(delivery), stack.webhook(delivery)

    # Then it is settled once; the credit note and the invoice show it
    assert (first.status, first.json()) == (200, {"status": "processed"})
    assert (repeat.status, repeat.json()) == (200, {"status": "duplicate"})
    settled = stack.operator("GET", f"/credit-notes/{note['id']}").json()
    assert settled["refund"] == {"status": "processed", "razorpay_refund_ids": [refund["id"]]}
    after = stack.invoice(invoice["id"])
    assert after["refunds"][0]["status"] == "processed"
    assert after["amount_refunded"] == note["amount"]
    assert (
        after["amount_paid"] - after["amount_refunded"] + after["amount_credited"] + after["amount_due"]
        == after["amount"]
    )
    summary = stack.operator("GET", "/invoices/summary", query={"account_id": "acc_1"}).json()
    assert summary["total_paid"] == after["amount_paid"] - after["amount_refunded"]


def test_a_failed_refund_says_failed_and_nothing_else_changes(stack: Stack):
    invoice = paid_invoice(stack)
    note = credit_disk(stack, invoice["id"])
    stack.dispatch()
    before = stack.invoice(invoice["id"])
    [refund] = stack.standin.pending_refunds()

    [delivery] = stack.standin.fail_refund(refund["id"])
    reply = stack.webhook(delivery)

    assert reply.json() == {"status": "processed"}
    after = stack.invoice(invoice["id"])
    assert after["refunds"][0]["status"] == "failed"
    for name in (
        "status",
        "amount_paid",
        "amount_refunded",
        "amount_credited",
        "amount_due",
        "payment_url",
        "payments",
    ):
        assert after[name] == before[name], name
    assert stack.operator("GET", f"/credit-notes/{note['id']}").json()["refund"]["status"] == "failed"


def test_a_refund_webhook_with_a_bad_signature_is_refused_and_changes_nothing(stack: Stack):
    invoice = paid_invoice(stack)
    credit_disk(stack, invoice["id"])
    stack.dispatch()
    [delivery] = stack.standin.process_refunds()
    reply = stack.webhook(delivery, signature="0" * 64)
    assert reply.status == 400 and reply.json()["error"]["code"] == "bad_request"
    assert stack.invoice(invoice["id"])["refunds"][0]["status"] == "pending"
    assert stack.webhook(delivery).json() == {"status": "processed"}  # the genuine one still counts


def test_a_refund_webhook_during_a_database_outage_answers_5xx_and_razorpay_s_retry_works(
    stack: Stack, monkeypatch
):
    from invoicing.domain.errors import RetryableError

    invoice = paid_invoice(stack)
    credit_disk(stack, invoice["id"])
    stack.dispatch()
    [delivery] = stack.standin.process_refunds()

    def unavailable(self, changes):
        raise RetryableError("DynamoDB is throttling.")

    with monkeypatch.context() as patched:
        patched.setattr(DynamoTransactions, "commit", unavailable)
        assert stack.webhook(delivery).status == 503
    assert stack.invoice(invoice["id"])["refunds"][0]["status"] == "pending"
    assert stack.webhook(delivery).json() == {"status": "processed"}


def test_money_arriving_on_an_older_link_beyond_what_is_due_is_refunded_and_shows(stack: Stack):
    # Given a partly paid invoice (its Razorpay invoice can no longer be cancelled) credited in part
    invoice = stack.issued(partial_payment=True)
    old_link = invoice["razorpay_invoice_id"]
    stack.pay(old_link, 50_000)
    credit_disk(stack, invoice["id"])
    stack.dispatch()
    relinked = stack.invoice(invoice["id"])
    assert relinked["razorpay_invoice_id"] != old_link
    new_link = stack.standin.fetch_invoice(relinked["razorpay_invoice_id"])
    assert new_link["receipt"] == f"{invoice['invoice_number']}-2"
    assert new_link["amount_due"] == relinked["amount_due"]

    # When the customer pays everything the old link still asks
    old_due = stack.standin.fetch_invoice(old_link)["amount_due"]
    stack.pay(old_link)

    # Then it is recorded, the excess over what was due refunded, and the new link withdrawn
    after = stack.invoice(invoice["id"])
    assert after["status"] == "paid" and after["amount_due"] == 0
    [refund] = after["refunds"]
    assert (refund["reason"], refund["amount"]) == ("overpayment", old_due - relinked["amount_due"])
    assert stack.standin.fetch_invoice(relinked["razorpay_invoice_id"])["status"] == "cancelled"
    assert after["payment_url"] is None

    # And Razorpay's refund settles through refund.processed
    [delivery] = stack.standin.process_refunds()
    assert stack.webhook(delivery).json() == {"status": "processed"}
    assert stack.invoice(invoice["id"])["refunds"][0]["status"] == "processed"
