"""Reading invoices: one invoice, the list (filters, search, cursor), the summary, the CSV export.

Apart from the first test (an invoice as the API made it, read back), the invoices read are written
straight into the table (``seed``, ``repository``): what is tested is the query string, the answer
and the calls a read costs; what the stores return for each filter is tests/contract/test_reads.py.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from invoicing.domain.invoice import Invoice, Payment
from invoicing.wiring.api import invoice_service
from tests.conftest import AwsCalls
from tests.integration.api.conftest import NOW, Api, Seed
from tests.support.stack import Invoices

INVOICE_FIELDS = {
    "id", "account_id", "invoice_number", "status", "currency", "date", "due_date", "billing_period",
    "description", "customer", "supplier", "place_of_supply", "line_items", "taxable_amount", "tax",
    "tax_amount", "amount", "amount_paid", "amount_due", "payments", "partial_payment",
    "payment_terms_days", "expire_by", "payment_url", "razorpay_invoice_id", "disputed", "issued_at",
    "paid_at", "cancelled_at", "expired_at", "created_at", "updated_at", "notes", "terms",
    "amount_refunded", "amount_credited", "refunds", "credit_notes", "origin", "e_invoice",
}  # fmt: skip
SUMMARY_ROW_FIELDS = {
    "id", "invoice_number", "date", "due_date", "status", "description", "billing_period", "amount",
    "amount_due", "currency",
}  # fmt: skip


def pay(
    repository: Invoices, invoice_id: str, amount: int, payment_id: str = "pay_1", method: str = "upi"
) -> Invoice:
    before = repository.get(invoice_id)
    payment = Payment(id=payment_id, amount=amount, method=method, paid_at=NOW + timedelta(hours=1))
    return repository.save(before, before.apply_payment(payment, NOW + timedelta(hours=1)))


def paid_pending_and_partly_paid(repository: Invoices, seed: Seed, part: int) -> tuple[Invoice, ...]:
    """Three issued invoices of acc_a: one paid in full, one unpaid, one (partial payments allowed)
    with ``part`` paise paid."""
    paid, pending, partly = seed("acc_a"), seed("acc_a"), seed("acc_a", partial_payment=True)
    pay(repository, paid.id, paid.amount)
    pay(repository, partly.id, part)
    return paid, pending, partly


def test_get_answers_every_field_of_the_contract_and_nothing_internal(api: Api, repository: Invoices) -> None:
    issued = api.issued("acc_a")
    pay(repository, issued["id"], 111570)

    reply = api.customer("acc_a", "GET", f"/invoices/{issued['id']}")

    assert reply.status == 200
    body = reply.json()
    assert set(body) == INVOICE_FIELDS
    stored = repository.get(issued["id"])
    assert body["status"] == "paid" == stored.status.value
    assert body["amount"] == 111570 == stored.amount
    assert body["taxable_amount"] == 94550  # 720 × ₹1.25 + 0.5 × ₹91
    assert body["tax"] == {"rate": "18", "cgst": 8510, "sgst": 8510, "igst": 0}
    assert body["tax_amount"] == 17020
    assert body["amount_paid"] == 111570 and body["amount_due"] == 0
    assert (body["amount_refunded"], body["amount_credited"], body["refunds"], body["credit_notes"]) == (
        0,
        0,
        [],
        [],
    )
    assert body["origin"] == "manual"
    assert body["payments"] == [
        {"id": "pay_1", "amount": 111570, "method": "upi", "paid_at": "2026-10-01T07:30:00Z", "receipts": []}
    ]
    assert body["paid_at"] == "2026-10-01T07:30:00Z"
    assert body["payment_url"] is None  # final status
    assert body["line_items"][0] == {
        "resource_type": "vm",
        "resource_name": "vm-web-1",
        "description": "General purpose VM",
        "usage_start": "2026-09-01T00:00:00Z",
        "usage_end": "2026-09-30T18:29:00Z",
        "quantity": "720",
        "unit": "hour",
        "unit_rate": "1.25",
        "sac_code": "998315",
        "amount": 90000,
    }
    # an IST timestamp in the request comes back in UTC with Z
    assert body["line_items"][1]["usage_start"] == "2026-08-31T18:30:00Z"
    assert body["date"] == "2026-10-01" and body["due_date"] == "2026-10-16"
    assert body["disputed"] is False
    for name in (
        "reminder_days",
        "reminders_sent",
        "grace_period_days",
        "suspension_requested_at",
        "version",
    ):
        assert name not in body


def test_list_shows_summary_rows_newest_first(api: Api, seed: Seed) -> None:
    first = seed("acc_a", description="August")
    second = seed("acc_a", description="September", at=NOW + timedelta(minutes=1))
    seed("acc_b")

    reply = api.customer("acc_a", "GET", "/invoices")

    assert reply.status == 200
    body = reply.json()
    assert [row["id"] for row in body["items"]] == [second.id, first.id]
    assert set(body["items"][0]) == SUMMARY_ROW_FIELDS
    assert body["items"][0]["amount"] == second.amount == body["items"][0]["amount_due"]
    assert body["items"][0]["description"] == "September"
    assert body["next_cursor"] is None


def test_list_filters_by_status_values_of_the_portal(api: Api, repository: Invoices, seed: Seed) -> None:
    paid, pending, partly = paid_pending_and_partly_paid(repository, seed, 100)
    cancelled = seed("acc_a")
    repository.save(cancelled, cancelled.cancel(NOW + timedelta(hours=1)))

    def ids(status: str) -> set[str]:
        reply = api.customer("acc_a", "GET", "/invoices", query={"status": status})
        assert reply.status == 200, reply.text
        return {row["id"] for row in reply.json()["items"]}

    assert ids("paid") == {paid.id}
    assert ids("pending") == {pending.id, partly.id}
    assert ids("cancelled") == {cancelled.id}
    assert ids("paid,cancelled") == {paid.id, cancelled.id}
    assert ids("overdue") == set()


def test_an_unknown_status_filter_is_a_validation_error(api: Api) -> None:
    reply = api.customer("acc_a", "GET", "/invoices", query={"status": "paid,lost"})

    assert reply.status == 422
    assert reply.error["details"][0]["loc"] == ["query", "status"]


def test_list_filters_by_issue_date_and_searches_number_and_description(api: Api, seed: Seed) -> None:
    early = seed("acc_a", description="GPU training run")
    late = seed("acc_a", description="Storage only", at=NOW + timedelta(days=5))

    def ids(**query: str) -> list[str]:
        reply = api.customer("acc_a", "GET", "/invoices", query=query)
        assert reply.status == 200, reply.text
        return [row["id"] for row in reply.json()["items"]]

    assert ids(**{"from": "2026-10-02"}) == [late.id]
    assert ids(to="2026-10-01") == [early.id]
    assert ids(**{"from": "2026-10-01", "to": "2026-10-06"}) == [late.id, early.id]
    assert ids(q="gpu") == [early.id]
    assert ids(q=str(late.invoice_number).lower()) == [late.id]


def test_from_after_to_is_a_validation_error(api: Api) -> None:
    reply = api.customer("acc_a", "GET", "/invoices", query={"from": "2026-10-02", "to": "2026-10-01"})

    assert reply.status == 422
    assert reply.error["details"][0]["loc"] == ["query", "to"]


def test_limit_must_lie_between_1_and_100(api: Api) -> None:
    for limit in ("0", "101", "ten"):
        reply = api.customer("acc_a", "GET", "/invoices", query={"limit": limit})
        assert reply.status == 422, limit
        assert reply.error["details"][0]["loc"] == ["query", "limit"]


def test_the_cursor_walks_every_page_exactly_once(api: Api, seed: Seed) -> None:
    made = [seed("acc_a", at=NOW + timedelta(minutes=n)).id for n in range(5)]

    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = api.customer("acc_a", "GET", "/invoices", query=query).json()
        seen += [row["id"] for row in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == made[::-1]
    assert pages == 3


def test_a_forged_or_foreign_cursor_is_a_bad_request(api: Api, seed: Seed) -> None:
    for _ in range(3):
        seed("acc_a")
    cursor = api.customer("acc_a", "GET", "/invoices", query={"limit": "1"}).json()["next_cursor"]
    payload, _signature = cursor.split(".")

    forged = api.customer("acc_a", "GET", "/invoices", query={"limit": "1", "cursor": payload + ".AAAA"})
    garbage = api.customer("acc_a", "GET", "/invoices", query={"cursor": "not-a-cursor"})
    other_filters = api.customer(
        "acc_a", "GET", "/invoices", query={"limit": "1", "status": "paid", "cursor": cursor}
    )
    other_account = api.customer("acc_b", "GET", "/invoices", query={"limit": "1", "cursor": cursor})

    for reply in (forged, garbage, other_filters, other_account):
        assert reply.status == 400, reply.text
        assert reply.error["code"] == "bad_request"
        assert reply.error["details"][0]["loc"] == ["query", "cursor"]


def test_summary_totals_paid_pending_and_overdue(api: Api, repository: Invoices, seed: Seed) -> None:
    paid, pending, partly = paid_pending_and_partly_paid(repository, seed, 11570)

    reply = api.customer("acc_a", "GET", "/invoices/summary")

    assert reply.status == 200
    assert reply.json() == {
        "currency": "INR",
        "total_paid": paid.amount + 11570,
        "total_pending": pending.amount + partly.amount - 11570,
        "total_overdue": 0,
        "count_paid": 1,
        "count_pending": 2,
        "count_overdue": 0,
    }
    assert reply.json() == api.operator("GET", "/invoices/summary", query={"account_id": "acc_a"}).json()


def test_csv_export_has_the_contracts_columns_and_money_in_rupees(
    api: Api, repository: Invoices, seed: Seed
) -> None:
    partly = seed("acc_a", partial_payment=True, description='=HYPERLINK("http://evil")')
    pay(repository, partly.id, 1050)
    paid = seed("acc_a", description="@SUM(A1)")
    pay(repository, paid.id, paid.amount)

    reply = api.customer("acc_a", "GET", "/invoices/export.csv")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert reply.headers["Content-Disposition"] == 'attachment; filename="invoices-acc_a-20261001.csv"'
    rows = list(csv.reader(io.StringIO(reply.text)))
    assert rows[0] == [
        "invoice_number", "date", "due_date", "status", "billing_period_start", "billing_period_end",
        "description", "taxable_amount", "tax_amount", "amount", "amount_paid", "amount_due", "currency",
        "paid_at", "amount_credited", "amount_refunded",
    ]  # fmt: skip
    by_number = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert len(by_number) == 2
    paid_row = by_number[str(paid.invoice_number)]
    assert paid_row["taxable_amount"] == "900.00"  # 720 × ₹1.25
    assert paid_row["tax_amount"] == "162.00"
    assert paid_row["amount"] == "1062.00"
    assert paid_row["amount_paid"] == "1062.00" and paid_row["amount_due"] == "0.00"
    assert paid_row["paid_at"] == "2026-10-01T07:30:00Z"
    assert paid_row["description"] == "'@SUM(A1)"  # no formula reaches a spreadsheet
    partly_row = by_number[str(partly.invoice_number)]
    assert partly_row["amount_paid"] == "10.50" and partly_row["amount_due"] == "1051.50"
    assert partly_row["status"] == "partially_paid" and partly_row["paid_at"] == ""
    assert partly_row["description"].startswith("'=HYPERLINK")
    assert partly_row["billing_period_start"] == "2026-09-01"
    assert (partly_row["amount_credited"], partly_row["amount_refunded"]) == ("0.00", "0.00")


def test_csv_export_takes_the_list_filters_and_reads_past_one_page(
    api: Api, repository: Invoices, seed: Seed, aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [seed("acc_a") for _ in range(3)]
    pay(repository, made[0].id, made[0].amount)
    service = invoice_service()
    export = service.export
    aws_calls.clear()

    # make the export's pages small (2) to prove it reads page after page, one Query each
    def small_pages(caller: Any, query: Any, *, page_size: int = 100) -> Any:
        return export(caller, query, page_size=2)

    monkeypatch.setattr(service, "export", small_pages)
    everything = api.customer("acc_a", "GET", "/invoices/export.csv")
    queries = aws_calls.count("Query")
    pending = api.customer("acc_a", "GET", "/invoices/export.csv", query={"status": "pending"})

    assert len(everything.text.strip().splitlines()) == 1 + 3
    assert queries == 2  # two pages, one Query each
    assert len(pending.text.strip().splitlines()) == 1 + 2
    assert "paid" not in {line.split(",")[3] for line in pending.text.strip().splitlines()[1:]}


def test_reads_cost_one_dynamodb_call_each(api: Api, seed: Seed, aws_calls: AwsCalls) -> None:
    invoice = seed("acc_a")
    api.customer("acc_a", "GET", "/invoices")  # warm: the cursor key is read once per container

    for path in ("/invoices", f"/invoices/{invoice.id}", "/invoices/summary"):
        aws_calls.clear()
        assert api.customer("acc_a", "GET", path).status == 200
        assert len(aws_calls.of("dynamodb")) == 1, (path, aws_calls.of("dynamodb"))
