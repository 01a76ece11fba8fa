"""Foundation figures: DynamoDB calls per operation (counted, not timed) and issue throughput.

- ``dynamodb_calls.get_invoice``, ``.list_page``, ``.summary``: goal 1 each.
- ``dynamodb_calls.issue``: the reads it needs (invoice, counter, twice: a rehearsal before Razorpay is
  called) plus a transaction storing Razorpay's draft id and the issuing transaction (the stand-in
  answers Razorpay, through the real SDK).
- ``outbox.dispatch_ms``: the outbox dispatcher's drain (scheduled path), per message (one
  InvoiceIssued event each).
- ``dynamodb_calls.scan``: Scans over the whole benchmark (goal 0).
- ``numbering.issues_per_s``: 50 sequential issues against moto in-process. Profiling shows
  over 90 % of the time inside moto: its ``transact_write_items`` deep-copies the whole table for
  rollback, so the figure falls as the table grows. It is a regression tripwire for our own code
  path (2 reads + 1 transaction per issue), not a production throughput figure.
"""

from __future__ import annotations

import time

from benchmarks import support
from infra.demo import draft_fields

ISSUES = 50  # moto copies the whole table per transaction item: more only measures moto


def run() -> dict[str, float]:
    with support.aws_stack():
        from datetime import UTC, date, datetime

        from invoicing.domain.queries import ListQuery
        from invoicing.wiring import api, common
        from tests.support import functions as lambdas

        common.clock().set(lambda: datetime(2026, 11, 21, 6, 0, tzinfo=UTC))
        service = api.invoice_service()
        store = service.invoices
        fields = draft_fields(date(2026, 10, 1))
        drafts = [service.create(account_id="acc_bench", fields=fields) for _ in range(ISSUES + 1)]
        figures: dict[str, float] = {}

        def calls_of(action) -> int:
            before = support.dynamodb_calls()
            action()
            return support.dynamodb_calls() - before

        figures["dynamodb_calls.issue"] = calls_of(lambda: service.issue(drafts[0].id))
        started = time.perf_counter()
        for invoice in drafts[1:]:
            service.issue(invoice.id)
        elapsed = time.perf_counter() - started
        figures["numbering.issues_per_s"] = round(ISSUES / elapsed, 1)

        # the 201 issues left one outbox message each (InvoiceIssued): the dispatcher's drain
        outbox = lambdas.functions()
        started = time.perf_counter()
        report = outbox.scheduled(lambdas.OUTBOX, datetime.now(UTC))
        while report["dispatched"]:
            report = outbox.scheduled(lambdas.OUTBOX, datetime.now(UTC))
        figures["outbox.dispatch_ms"] = round((time.perf_counter() - started) * 1000 / len(drafts), 1)

        figures["dynamodb_calls.get_invoice"] = calls_of(lambda: store.get(drafts[0].id))
        figures["dynamodb_calls.list_page"] = calls_of(
            lambda: store.list_page(ListQuery(account_id="acc_bench", limit=25))
        )
        figures["dynamodb_calls.summary"] = calls_of(lambda: store.summary("acc_bench"))
        figures["dynamodb_calls.scan"] = sum(n for k, n in support.calls.items() if k == "dynamodb.Scan")
        common.clock().set(lambda: datetime.now(UTC))
        return figures
