"""Refunds end to end: a credit note on paid money → Razorpay's refund API (the stand-in, through the
SDK, asked by the outbox dispatcher) → the ``refund.processed`` webhook with the webhook's guarantees
(signature, de-duplication, 5xx only on transient failures).

A failed refund, and money arriving on an older link beyond what is due (refunded as an overpayment),
are tested over the fakes: ``tests/services/corrections/test_credit_notes.py``."""

from __future__ import annotations

import pytest

from invoicing.domain.changes import Change
from invoicing.domain.errors import RetryableError
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


def unavailable(self: DynamoTransactions, changes: list[Change]) -> None:
    raise RetryableError("DynamoDB is throttling.")


def test_a_credit_on_a_paid_invoice_is_refunded_and_only_a_genuine_refund_processed_settles_it_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
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

    # When Razorpay says it processed it, first with a forged signature, then during a database outage
    [delivery] = stack.standin.process_refunds()
    forged = stack.webhook(delivery, signature="0" * 64)
    with monkeypatch.context() as patched:
        patched.setattr(DynamoTransactions, "commit", unavailable)
        outage = stack.webhook(delivery)

    # Then both change nothing: the forged one is refused, the outage answered 5xx for Razorpay to retry
    assert (forged.status, forged.error["code"]) == (400, "bad_request")
    assert (outage.status, outage.error["code"]) == (503, "service_unavailable")
    assert stack.invoice(invoice["id"])["refunds"][0]["status"] == "pending"

    # When the genuine delivery arrives (twice: webhooks arrive at least once)
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
