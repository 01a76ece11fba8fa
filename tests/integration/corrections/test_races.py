"""Races on DynamoDB, proved by injecting the conflicting write between a writer's read and its
commit (moto is not thread-safe, so the interleaving is forced rather than hoped for)."""

from __future__ import annotations

from invoicing.domain.credit_notes import SaveCreditNote
from invoicing.repository.commit import DynamoTransactions
from tests.integration.corrections.conftest import Stack


def test_a_credit_racing_a_payment_webhook_retries_and_the_invariant_holds(stack: Stack, monkeypatch):
    # Given an issued invoice, and the customer's payment landing just before the credit commits
    invoice = stack.issued()
    original = DynamoTransactions.commit
    raced: list = []

    def commit(self, changes):
        if not raced and any(isinstance(c, SaveCreditNote) for c in changes):
            raced.append(True)
            for delivery in stack.standin.pay(invoice["razorpay_invoice_id"], None, "upi"):
                assert stack.webhook(delivery).status == 200
        return original(self, changes)

    monkeypatch.setattr(DynamoTransactions, "commit", commit)

    # When the operator credits part of the invoice
    reply = stack.credit(
        invoice["id"],
        {"reason": "discount", "description": "Loyalty discount.", "lines": [{"line": 0, "amount": 9_000}]},
    )

    # Then the credit lost the first commit, re-read the now paid invoice and refunds all of it
    assert reply.status == 201, reply.text
    note = reply.json()
    assert raced
    assert (note["applied_to_due"], note["refund_amount"]) == (0, note["amount"])
    after = stack.invoice(invoice["id"])
    assert after["status"] == "paid"
    assert after["amount_refunded"] == note["amount"]
    assert (
        after["amount_paid"] - after["amount_refunded"] + after["amount_credited"] + after["amount_due"]
        == after["amount"]
    )
    assert [n["credit_note_number"] for n in after["credit_notes"]] == ["CN/2627/000001"]


def test_a_payment_webhook_racing_a_credit_retries_and_the_invariant_holds(stack: Stack, monkeypatch):
    # Given an issued invoice, and a credit note committing just before the payment's webhook writes
    invoice = stack.issued()
    original = DynamoTransactions.commit
    raced: list = []

    def commit(self, changes):
        if (
            not raced
            and not any(isinstance(c, SaveCreditNote) for c in changes)
            and any(
                getattr(c, "after", None) is not None and getattr(c.after, "payments", ()) for c in changes
            )
        ):
            raced.append(
                stack.credit(
                    invoice["id"],
                    {
                        "reason": "discount",
                        "description": "Loyalty discount.",
                        "lines": [{"line": 0, "amount": 9_000}],
                    },
                ).json()
            )
        return original(self, changes)

    monkeypatch.setattr(DynamoTransactions, "commit", commit)

    # When the customer pays what the old link asks
    replies = [stack.webhook(d) for d in stack.standin.pay(invoice["razorpay_invoice_id"], None, "upi")]

    # Then the webhook re-read the credited invoice: paid, and what exceeds the balance is refunded
    assert [r.json()["status"] for r in replies] == ["processed", "duplicate"]
    [note] = raced
    after = stack.invoice(invoice["id"])
    assert after["status"] == "paid"
    assert after["amount_refunded"] == note["amount"]
    assert [r["reason"] for r in after["refunds"]] == ["overpayment"]
    assert (
        after["amount_paid"] - after["amount_refunded"] + after["amount_credited"] + after["amount_due"]
        == after["amount"]
    )
