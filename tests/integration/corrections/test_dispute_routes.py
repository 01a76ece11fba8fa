"""Dispute decisions through ``lambda_handler``: list, resolve rejected or credited, twice → 409, bad
resolutions refused. What a decision does to the invoice (reminders, suspension, events) is tested
over the fakes: ``tests/services/corrections/test_disputes.py``."""

from __future__ import annotations

from tests.integration.corrections.conftest import Stack

DISPUTE_FIELDS = {
    "id",
    "invoice_id",
    "status",
    "reason",
    "expected_correction",
    "outcome",
    "note",
    "credit_note_id",
    "created_at",
    "resolved_at",
}


def disputed(stack: Stack) -> tuple[dict, dict]:
    invoice = stack.issued()
    reply = stack.customer(
        "POST",
        f"/invoices/{invoice['id']}/disputes",
        body={
            "reason": "The VM was stopped for half of September.",
            "expected_correction": "Credit 360 hours",
        },
    )
    assert reply.status == 201, reply.text
    return invoice, reply.json()


def test_customers_list_their_invoice_s_disputes(stack: Stack):
    invoice, dispute = disputed(stack)
    listed = stack.customer("GET", f"/invoices/{invoice['id']}/disputes")
    assert listed.status == 200
    [item] = listed.json()["items"]
    assert set(item) == DISPUTE_FIELDS
    assert (item["id"], item["status"], item["outcome"], item["resolved_at"]) == (
        dispute["id"],
        "open",
        None,
        None,
    )
    assert stack.customer("GET", f"/invoices/{invoice['id']}/disputes", account_id="acc_2").status == 404


def test_rejecting_a_dispute_clears_disputed(stack: Stack):
    invoice, dispute = disputed(stack)
    assert stack.invoice(invoice["id"])["disputed"] is True
    path = f"/invoices/{invoice['id']}/disputes/{dispute['id']}/resolve"

    reply = stack.operator("POST", path, body={"outcome": "rejected", "note": "Usage logs show 720 hours."})

    assert reply.status == 200, reply.text
    resolved = reply.json()
    assert (resolved["status"], resolved["outcome"], resolved["credit_note_id"]) == (
        "resolved",
        "rejected",
        None,
    )
    assert resolved["note"] == "Usage logs show 720 hours." and resolved["resolved_at"]
    assert stack.invoice(invoice["id"])["disputed"] is False

    again = stack.operator("POST", path, body={"outcome": "rejected", "note": "Again."})
    assert again.status == 409


def test_bad_resolutions_change_nothing_and_a_credited_one_issues_its_credit_note_in_the_same_step(
    stack: Stack,
) -> None:
    # Given an open dispute
    invoice, dispute = disputed(stack)
    path = f"/invoices/{invoice['id']}/disputes/{dispute['id']}/resolve"

    # When it is resolved badly: credited without a note, by a customer, unknown, beyond the line
    credited_without_note = stack.operator("POST", path, body={"outcome": "credited", "note": "Credited."})
    customer = stack.customer("POST", path, body={"outcome": "rejected", "note": "No."})
    unknown = stack.operator(
        "POST",
        f"/invoices/{invoice['id']}/disputes/dsp_unknown0000000/resolve",
        body={"outcome": "rejected", "note": "No."},
    )
    too_much = stack.operator(
        "POST",
        path,
        body={
            "outcome": "credited",
            "note": "Credited.",
            "credit_note": {"reason": "other", "description": "x", "lines": [{"line": 0, "amount": 10**9}]},
        },
    )

    # Then each is refused and nothing changed
    assert [r.status for r in (credited_without_note, customer, unknown, too_much)] == [422, 403, 404, 422]
    before = stack.invoice(invoice["id"])
    assert before["disputed"] is True and before["credit_notes"] == []

    # When it is credited with a credit note
    body = {
        "outcome": "credited",
        "note": "Half the VM hours credited.",
        "credit_note": {
            "reason": "deficient_service",
            "description": "VM stopped 15 days.",
            "lines": [{"line": 0, "amount": 45_000}],
        },
    }
    reply = stack.operator("POST", path, body=body)

    # Then the answer names the credit note, issued on the invoice in the same step
    assert reply.status == 200, reply.text
    resolved = reply.json()
    assert resolved["outcome"] == "credited" and resolved["credit_note_id"]
    note = stack.operator("GET", f"/credit-notes/{resolved['credit_note_id']}").json()
    assert note["amount"] == 53_100 and note["invoice_id"] == invoice["id"]
    after = stack.invoice(invoice["id"])
    assert after["disputed"] is False and after["amount_credited"] == 53_100
