"""What must hold at scale: reads grow with lines, not records; a 500-line invoice is stored, issued at
Razorpay and printed; a race between two runs under DynamoDB makes one invoice."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from invoicing.domain.billing import ClaimPeriod
from invoicing.domain.invoice import MAX_LINES
from tests.integration.billing.conftest import usage_record

if TYPE_CHECKING:
    from pypdf import PageObject

# The column headings as the renderer draws them (ASCII is set as itself; "₹" follows "Rate (").
HEADINGS = (b"(SAC) Tj", b"(Qty) Tj", b"(Rate \\(", b"(Amount \\(")


def _post(stack, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), 500):
        reply = stack.usage(records[start : start + 500])
        assert reply.status == 200 and reply.body["accepted"] == len(records[start : start + 500]), reply.body


def _month(stack, account: str, resources: int, hours: int) -> None:
    stack.profile(account)
    records = [usage_record(h, account, resource=f"pod-{r}") for r in range(resources) for h in range(hours)]
    _post(stack, records)


def test_billing_an_account_reads_per_line_not_per_record(stack, aws_calls):
    # Given two accounts with 20 lines each: 2 records per line, and 12
    stack.price()
    _month(stack, "acc_small", 20, 2)
    _month(stack, "acc_large", 20, 12)
    from invoicing.wiring import billing

    service = billing.run_service()
    calls = {}
    for account in ("acc_small", "acc_large"):
        run = service.request("2026-11", [account])
        service.plan(run.id)
        aws_calls.clear()
        outcome = service.bill(run.id, "2026-11", account)
        assert outcome.kind == "created"
        calls[account] = aws_calls.of("dynamodb")
    # Then the same calls, whatever the number of records
    assert calls["acc_small"] == calls["acc_large"]
    assert calls["acc_small"].count("Query") == 2  # the account's months, then one month's line totals
    assert calls["acc_small"] == [
        *("GetItem", "GetItem"),  # the billing profile, the month's claim
        *("Query", "Query"),  # the account's months with unbilled usage, one month's line totals
        "TransactWriteItems",  # the draft + its claim + the month's next generation
        *("GetItem", "GetItem", "TransactWriteItems"),  # issue: the invoice, the counter; Razorpay's link
        *("GetItem", "GetItem"),  # ... the counter again, the ledger head (none yet: the account's first
        "GetItem",  # money event), so its summary, to tell a new ledger from one to backfill
        "TransactWriteItems",  # issued
        "UpdateItem",  # the claim settled (out of the unbilled index)
        "TransactWriteItems",  # the outcome, counted once
        *("GetItem", "TransactWriteItems"),  # the run read; it was the last account: finished
    ]


def test_two_runs_at_once_under_dynamodb_make_one_invoice(stack, monkeypatch):
    stack.price()
    _month(stack, "acc_1", 2, 3)
    from invoicing.wiring import billing

    service = billing.run_service()
    commit = service.transactions.commit
    raced: list[Any] = []

    def racing(changes):
        if not raced and any(isinstance(c, ClaimPeriod) and c.claim.run_id == "run_A" for c in changes):
            raced.append(service.bill_account("run_B", "2026-11", "acc_1"))
        return commit(changes)

    monkeypatch.setattr(service.transactions, "commit", racing)
    outcome = service.bill_account("run_A", "2026-11", "acc_1")
    listing = stack.call("GET", "/invoices", query={"account_id": "acc_1"}).body["items"]
    assert len(listing) == 1 and raced[0].kind == "created"
    assert (outcome.kind, outcome.reason) == ("skipped", "already_invoiced")
    assert outcome.invoice_id == listing[0]["id"]


def _item_size(value: Any) -> int:
    """A DynamoDB attribute value's size, by AWS's rules (names are counted by the caller)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return (len(inner.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _item_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_item_size(v) + 1 for v in inner)
    raise AssertionError(kind)


def _operators(page: PageObject) -> bytes:
    """What the page draws, as its (decompressed) content stream."""
    contents = page.get_contents()
    assert contents is not None
    return contents.get_data()


def test_a_500_line_invoice_is_stored_issued_at_razorpay_and_printed(stack, dynamodb):
    # Given 500 resources with long names and descriptions: the worst a run can make
    stack.price(description=("NVIDIA H100 80GB SXM5 GPU, on-demand, India West (Pune) zone 1a " * 3)[:200])
    stack.profile("acc_big")
    records = [
        usage_record(
            1, "acc_big", resource=f"pod-{r:03d}", resource_name=f"{'training-job-' * 15}{r:03d}"[-200:]
        )
        for r in range(MAX_LINES)
    ]
    _post(stack, records)
    # When
    started = stack.call("POST", "/billing-runs", body={"period": "2026-11"})
    stack.drain()
    run = stack.call("GET", f"/billing-runs/{started.body['id']}").body
    # Then the invoice is issued with its 500 lines
    assert run["invoices_created"] == 1, run
    summary = stack.call("GET", "/usage/summary", query={"period": "2026-11", "account_id": "acc_big"})
    invoice_id = summary.body["invoice_id"]
    key = {"pk": {"S": f"INVOICE#{invoice_id}"}, "sk": {"S": "INVOICE"}}
    raw = dynamodb.get_item(TableName=stack.env["INVOICES_TABLE"], Key=key)["Item"]
    size = sum(len(name.encode()) + _item_size(value) for name, value in raw.items())
    from invoicing.repository.records import item_to_invoice
    from invoicing.repository.table import deserialize

    assert len(item_to_invoice(deserialize(raw)).line_items) == MAX_LINES  # packed in ``doc``
    assert size < 400 * 1024 * 0.85, size  # DynamoDB's item limit, with room for payments and credits
    # ... at Razorpay: one line per line of ours plus the GST lines, adding up to the amount
    from invoicing.wiring import billing

    invoice = billing.run_service().invoices.invoices.get(invoice_id)
    at_razorpay = stack.standin.fetch_invoice(invoice.razorpay_invoice_id)
    assert len(at_razorpay["line_items"]) == MAX_LINES + 2  # CGST and SGST (intra-state)
    assert at_razorpay["amount"] == invoice.amount and at_razorpay["status"] == "issued"
    # ... and on paper, the column headings with the rows on every page: checked in each page's drawing
    # operators (milliseconds; pypdf pulling the text out of all ~70 pages took ~1.3 s of CPU)
    from pathlib import Path

    from pypdf import PdfReader

    from invoicing.adapters.pdf import InvoicePdfRenderer

    assets = Path(__file__).resolve().parents[3] / "functions" / "pdf_renderer"
    pages = PdfReader(io.BytesIO(InvoicePdfRenderer(assets).render(invoice))).pages
    drawn = [_operators(page) for page in pages]
    with_lines = [n for n, ops in enumerate(drawn) if b"training-job" in ops]
    assert len(with_lines) > 10
    for n in with_lines:
        assert all(heading in drawn[n] for heading in HEADINGS), f"page {n + 1}"
    # ... as a reader sees them (one page's text: the operators above are how they are drawn)
    text = pages[with_lines[-1]].extract_text()
    assert all(heading in text for heading in ("SAC", "Rate", "Amount")) and "training-job" in text
