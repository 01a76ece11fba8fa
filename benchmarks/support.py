"""Shared set-up for benchmarks: moto in-process, resources from template.yaml, a call counter."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_REGION": "ap-south-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "InvoicingBench",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import botocore.client

calls: Counter[str] = Counter()
_original = botocore.client.BaseClient._make_api_call


def _counting(self, operation_name, api_params):  # type: ignore[no-untyped-def]
    calls[f"{self.meta.service_model.service_name}.{operation_name}"] += 1
    return _original(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _counting


@contextmanager
def aws_stack() -> Iterator[dict[str, str]]:
    """The template's resources in moto and every function's environment (as the tests build them),
    with the Razorpay stand-in answering the real SDK; the functions' wiring is rebuilt for them."""
    from invoicing.wiring import common
    from tests.support.razorpay import standin_responses
    from tests.support.stack import MotoStack

    stack = MotoStack()
    previous = dict(os.environ)
    try:
        env = stack.ready()
        os.environ.update(env)
        common.reset()
        with standin_responses():
            yield env
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(previous)
        common.reset()


def create_and_issue(account_id: str, day: date, *, count: int = 1) -> list[Any]:
    """``count`` invoices created and issued through the invoice service (and the stand-in)."""
    from infra.demo import draft_fields
    from invoicing.wiring.api import invoice_service

    service = invoice_service()
    drafts = [service.create(account_id=account_id, fields=draft_fields(day)) for _ in range(count)]
    return [service.issue(draft.id) for draft in drafts]


def dynamodb_calls() -> int:
    return sum(n for name, n in calls.items() if name.startswith("dynamodb."))
