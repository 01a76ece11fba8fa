"""POST /statements → the renderer builds it → GET /statements/{id}, through the handlers under moto."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from invoicing.domain.changes import SaveInvoice, TakeNumber
from invoicing.domain.invoice import Invoice
from invoicing.repository.ledger import ledger_partition
from invoicing.repository.table import serialize
from tests.integration.statements.conftest import NOW, Stack
from tests.support.ledger import forget_head
from tests.unit.factories import draft, payment

RANGE = {"from": "2026-10-01", "to": "2026-10-31"}


def issue(stack: Stack, n: int, account_id: str = "acc_1", *, days: int = 0) -> Invoice:
    """Invoice ``INV/2627/{n}`` (1,062.00) of ``account_id``, issued ``days`` after 1 October."""
    when = NOW + timedelta(days=days)
    created = draft(account_id=account_id, now=when)
    stack.transactions.commit([SaveInvoice(None, created)])
    number = f"INV/2627/{n:06d}"
    issued = created.issue(invoice_number=number, today=when.date(), now=when)
    stack.transactions.commit(
        [TakeNumber("INV/2627", n, number, issued.id, account_id), SaveInvoice(created, issued)]
    )
    return issued


def pay(stack: Stack, invoice: Invoice, amount: int, payment_id: str, *, days: int) -> Invoice:
    when = NOW + timedelta(days=days)
    paid = invoice.apply_payment(payment(amount, payment_id, paid_at=when), when)
    stack.transactions.commit([SaveInvoice(invoice, paid)])
    return paid


def history(stack: Stack) -> None:
    """01 Oct +106,200 · 02 Oct −50,000 · 03 Oct +106,200 · 04 Oct −56,200 → 106,200 owed."""
    first = issue(stack, 1)
    first = pay(stack, first, 50_000, "pay_a", days=1)
    issue(stack, 2, days=2)
    pay(stack, first, 56_200, "pay_b", days=3)
    issue(stack, 3, "acc_2", days=1)


def test_a_customer_asks_for_a_statement_and_reads_it_with_its_pdf_and_csv(
    stack: Stack, aws_calls: Any
) -> None:
    history(stack)

    # When the customer asks for October's statement
    accepted = stack.customer("acc_1", "POST", "/statements", body={"account_id": "acc_1", **RANGE})
    assert accepted.status == 202, accepted.text
    statement_id = accepted.json()["id"]
    assert accepted.json() == {"id": statement_id, "status": "pending"} and statement_id.startswith("st_")
    pending = stack.customer("acc_1", "GET", f"/statements/{statement_id}").json()
    assert (pending["status"], pending["entries"], pending["pdf_url"], pending["opening_balance"]) == (
        "pending",
        [],
        None,
        None,
    )

    # and the renderer takes the job from the render queue
    aws_calls.clear()
    assert stack.deliver("RenderQueue", "PdfRendererFunction") == {"batchItemFailures": []}
    # the job, the ledger's head, the balance before 1 October, one page; the CSV and the PDF; done
    assert aws_calls.of("dynamodb") == ["GetItem", "GetItem", "Query", "Query", "UpdateItem"]
    assert aws_calls.of("s3") == ["PutObject", "PutObject"]

    # Then the statement is ready: entries oldest first, balances, totals, links
    reply = stack.customer("acc_1", "GET", f"/statements/{statement_id}")
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["status"] == "ready" and body["from"] == "2026-10-01" and body["to"] == "2026-10-31"
    assert [
        (e["date"], e["type"], e["reference"], e["debit"], e["credit"], e["balance"]) for e in body["entries"]
    ] == [
        ("2026-10-01", "invoice", "INV/2627/000001", 106_200, 0, 106_200),
        ("2026-10-02", "payment", "pay_a", 0, 50_000, 56_200),
        ("2026-10-03", "invoice", "INV/2627/000002", 106_200, 0, 162_400),
        ("2026-10-04", "payment", "pay_b", 0, 56_200, 106_200),
    ]
    assert (body["opening_balance"], body["closing_balance"], body["currency"]) == (0, 106_200, "INR")
    assert body["totals"] == {"invoiced": 212_400, "paid": 106_200, "credited": 0, "refunded": 0}
    assert body["pdf_url"].startswith("https://") and "X-Amz-Signature" in body["pdf_url"]
    assert body["expires_at"]

    s3 = boto3.client("s3")
    bucket = stack.env["PDF_BUCKET"]
    pdf = s3.get_object(Bucket=bucket, Key=f"exports/acc_1/{statement_id}.pdf")["Body"].read()
    assert pdf.startswith(b"%PDF")
    csv = s3.get_object(Bucket=bucket, Key=f"exports/acc_1/{statement_id}.csv")["Body"].read().decode()
    assert csv.split("\r\n")[:3] == [
        "date,type,reference,description,debit,credit,balance",
        "2026-10-01,invoice,INV/2627/000001,Invoice INV/2627/000001,1062.00,0.00,1062.00",
        "2026-10-02,payment,pay_a,Payment for INV/2627/000001 (upi),0.00,500.00,562.00",
    ]


def test_a_statement_for_an_account_older_than_the_ledger_is_right_after_its_backfill(stack: Stack) -> None:
    # Given the history, then the ledger removed as if it had never existed
    history(stack)
    table = stack.table
    items = table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues=serialize({":pk": ledger_partition("acc_1")}),
    )["Items"]
    for item in items:
        table.call("delete_item", Key={"pk": item["pk"], "sk": item["sk"]})
    forget_head(table, "acc_1")

    # When the operator asks for a statement from 3 October
    accepted = stack.operator(
        "POST", "/statements", body={"account_id": "acc_1", "from": "2026-10-03", "to": "2026-10-31"}
    )
    stack.deliver("RenderQueue", "PdfRendererFunction")

    # Then the renderer backfilled the ledger first and the statement opens with the right balance
    body = stack.operator("GET", f"/statements/{accepted.json()['id']}").json()
    assert body["status"] == "ready"
    assert body["opening_balance"] == 56_200
    assert [e["balance"] for e in body["entries"]] == [162_400, 106_200]


def test_who_may_ask_and_see(stack: Stack) -> None:
    history(stack)
    # a customer naming another account: 403, nothing stored or queued
    refused = stack.customer("acc_2", "POST", "/statements", body={"account_id": "acc_1", **RANGE})
    assert refused.status == 403 and refused.json()["error"]["code"] == "forbidden"
    mine = stack.customer("acc_1", "POST", "/statements", body={"account_id": "acc_1", **RANGE}).json()["id"]
    # another tenant's statement: 404; the operator sees it
    assert stack.customer("acc_2", "GET", f"/statements/{mine}").status == 404
    assert stack.customer("acc_1", "GET", "/statements/st_Nothing000000").status == 404
    assert stack.operator("GET", f"/statements/{mine}").status == 200


@pytest.mark.parametrize(
    ("body", "where"),
    [
        # the domain's refusal (future and over 366 days too: tests/services/test_statements.py)
        ({"account_id": "acc_1", "from": "2026-10-05", "to": "2026-10-04"}, ["body", "to"]),
        # the request's own rules
        ({"account_id": "acc_1", "from": "2026-10-05"}, ["body", "to"]),
        ({"account_id": "acc_1", "from": 20261005, "to": "2026-10-06"}, ["body", "from"]),
        (
            {"account_id": "acc_1", "start": "2026-10-05", "from": "2026-10-05", "to": "2026-10-06"},
            ["body", "start"],
        ),
    ],
    ids=["backwards", "no-to", "number", "unknown-field"],
)
def test_a_range_that_is_no_statement_range_is_a_422_naming_the_field(
    stack: Stack, body: dict[str, Any], where: list[str]
) -> None:
    reply = stack.customer("acc_1", "POST", "/statements", body=body)
    assert reply.status == 422, reply.text
    assert reply.json()["error"]["details"][0]["loc"] == where


def test_the_openapi_document_describes_statements_and_the_exports_303(stack: Stack) -> None:
    # (that it is valid OpenAPI 3: tests/integration/api/test_contract.py)
    document = stack.call("GET", "/openapi.json").json()
    export = document["paths"]["/invoices/export.csv"]["get"]["responses"]
    assert set(export) >= {"200", "303", "403"}
    assert "Location" in export["303"]["headers"]
    assert export["303"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExportLinkResponse"
    }
    assert document["paths"]["/statements"]["post"]["responses"]["202"]
    statement = document["components"]["schemas"]["StatementResponse"]["properties"]
    assert {
        "from",
        "to",
        "opening_balance",
        "closing_balance",
        "totals",
        "entries",
        "pdf_url",
        "csv_url",
    } <= set(statement)
    request = document["components"]["schemas"]["StatementRequest"]
    assert (
        set(request["properties"]) == {"account_id", "from", "to"}
        and request["additionalProperties"] is False
    )
