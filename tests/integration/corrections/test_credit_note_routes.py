"""Credit-note routes through ``lambda_handler`` under moto: the contract (corrections.md), the
stored state, the payment page relinked by the outbox dispatcher, refusals that change nothing, the
reads' call counts, and the PDF really rendered into S3.

What a credit note does to an invoice in each state (the numbers, the refunds, the links, the events)
is tested over the fakes: ``tests/services/corrections/``."""

from __future__ import annotations

import json
from datetime import datetime

import boto3

from infra.local.events import sqs_event
from tests.integration.corrections.conftest import ACCOUNT, NOW, Stack

CREDIT_NOTE_FIELDS = {
    "id",
    "account_id",
    "invoice_id",
    "invoice_number",
    "invoice_date",
    "credit_note_number",
    "date",
    "reason",
    "description",
    "lines",
    "taxable_amount",
    "tax",
    "tax_amount",
    "amount",
    "applied_to_due",
    "refund_amount",
    "refund",
    "created_at",
    "e_invoice",
}


def vm_credit(amount: int = 10_000, **extra) -> dict:
    return {
        "reason": "deficient_service",
        "description": "VM down 3 days.",
        "lines": [{"line": 0, "amount": amount}],
    } | extra


def test_an_operator_credits_an_issued_invoice_and_the_dispatcher_relinks_its_payment_page(
    stack: Stack,
) -> None:
    # Given an issued invoice
    invoice = stack.issued()
    old_link = invoice["razorpay_invoice_id"]

    # When the operator issues a credit note on part of its first line
    reply = stack.credit(invoice["id"], vm_credit())

    # Then the answer is the CreditNote object
    assert reply.status == 201, reply.text
    note = reply.json()
    assert set(note) == CREDIT_NOTE_FIELDS
    assert note["e_invoice"]["status"] == "not_applicable"  # e-invoicing is off here (einvoice.md)
    assert note["credit_note_number"] == "CN/2627/000001"
    assert (note["invoice_id"], note["invoice_number"], note["invoice_date"]) == (
        invoice["id"],
        invoice["invoice_number"],
        "2026-10-01",
    )
    assert note["lines"] == [
        {
            "line": 0,
            "description": "vm-web-1 — General purpose VM",
            "sac_code": "998315",
            "taxable_amount": 10_000,
        }
    ]
    assert note["tax"] == {"rate": "18", "cgst": 900, "sgst": 900, "igst": 0}
    assert (note["tax_amount"], note["amount"], note["applied_to_due"], note["refund_amount"]) == (
        1800,
        11_800,
        11_800,
        0,
    )
    assert note["refund"] is None and note["reason"] == "deficient_service"

    # And the invoice shows it, owing that much less
    after = stack.invoice(invoice["id"])
    assert after["amount_credited"] == 11_800
    assert after["amount_due"] == invoice["amount"] - 11_800
    assert after["credit_notes"] == [
        {"id": note["id"], "credit_note_number": "CN/2627/000001", "date": "2026-10-01", "amount": 11_800}
    ]
    assert (
        after["amount_paid"] - after["amount_refunded"] + after["amount_credited"] + after["amount_due"]
        == after["amount"]
    )

    # And once the outbox ran, payment_url collects exactly the new balance; the old link is cancelled
    stack.dispatch()
    relinked = stack.invoice(invoice["id"])
    assert relinked["razorpay_invoice_id"] != old_link
    new_link = stack.standin.fetch_invoice(relinked["razorpay_invoice_id"])
    assert new_link["amount_due"] == relinked["amount_due"]
    assert relinked["payment_url"] == new_link["short_url"]
    assert stack.standin.fetch_invoice(old_link)["status"] == "cancelled"


def test_the_credit_note_is_read_back_listed_and_hidden_from_other_customers(stack: Stack):
    invoice = stack.issued()
    first = stack.credit(invoice["id"], vm_credit(100)).json()
    second = stack.credit(invoice["id"], vm_credit(200)).json()

    assert stack.operator("GET", f"/credit-notes/{first['id']}").json() == first
    assert stack.customer("GET", f"/credit-notes/{first['id']}").json() == first
    listed = stack.customer("GET", "/credit-notes", query={"limit": "1"}).json()
    assert [n["id"] for n in listed["items"]] == [second["id"]]
    rest = stack.customer(
        "GET", "/credit-notes", query={"limit": "1", "cursor": listed["next_cursor"]}
    ).json()
    assert [n["id"] for n in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    assert stack.operator("GET", "/credit-notes", query={"account_id": ACCOUNT}).json()["items"][0] == second

    assert (
        stack.customer("GET", f"/credit-notes/{first['id']}", account_id="acc_2").error["code"] == "not_found"
    )
    assert stack.customer("GET", "/credit-notes", query={"account_id": "acc_2"}).status == 403
    assert stack.operator("GET", "/credit-notes").status == 422  # operators name the account
    assert stack.customer("GET", "/credit-notes", account_id="acc_2").json()["items"] == []


def test_reads_cost_one_query_or_get_and_never_scan(stack: Stack, aws_calls):
    invoice = stack.issued()
    for amount in (100, 200, 300):
        stack.credit(invoice["id"], vm_credit(amount))
    note_id = stack.operator("GET", "/credit-notes", query={"account_id": ACCOUNT}).json()["items"][0]["id"]

    aws_calls.clear()
    stack.customer("GET", "/credit-notes", query={"limit": "2"})
    assert aws_calls.of("dynamodb") == ["Query"]  # nothing refunded: no invoice read either

    aws_calls.clear()
    stack.customer("GET", f"/credit-notes/{note_id}")
    assert aws_calls.of("dynamodb") == ["GetItem"]


def test_the_same_request_twice_with_the_same_key_makes_one_note(stack: Stack):
    invoice = stack.issued()
    headers = {"Idempotency-Key": "credit-1"}
    first = stack.credit(invoice["id"], vm_credit(), headers=headers)
    again = stack.credit(invoice["id"], vm_credit(), headers=headers)
    assert first.status == again.status == 201
    assert again.json() == first.json()
    assert len(stack.invoice(invoice["id"])["credit_notes"]) == 1

    other = stack.credit(invoice["id"], vm_credit(500), headers=headers)
    assert other.status == 409 and other.error["code"] == "conflict"
    assert other.error["details"][0]["loc"] == ["header", "Idempotency-Key"]


def test_bad_input_is_refused_clearly_and_changes_nothing(stack: Stack):
    invoice = stack.issued()
    version_before = stack.invoice(invoice["id"])["updated_at"]

    beyond = stack.credit(invoice["id"], vm_credit(90_001))
    assert beyond.status == 422 and beyond.error["code"] == "validation_error"
    assert beyond.error["details"][0]["loc"] == ["body", "lines", 0, "amount"]

    both = stack.credit(invoice["id"], vm_credit(full=True))
    assert both.status == 422
    neither = stack.credit(invoice["id"], {"reason": "other", "description": "x"})
    assert neither.status == 422
    unknown = stack.credit(invoice["id"], vm_credit() | {"amount": 5})
    assert unknown.status == 422
    bad_reason = stack.credit(invoice["id"], vm_credit() | {"reason": "goodwill"})
    assert bad_reason.status == 422
    long_text = stack.credit(invoice["id"], vm_credit() | {"description": "x" * 501})
    assert long_text.status == 422

    customer = stack.customer("POST", f"/invoices/{invoice['id']}/credit-notes", body=vm_credit())
    assert customer.status == 403 and customer.error["code"] == "forbidden"
    missing = stack.credit("inv_doesnotexist00", vm_credit())
    assert missing.status == 404

    stack.clock.set(datetime(2027, 12, 1, 6, 30, tzinfo=NOW.tzinfo))
    late = stack.credit(invoice["id"], vm_credit())
    assert late.status == 409 and late.error["code"] == "invalid_state"
    assert "30 November" in late.error["message"]

    after = stack.invoice(invoice["id"])
    assert after["updated_at"] == version_before and after["credit_notes"] == []
    assert stack.operator("GET", "/credit-notes", query={"account_id": ACCOUNT}).json()["items"] == []


def test_the_credit_note_pdf_answers_202_until_rendered_then_links_the_pdf_in_s3(stack: Stack) -> None:
    invoice = stack.issued()
    note = stack.credit(invoice["id"], vm_credit()).json()
    waiting = stack.customer("GET", f"/credit-notes/{note['id']}/pdf")
    assert waiting.status == 202 and waiting.json() == {"status": "rendering"}
    assert waiting.headers["Retry-After"]

    assert stack.render(only=note["id"]) == 1  # its render job (the invoice's is not rendered)

    reply = stack.customer("GET", f"/credit-notes/{note['id']}/pdf")
    assert reply.status == 200, reply.text
    link = reply.json()
    assert link["filename"] == "CN-2627-000001.pdf"
    body = (
        boto3.client("s3")
        .get_object(Bucket=stack.resources["PDF_BUCKET"], Key=f"pdfs/{ACCOUNT}/{note['id']}/v1.pdf")["Body"]
        .read()
    )
    assert body.startswith(b"%PDF")
    assert stack.customer("GET", f"/credit-notes/{note['id']}/pdf", account_id="acc_2").status == 404


def test_the_new_routes_are_documented_in_the_openapi_document(stack: Stack):
    # (The whole API's document is built by invoicing.http; this checks the corrections' routers.)
    import importlib
    import json

    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    stack.functions["InvoiceApiFunction"].load()  # puts the function's folder (and ``routes``) on the path
    app = APIGatewayHttpResolver(enable_validation=True)
    app.include_router(importlib.import_module("routes.credit_notes").router)
    app.include_router(importlib.import_module("routes.disputes").router)
    paths = json.loads(app.get_openapi_json_schema(title="corrections", version="1"))["paths"]
    for path, method in (
        ("/invoices/{invoice_id}/credit-notes", "post"),
        ("/credit-notes", "get"),
        ("/credit-notes/{credit_note_id}", "get"),
        ("/credit-notes/{credit_note_id}/pdf", "get"),
        ("/invoices/{invoice_id}/disputes", "get"),
        ("/invoices/{invoice_id}/disputes/{dispute_id}/resolve", "post"),
    ):
        assert method in paths[path], (path, method)
    assert "Idempotency-Key" in json.dumps(paths["/invoices/{invoice_id}/credit-notes"])


def test_a_dead_lettered_credit_note_render_answers_409_for_that_version(stack: Stack):
    # Given a credit note whose render job SQS gave up on (five failed receives)
    invoice = stack.issued()
    note = stack.credit(invoice["id"], vm_credit()).json()
    job = {"kind": "credit_note", "document_id": note["id"], "version": 1}  # a new note is version 1
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": json.dumps(job)}
    event = sqs_event([message], queue_arn="arn:aws:sqs:ap-south-1:123456789012:render-dlq")

    # When the dead-letter consumer takes it
    assert stack.functions["RenderDeadLetterFunction"].invoke(event) == {"batchItemFailures": []}

    # Then the credit note's PDF is 409 in the contract body, not 202 forever
    reply = stack.customer("GET", f"/credit-notes/{note['id']}/pdf")
    assert reply.status == 409, reply.text
    assert reply.json()["error"]["code"] == "invalid_state"
    assert "credit note" in reply.json()["error"]["message"]
