"""Statements and large CSV exports: what they read, and the memory of an export too big to answer.

- ``statement.dynamodb_calls`` (goal <= 3): the DynamoDB calls a statement's ledger reads take for a
  range of 50 entries in an account whose ledger holds 5,000: the head, the balance before the range
  (one bounded Query), one page of entries. ``statement.job_dynamodb_calls``: the whole render job
  (the job read first, the figures written last). ``statement.get_dynamodb_calls``: answering
  ``GET /statements/{id}`` once ready (the job, one page of entries). In-process moto.
- ``export.peak_rss_mb.20000_invoices``: peak RSS (``VmHWM``) of a fresh interpreter holding only
  what the API Lambda holds — its handler (loaded from template.yaml as the local stack loads it),
  its cached clients — while ``GET /invoices/export.csv`` exports an account of 20,000 invoices
  (~150-character descriptions: ~5.9 MB of CSV) through the 303 path: rows held up to the 5 MiB
  inline limit, then streamed to S3. AWS is moto's server in *another* process, reached over HTTP.
  ``export.baseline_rss_mb``: the same interpreter just before (a warm container: one small export
  ran first); ``export.size_mb.20000_invoices``; ``export.seconds.20000_invoices`` (dominated by
  moto's server answering 200 Queries of one 20,000-item index partition: seconds each, where
  DynamoDB takes milliseconds) and ``export.own_seconds.20000_invoices`` (the same without the time
  spent waiting for AWS calls).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks.processes import peak_rss_mb, run_steps

INVOICES = 20_000
ACCOUNT = "acc_bench"
DESCRIPTION = (
    "Cloud usage September 2026, project vision-train: 4 x A100 80GB pods (2,880 h), 6 build VMs "
    "(4,464 h), 2 TB block storage, 1.5 TB internet egress"
)


# ------------------------------------------------------------------------------ statement reads
def statement_calls() -> dict[str, float]:
    from benchmarks.support import aws_stack, calls, dynamodb_calls
    from invoicing.adapters.aws import client
    from invoicing.domain.ledger import EntryType, LedgerEvent, LedgerHead
    from invoicing.domain.statements import RETENTION, Statement, StatementStatus
    from invoicing.repository.ledger import DynamoLedger
    from invoicing.repository.ledger_rebuild import DynamoLedgerHistory
    from invoicing.repository.statements import DynamoStatementStore
    from invoicing.repository.table import Table
    from invoicing.services.ledger_backfill import LedgerBackfill
    from invoicing.services.retry import Backoff
    from invoicing.services.statements import StatementRenderService, StatementService
    from tests.fakes.statements import RecordingStatementJobs, RecordingStatementRenderer
    from tests.fakes.storage import InMemoryStorage
    from tests.unit.factories import supplier

    with aws_stack() as env:
        table = Table(env["INVOICES_TABLE"], client("dynamodb"))
        ledger, history = DynamoLedger(table), DynamoLedgerHistory(table)
        events = [
            LedgerEvent(
                ACCOUNT,
                EntryType.INVOICE if n % 2 == 0 else EntryType.PAYMENT,
                date(2026, 1, 1) + timedelta(days=n * 365 // 5_000),
                f"REF/{n}",
                "event",
                debit=1_000 if n % 2 == 0 else 0,
                credit=0 if n % 2 == 0 else 900,
                source=f"src_{n}",
            )
            for n in range(5_000)
        ]
        entries, head = LedgerHead(generation="g_bench").book(ACCOUNT, events)
        assert history.replace(ACCOUNT, ledger.head(ACCOUNT), entries, head)
        start, end = date(2026, 6, 1), date(2026, 6, 4)
        in_range = [e for e in entries if start <= e.date <= end]
        assert len(in_range) == 55, len(in_range)  # "a range of 50 entries"

        now = datetime(2026, 10, 1, tzinfo=UTC)
        statements = DynamoStatementStore(table)
        statements.create(
            Statement("st_bench", ACCOUNT, start, end, StatementStatus.PENDING, now, now + RETENTION)
        )
        renderer, storage = RecordingStatementRenderer(), InMemoryStorage()
        job = StatementRenderService(
            statements=statements,
            ledger=ledger,
            backfill=LedgerBackfill(history=history, backoff=Backoff()),
            renderer=renderer,
            storage=storage,
            supplier=supplier(),
            clock=lambda: now,
        )
        statement = statements.get("st_bench")
        calls.clear()
        # the statement's own reads: head, opening, pages of the range
        head_now = ledger.head(ACCOUNT)
        ledger.balance_before(ACCOUNT, start, generation=head_now.generation)
        page = ledger.entries(ACCOUNT, start, end, generation=head_now.generation)
        assert page.next_cursor is None and len(page.items) == len(in_range)
        reads = dynamodb_calls()
        calls.clear()
        job.render(statement.id)
        whole_job = dynamodb_calls()
        (printed,) = renderer.printed
        assert [e.seq for e in printed.entries] == [e.seq for e in in_range]
        api = StatementService(
            statements=statements,
            invoices=None,  # type: ignore[arg-type]  # only request() reads invoices
            ledger=ledger,
            jobs=RecordingStatementJobs(),
            links=storage,
            clock=lambda: now,
        )
        from invoicing.domain.access import Caller

        calls.clear()
        view = api.get(Caller(ACCOUNT), "st_bench")
        get_calls = dynamodb_calls()
        assert len(view.entries) == len(in_range)
    return {
        "statement.dynamodb_calls": reads,
        "statement.job_dynamodb_calls": whole_job,
        "statement.get_dynamodb_calls": get_calls,
    }


# -------------------------------------------------------------------------------- export memory
def seed(folder: Path) -> None:
    """Resources from the template, the cursor secret, 20,000 issued invoices of one account and a
    few of another (the warm-up)."""
    from infra.cfn import create_resources, function_environment, load_template
    from invoicing.adapters.aws import client
    from invoicing.repository.records import invoice_to_item
    from invoicing.repository.table import serialize
    from tests.unit.factories import issued

    template = load_template()
    env = create_resources(template, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    env = function_environment(template, "InvoiceApiFunction", env)
    client("secretsmanager").put_secret_value(SecretId=env["CURSOR_SECRET_NAME"], SecretString="k" * 48)
    dynamodb = client("dynamodb")
    base = issued(description=DESCRIPTION)
    batch: list[dict] = []

    def flush() -> None:
        pending = {env["INVOICES_TABLE"]: batch[:]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        batch.clear()

    for n in range(INVOICES + 5):
        account = ACCOUNT if n < INVOICES else "acc_warm"
        when = datetime(2026, 4, 1, 6, 30, tzinfo=UTC) + timedelta(minutes=n)
        invoice = base.model_copy(
            update={
                "id": f"inv_Bench{n:09d}",
                "account_id": account,
                "invoice_number": f"INV/2627/{n + 1:06d}",
                "issued_at": when,
                "date": when.date(),
            }
        )
        batch.append({"PutRequest": {"Item": serialize(invoice_to_item(invoice))}})
        if len(batch) == 25:
            flush()
    if batch:
        flush()
    (folder / "env.json").write_text(json.dumps(env))


def measure(folder: Path) -> dict[str, float]:
    """The API as Lambda runs it: its handler and clients only; AWS is another process."""
    import time

    os.environ.update(json.loads((folder / "env.json").read_text()))
    from infra.cfn import load_template
    from infra.local.functions import LocalFunction, functions_from_template
    from invoicing.adapters.aws import client
    from tests.events.http import customer, http_event

    api = LocalFunction(functions_from_template(load_template())["InvoiceApiFunction"])

    def export(account: str) -> dict:
        return api.invoke(http_event("GET", "/invoices/export.csv", claims=customer(account)))

    import botocore.client

    waiting = [0.0]  # seconds spent in AWS calls (moto's server: slow Queries of a 20,000-item index)
    original = botocore.client.BaseClient._make_api_call

    def timed(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        begun = time.perf_counter()
        try:
            return original(self, operation_name, api_params)
        finally:
            waiting[0] += time.perf_counter() - begun

    botocore.client.BaseClient._make_api_call = timed

    warm = export("acc_warm")
    assert warm["statusCode"] == 200, warm
    baseline = peak_rss_mb()
    waiting[0] = 0.0
    started = time.perf_counter()
    result = export(ACCOUNT)
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    assert result["statusCode"] == 303, {k: v for k, v in result.items() if k != "body"}
    key = "exports/" + result["headers"]["Location"].split("/exports/", 1)[1].split("?", 1)[0]
    size = client("s3").head_object(Bucket=os.environ["PDF_BUCKET"], Key=key)["ContentLength"]
    return {
        "export.peak_rss_mb.20000_invoices": round(peak, 1),
        "export.baseline_rss_mb": round(baseline, 1),
        "export.seconds.20000_invoices": round(seconds, 2),
        "export.own_seconds.20000_invoices": round(seconds - waiting[0], 2),  # without AWS's time
        "export.size_mb.20000_invoices": round(size / 2**20, 2),
    }


def export_memory() -> dict[str, float]:
    """AWS (moto's server) runs in this process; the seeding and the measured API in others."""
    quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_DEV": "0", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    return run_steps("benchmarks.bench_statements", ("seed", "measure"), prefix="bench-export-", env=quiet)


def run() -> dict[str, float]:
    return {**statement_calls(), **export_memory()}


if __name__ == "__main__":
    step, where = sys.argv[1], Path(sys.argv[2])
    if step == "seed":
        seed(where)
    else:
        print(json.dumps(measure(where)))
