"""Razorpay webhook figures: cold import, warm latency, DynamoDB calls per new payment.

- ``webhook.cold_import_s``: a fresh interpreter imports ``functions/razorpay_webhook/handler.py``
  the way Lambda does (the function folder as the working directory and first on the path, the
  layer's ``shared/`` on ``PYTHONPATH``); the time of ``import handler`` alone, median of 7 runs
  after one untimed run that writes the bytecode caches. No ``razorpay`` SDK, no AWS call.
- ``webhook.warm_p99_ms``: 250 distinct signed ``payment.captured`` events (each for its own
  pre-issued invoice, found through Razorpay's invoice id) through ``lambda_handler`` in-process
  under moto, after one warm-up; the 99th percentile of the per-event wall time. Each event costs
  signature check, idempotency put, two reads, one transaction, idempotency update, PutEvents and
  SendMessage; moto's ``TransactWriteItems`` deep-copies the table (and its copies trigger the
  garbage collector), so this is an upper bound dominated by the emulator, a regression tripwire
  rather than a forecast. ``webhook.warm_own_p99_ms`` is the same minus the time spent inside AWS
  calls (i.e. inside moto): our code, Powertools and botocore's request building.
- ``dynamodb_calls.webhook_payment``: DynamoDB calls for one new payment (``payment.captured``,
  which names only Razorpay's invoice id) = 5:
    1. ``PutItem``            idempotency record, INPROGRESS (conditional on absence/expiry)
    2. ``GetItem``            provider pointer: Razorpay invoice id → our invoice id
    3. ``GetItem``            the invoice (strongly consistent)
    4. ``TransactWriteItems`` invoice (conditional on status + version) + account summary ``ADD``
    5. ``UpdateItem``         idempotency record, COMPLETED with the answer
  ``invoice.paid`` carries our invoice id in the Razorpay invoice's notes and skips call 2 (4).

Seeding. Issuing 250 invoices through the service would take moto about a minute (its transactions
deep-copy the table), so the issued invoices and their provider pointers are written with
``BatchWriteItem``, built by the repository's own mapping (``records.invoice_to_item``,
``records.provider_pointer_key``) from invoices made by the domain's own transitions.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchmarks import support
from tests.events.http import http_event
from tests.support.razorpay import WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "functions" / "razorpay_webhook"
SAMPLE = ROOT / "tests" / "support" / "razorpay_samples" / "razorpay-webhook-payment-captured.json"
EVENTS = 250
IMPORT_RUNS = 7
ISSUED_AT = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)

_IMPORT_PROBE = (
    "import time\n"
    "started = time.perf_counter()\n"
    "import handler\n"
    "elapsed = time.perf_counter() - started\n"
    "import sys\n"
    "assert 'razorpay' not in sys.modules\n"
    "print(elapsed)\n"
)


def cold_import_s() -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "shared"),
        "AWS_DEFAULT_REGION": "ap-south-1",
        "POWERTOOLS_SERVICE_NAME": "razorpay-webhook",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }

    def once() -> float:
        result = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE],
            cwd=FUNCTION_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return float(result.stdout.strip().splitlines()[-1])

    once()  # bytecode caches, as a deployed package would ship them warm on disk
    return round(statistics.median(once() for _ in range(IMPORT_RUNS)), 3)


def _seed(env: dict[str, str], count: int) -> list[Any]:
    import boto3

    from infra.demo import DEMO_SUPPLIER, draft_fields
    from invoicing.domain.invoice import Invoice
    from invoicing.repository import records
    from invoicing.repository.table import serialize

    template = Invoice.create_draft(
        account_id="acc_bench", supplier=DEMO_SUPPLIER, now=ISSUED_AT, **draft_fields(date(2026, 9, 1))
    )
    invoices = []
    for n in range(count):
        draft = template.model_copy(update={"id": f"inv_Bench{n:09d}"})
        invoices.append(
            Invoice.model_validate(
                draft.issue(
                    invoice_number=f"INV/2627/{n + 1:06d}",
                    today=ISSUED_AT.date(),
                    now=ISSUED_AT,
                    razorpay_invoice_id=f"inv_RzpBench{n:06d}",
                    payment_url="https://rzp.io/i/bench",
                ).model_dump()
            )
        )
    items = []
    for invoice in invoices:
        items.append(records.invoice_to_item(invoice))
        items.append(
            {
                **records.provider_pointer_key(invoice.razorpay_invoice_id),
                "entity": "provider_pointer",
                "kind": "razorpay_invoice",
                "document_id": invoice.id,
                "account_id": invoice.account_id,
            }
        )
    dynamodb = boto3.client("dynamodb")
    for start in range(0, len(items), 25):
        batch = items[start : start + 25]
        dynamodb.batch_write_item(
            RequestItems={
                env["INVOICES_TABLE"]: [{"PutRequest": {"Item": serialize(item)}} for item in batch]
            }
        )
    return invoices


def _event(invoice: Any, n: int) -> dict[str, Any]:
    document = json.loads(SAMPLE.read_text())
    payment = document["payload"]["payment"]["entity"]
    payment.update(
        id=f"pay_Bench{n:09d}",
        amount=invoice.amount,
        invoice_id=invoice.razorpay_invoice_id,
        created_at=int(ISSUED_AT.timestamp()) + 3600,
    )
    raw = json.dumps(document, separators=(",", ":")).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"x-razorpay-signature": signature, "x-razorpay-event-id": f"evt_Bench{n:09d}"}
    return http_event("POST", "/webhooks/razorpay", body=raw, headers=headers)


_in_aws = [0.0]  # seconds spent inside AWS calls (moto), summed


def _time_aws_calls() -> None:
    import botocore.client

    counted = botocore.client.BaseClient._make_api_call  # support's counter, kept in the chain

    def timed(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return counted(self, operation_name, api_params)
        finally:
            _in_aws[0] += time.perf_counter() - started

    botocore.client.BaseClient._make_api_call = timed


def run() -> dict[str, float]:
    _time_aws_calls()
    figures: dict[str, float] = {"webhook.cold_import_s": cold_import_s()}
    with support.aws_stack() as env:
        import logging

        invoices = _seed(env, EVENTS + 2)
        events = [_event(invoice, n) for n, invoice in enumerate(invoices)]
        from invoicing.observability import logger
        from tests.support.functions import WEBHOOK, functions

        logging.getLogger(logger.service).setLevel(logging.WARNING)  # time the code, not stdout

        def deliver(event: dict[str, Any]) -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # EMF metric lines: written, not shown
                response = functions().invoke(WEBHOOK, event)
            assert response["statusCode"] == 200 and json.loads(response["body"]) == {"status": "processed"}

        deliver(events[0])  # warm-up: clients, secret, settings

        before = support.dynamodb_calls()
        deliver(events[1])
        figures["dynamodb_calls.webhook_payment"] = support.dynamodb_calls() - before

        timings, own = [], []
        for event in events[2:]:
            in_aws_before = _in_aws[0]
            started = time.perf_counter()
            deliver(event)
            elapsed = time.perf_counter() - started
            timings.append(elapsed * 1000)
            own.append((elapsed - (_in_aws[0] - in_aws_before)) * 1000)
        figures["webhook.warm_p99_ms"] = round(statistics.quantiles(timings, n=100)[98], 1)
        figures["webhook.warm_p50_ms"] = round(statistics.median(timings), 1)
        figures["webhook.warm_own_p99_ms"] = round(statistics.quantiles(own, n=100)[98], 1)
    return figures
