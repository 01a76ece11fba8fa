"""Foundation figures: DynamoDB calls per operation (counted, not timed) and issue throughput.

- ``dynamodb_calls.get_invoice``, ``.list_page``, ``.summary``: goal 1 each.
- ``dynamodb_calls.issue``: one transaction plus the reads it needs (invoice + counter) = 3, with no
  payment provider; the Razorpay-linked path adds one transaction that stores the link first.
- ``dynamodb_calls.scan``: Scans over the whole benchmark (goal 0).
- ``numbering.issues_per_s``: 200 sequential issues against moto in-process. Profiling shows
  over 90 % of the time inside moto: its ``transact_write_items`` deep-copies the whole table for
  rollback, so the figure falls as the table grows. It is a regression tripwire for our own code
  path (2 reads + 1 transaction per issue), not a production throughput figure.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from benchmarks import support


def run() -> dict[str, float]:
    with support.aws_stack() as env:
        import boto3

        from infra.demo import DEMO_SUPPLIER, draft_fields
        from invoicing.repository.invoices import InvoiceRepository, ListQuery
        from invoicing.services.invoices import InvoicePolicy, InvoiceService

        repository = InvoiceRepository(
            env["INVOICES_TABLE"], boto3.client("dynamodb"), b"bench-cursor-key-0123456789"
        )
        service = InvoiceService(
            repository=repository, policy=InvoicePolicy(prefix="INV", supplier=DEMO_SUPPLIER)
        )
        now = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
        fields = draft_fields(date(2026, 10, 1))

        drafts = [service.create(account_id="acc_bench", fields=fields, now=now) for _ in range(201)]
        figures: dict[str, float] = {}

        def calls_of(action) -> int:
            before = support.dynamodb_calls()
            action()
            return support.dynamodb_calls() - before

        figures["dynamodb_calls.issue"] = calls_of(lambda: service.issue(drafts[0].id, now))
        started = time.perf_counter()
        for invoice in drafts[1:]:
            service.issue(invoice.id, now)
        elapsed = time.perf_counter() - started
        figures["numbering.issues_per_s"] = round(200 / elapsed, 1)

        figures["dynamodb_calls.get_invoice"] = calls_of(lambda: repository.get(drafts[0].id))
        figures["dynamodb_calls.list_page"] = calls_of(
            lambda: repository.list_page(ListQuery(account_id="acc_bench", limit=25))
        )
        figures["dynamodb_calls.summary"] = calls_of(lambda: repository.summary("acc_bench"))
        figures["dynamodb_calls.scan"] = sum(n for k, n in support.calls.items() if k == "dynamodb.Scan")
        return figures
