"""Billing figures: usage ingestion through the API handler, and one account of a billing run.

The account has 20 resources metered every hour of a 30-day month: 20 × 720 = 14,400 records,
posted through ``functions/invoice_api`` as 500-record batches (29 calls), then billed by
``functions/billing_run`` from its SQS event (one ``bill`` message), with Razorpay the local
stand-in behind ``responses``.

- ``billing_run.dynamodb_calls_per_account`` = 15: DynamoDB calls to bill that account (20 lines),
  from the SQS message to the run's end. They grow with the number of lines, never with the records
  (``tests/integration/billing/test_billing_scale.py`` proves the same calls for 2 and 12 records per
  line): ``GetItem`` profile and claim, one ``Query`` of the account's months, one ``Query`` of the
  month's line totals (a page per MB: about 2,000 lines), one ``TransactWriteItems`` for the draft,
  its claim and the month's next generation; the issue (``GetItem`` the invoice and the counter, a
  transaction linking Razorpay's invoice, ``GetItem`` the counter and the account's ledger head, a
  transaction issuing it); ``UpdateItem`` settling the claim; one transaction counting the outcome;
  ``GetItem`` the run — and, because this account is the run's last, one transaction finishing it
  (14 for every other account).
- ``billing_run.own_ms_per_account``: the same message's wall time minus the time inside AWS calls
  (moto) and Razorpay calls (the stand-in): our code, pydantic, Powertools and botocore's request
  building.
- ``usage.ingest_records_per_s``: records per second through the handler, 500 per call, over the
  whole month (moto's time included: an upper bound dominated by the emulator);
  ``usage.ingest_own_records_per_s`` counts only the time outside AWS calls.
- ``usage.dynamodb_calls_per_500_records`` = 14 for the second batch: the rate card ``Query``,
  ``BatchGetItem`` ×5 for the record ids, one for the months, one for the line totals, and
  transactions of at most 100 items (records + the line totals they touch + the month): 6 here,
  where a batch touches 2 lines (97 records a commit); 7 when it touches 20.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import support

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "acc_bench"
BILLING = "BillingRunFunction"
RESOURCES = 20
HOURS = 720  # November 2026 has 30 days
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)

_in_aws = [0.0]
_in_razorpay = [0.0]


def _time_calls() -> None:
    import botocore.client
    import requests

    counted = botocore.client.BaseClient._make_api_call

    def timed(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return counted(self, operation_name, api_params)
        finally:
            _in_aws[0] += time.perf_counter() - started

    botocore.client.BaseClient._make_api_call = timed
    send = requests.Session.send

    def timed_send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            _in_razorpay[0] += time.perf_counter() - started

    requests.Session.send = timed_send  # type: ignore[method-assign]


def _records() -> list[dict[str, str]]:
    from invoicing.domain.numbering import IST

    begin = datetime(2026, 11, 1, tzinfo=IST)
    return [
        {
            "id": f"pod-{r:02d}-{h:03d}",
            "account_id": ACCOUNT,
            "sku": "gpu.h100.hour",
            "resource_id": f"pod-{r:02d}",
            "resource_name": f"train-{r:02d}",
            "quantity": "1",
            "start": (begin + timedelta(hours=h)).isoformat(),
            "end": (begin + timedelta(hours=h + 1)).isoformat(),
        }
        for r in range(RESOURCES)
        for h in range(HOURS)
    ]


def run() -> dict[str, float]:
    from infra import moto_speed

    moto_speed.install()
    _time_calls()
    figures: dict[str, float] = {}
    with support.aws_stack() as env:
        import logging

        import boto3

        from infra.cfn import function_environment, load_template
        from infra.local.events import sqs_event
        from tests.events.http import OPERATOR, http_event
        from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, standin_responses

        template = load_template()
        for function in ("InvoiceApiFunction", "BillingRunFunction"):
            env.update(function_environment(template, function, env))
        import os

        os.environ.update(env)
        os.environ.pop("RAZORPAY_BASE_URL", None)
        boto3.client("secretsmanager").put_secret_value(
            SecretId=env["RAZORPAY_SECRET_NAME"],
            SecretString=json.dumps(
                {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET}
            ),
        )
        from invoicing.wiring import api, billing, common

        api.reset()
        billing.reset()
        common.clock().set(lambda: NOW)
        from tests.support.functions import API, functions

        lambdas = functions()  # the template's functions, loaded and invoked as the local stack does
        for function_id in (API, BILLING):
            logging.getLogger(lambdas.module(function_id).logger.service).setLevel(logging.WARNING)

        def call(method: str, path: str, body: Any, claims: dict[str, str]) -> dict[str, Any]:
            with contextlib.redirect_stdout(io.StringIO()):
                result = lambdas.invoke(API, http_event(method, path, claims=claims, body=body))
            assert result["statusCode"] in (200, 202), result["body"]
            return json.loads(result["body"])

        with standin_responses():
            price = {"description": "NVIDIA H100 GPU", "resource_type": "pod", "unit": "GPU-hour"}
            call(
                "PUT",
                "/prices/gpu.h100.hour",
                price | {"unit_rate": "389", "effective_from": "2026-10-01"},
                OPERATOR,
            )
            profile = {
                "customer": {
                    "name": "Vyom Analytics LLP",
                    "email": "accounts@vyom.example",
                    "gstin": "27AAPFU0939F1ZV",
                    "state_code": "27",
                    "address": {
                        "line1": "12 FC Road",
                        "city": "Pune",
                        "state": "Maharashtra",
                        "postal_code": "411004",
                    },
                },
                "billing_model": "postpaid",
            }
            call("PUT", f"/accounts/{ACCOUNT}/billing-profile", profile, OPERATOR)

            metering = {"sub": "metering", "scope": "usage:write"}
            records = _records()
            aws_before, started = _in_aws[0], time.perf_counter()
            for n, start in enumerate(range(0, len(records), 500)):
                calls_before = support.dynamodb_calls()
                answer = call("POST", "/usage", {"records": records[start : start + 500]}, metering)
                assert answer["accepted"] == len(records[start : start + 500]), answer
                if n == 1:
                    figures["usage.dynamodb_calls_per_500_records"] = support.dynamodb_calls() - calls_before
            elapsed = time.perf_counter() - started
            own = elapsed - (_in_aws[0] - aws_before)
            figures["usage.ingest_records_per_s"] = round(len(records) / elapsed, 1)
            figures["usage.ingest_own_records_per_s"] = round(len(records) / own, 1)

            service = billing.run_service()
            run = service.request("2026-11", [ACCOUNT])
            service.plan(run.id)
            sqs = boto3.client("sqs")
            queue = env["BILLING_QUEUE_URL"]
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])[
                "Messages"
            ]
            bill = [m for m in messages if '"bill"' in m["Body"]]
            event = sqs_event(bill, queue_arn="arn:aws:sqs:ap-south-1:123456789012:billing")
            calls_before, aws_before, rzp_before = support.dynamodb_calls(), _in_aws[0], _in_razorpay[0]
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                result = lambdas.invoke(BILLING, event)
            elapsed = time.perf_counter() - started
            assert result == {"batchItemFailures": []}, result
            figures["billing_run.dynamodb_calls_per_account"] = support.dynamodb_calls() - calls_before
            outside = (_in_aws[0] - aws_before) + (_in_razorpay[0] - rzp_before)
            figures["billing_run.own_ms_per_account"] = round((elapsed - outside) * 1000, 1)
            done = service.store.run(run.id)
            assert done.invoices_created == 1, done
            summary = billing.billing_service().summary(
                __import__("invoicing.domain.access", fromlist=["Caller"]).Caller(None, is_operator=True),
                "2026-11",
                ACCOUNT,
            )
            assert len(summary.lines) == RESOURCES and summary.records == RESOURCES * HOURS
        common.clock().set(lambda: datetime.now(UTC))
        api.reset()
        billing.reset()
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
