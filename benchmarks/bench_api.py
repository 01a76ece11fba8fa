"""Invoice API figures: cold import cost of the handler, and DynamoDB calls per read route.

- ``cold_import_ratio.invoice_api``: the CPU time (user + system) of a fresh interpreter running
  ``import handler`` the way Lambda does (cwd ``functions/invoice_api``, the layer's ``shared`` on
  the path), divided by that of a fresh interpreter importing only what any such handler needs
  (``boto3``, ``aws_lambda_powertools.event_handler``, ``pydantic``); medians of 9 runs each,
  alternating. CPU time, not wall time: the machine the figures are taken on is shared and loaded.
  Bytecode caches are written once first and used after (a deployed package ships them), whatever
  ``PYTHONDONTWRITEBYTECODE`` says in the caller's environment. Goal <= 1.3.
- ``cold_first_request_ratio.invoice_api``: the same fresh interpreter importing the handler and
  answering one ``GET /invoices/{id}`` (DynamoDB's and Secrets Manager's answers stubbed in
  botocore, so only our code, Powertools and botocore run), over the same baseline. What a cold
  start costs before the first answer: work moved out of the import but needed by the request
  shows up here.
- ``dynamodb_calls.route.list``, ``.get``, ``.summary``: DynamoDB calls of one warm request
  through ``lambda_handler`` under moto (goal 1 each).
"""

from __future__ import annotations

import base64
import json
import os
import resource
import statistics
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from benchmarks import support

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "functions" / "invoice_api"
RUNS = 9
_BASELINE = "import boto3, aws_lambda_powertools.event_handler\nfrom pydantic import BaseModel"
_STUB_BASELINE = "import boto3, aws_lambda_powertools.event_handler, pydantic"

# One GET /invoices/{id} through lambda_handler, AWS answered by a stub of botocore's API call.
_FIRST_REQUEST = """
import base64, json, os, sys
import handler
import botocore.client

item, event = json.loads(os.environ["BENCH_ITEM"]), json.loads(os.environ["BENCH_EVENT"])
item = {name: {"B": base64.b64decode(v["B"])} if "B" in v else v for name, v in item.items()}
answers = {
    "GetItem": {"Item": item},
    "GetSecretValue": {"Name": "cursor", "SecretString": "k" * 32, "VersionId": "v1"},
}
botocore.client.BaseClient._make_api_call = lambda self, operation, params: answers[operation]

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "invoice-api", 512, "req-1"
    invoked_function_arn = "arn:aws:lambda:ap-south-1:123456789012:function:invoice-api"

reply = handler.lambda_handler(event, Context())
assert reply["statusCode"] == 200, reply
"""


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    skip = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "AWS_ENDPOINT_URL")
    env = {key: value for key, value in os.environ.items() if key not in skip}
    env["PYTHONPATH"] = os.pathsep.join([str(FUNCTION_DIR), str(ROOT / "shared")])
    return env | (extra or {})


def _cpu_time(code: str, env: dict[str, str]) -> float:
    """User + system CPU seconds of a fresh interpreter running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=FUNCTION_DIR, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"the probe failed:\n{done.stdout}{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _first_request_env() -> dict[str, str]:
    """The function's settings (names only: every AWS answer is stubbed) and one issued invoice's
    stored item."""
    from infra.cfn import load_template
    from infra.demo import draft_fields
    from invoicing.config import InvoiceSettings, load
    from invoicing.domain.invoice import Invoice
    from invoicing.repository import records
    from invoicing.repository.table import serialize
    from tests.events.http import customer, http_event

    env = {
        "INVOICES_TABLE": "invoices",
        "CURSOR_SECRET_NAME": "cursor",
        "RAZORPAY_SECRET_NAME": "razorpay",
        "PDF_BUCKET": "pdfs",
        "RENDER_QUEUE_URL": "https://sqs.ap-south-1.amazonaws.com/123456789012/render",
        "SUPPLIER_JSON": load_template()["Parameters"]["SupplierJson"]["Default"],
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "InvoicingBench",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }
    supplier = load(InvoiceSettings, env).supplier_json
    now = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    draft = Invoice.create_draft(
        account_id="acc_bench", supplier=supplier, now=now, **draft_fields(date(2026, 11, 1))
    )
    issued = draft.issue(invoice_number="INV/2627/000001", today=date(2026, 11, 21), now=now)
    event = http_event("GET", f"/invoices/{issued.id}", claims=customer("acc_bench"))
    return env | {
        # as botocore hands a GetItem answer over (binary as bytes), base64 for the environment
        "BENCH_ITEM": json.dumps(
            {
                name: {"B": base64.b64encode(v["B"]).decode()} if "B" in v else v
                for name, v in serialize(records.invoice_to_item(issued)).items()
            }
        ),
        "BENCH_EVENT": json.dumps(event),
    }


def cold_import_ratios() -> dict[str, float]:
    plain, first = _child_env(), _child_env(_first_request_env())
    _cpu_time("import handler", plain)  # write the bytecode caches once, as a deployed package ships them
    _cpu_time(_FIRST_REQUEST, first)
    handler_times, request_times, baseline_times, stub_times = [], [], [], []
    for _ in range(RUNS):
        handler_times.append(_cpu_time("import handler", plain))
        request_times.append(_cpu_time(_FIRST_REQUEST, first))
        baseline_times.append(_cpu_time(_BASELINE, plain))
        stub_times.append(_cpu_time(_STUB_BASELINE, plain))
    handler, baseline = statistics.median(handler_times), statistics.median(baseline_times)
    return {
        "cold_import_ratio.invoice_api": round(handler / baseline, 2),
        "cold_import_ratio_vs_pydantic_stub.invoice_api": round(handler / statistics.median(stub_times), 2),
        "cold_first_request_ratio.invoice_api": round(statistics.median(request_times) / baseline, 2),
    }


def route_calls() -> dict[str, float]:
    with support.aws_stack():
        from invoicing.wiring import common
        from tests.events.http import customer, http_event
        from tests.support.functions import API, functions

        common.clock().set(lambda: datetime(2026, 11, 21, 6, 0, tzinfo=UTC))
        (invoice,) = support.create_and_issue("acc_bench", date(2026, 10, 1))
        claims = customer("acc_bench")

        def calls_of(path: str) -> int:
            before = support.dynamodb_calls()
            reply = functions().invoke(API, http_event("GET", path, claims=claims))
            assert reply["statusCode"] == 200, json.dumps(reply)[:500]
            return support.dynamodb_calls() - before

        calls_of("/invoices")  # warm the container: the cursor key is read once, from Secrets Manager
        figures = {
            "dynamodb_calls.route.list": calls_of("/invoices"),
            "dynamodb_calls.route.get": calls_of(f"/invoices/{invoice.id}"),
            "dynamodb_calls.route.summary": calls_of("/invoices/summary"),
        }
        common.clock().set(lambda: datetime.now(UTC))
        return figures


def run() -> dict[str, float]:
    return {**cold_import_ratios(), **route_calls()}


if __name__ == "__main__":
    print(run())
