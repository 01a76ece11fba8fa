"""Invoice API figures: cold import cost of the handler, and DynamoDB calls per read route.

- ``cold_import_ratio.invoice_api``: the median wall time of a fresh interpreter running
  ``import handler`` the way Lambda does (cwd ``functions/invoice_api``, the layer's ``shared`` on
  the path), divided by the median of a fresh interpreter importing only what any such handler
  needs (``boto3``, ``aws_lambda_powertools.event_handler``, ``pydantic``). Runs alternate, 7 each.
  Goal ≤ 1.3. What stands above that baseline: Powertools' ``Tracer()`` in
  ``invoicing.observability`` (the X-Ray SDK builds a botocore client for sampling at import,
  ~0.3 s), the domain's pydantic models and Powertools' OpenAPI params. The SDK (``razorpay``,
  ``requests``) and Powertools' OpenAPI models are not imported until a request needs them.
- ``dynamodb_calls.route.list``, ``.get``, ``.summary``: DynamoDB calls of one warm request
  through ``lambda_handler`` under moto (goal 1 each).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from benchmarks import support

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "functions" / "invoice_api"
RUNS = 7
_BASELINE = "import boto3, aws_lambda_powertools.event_handler, pydantic"


def _wall_time(code: str) -> float:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(FUNCTION_DIR), str(ROOT / "shared")])
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=FUNCTION_DIR, env=env, check=True)
    return time.perf_counter() - started


def cold_import_ratio() -> float:
    _wall_time("import handler")  # compile .pyc once, as a deployed package ships them
    handler_times, baseline_times = [], []
    for _ in range(RUNS):
        handler_times.append(_wall_time("import handler"))
        baseline_times.append(_wall_time(_BASELINE))
    return round(statistics.median(handler_times) / statistics.median(baseline_times), 2)


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
    return {"cold_import_ratio.invoice_api": cold_import_ratio(), **route_calls()}


if __name__ == "__main__":
    print(run())
