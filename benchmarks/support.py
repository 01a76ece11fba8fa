"""Shared set-up for benchmarks: moto in-process, resources from template.yaml, a call counter."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_REGION": "ap-south-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import botocore.client
from moto import mock_aws

from infra.cfn import create_resources, load_template

calls: Counter[str] = Counter()
_original = botocore.client.BaseClient._make_api_call


def _counting(self, operation_name, api_params):  # type: ignore[no-untyped-def]
    calls[f"{self.meta.service_model.service_name}.{operation_name}"] += 1
    return _original(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _counting


@contextmanager
def aws_stack() -> Iterator[dict[str, str]]:
    with mock_aws():
        env = create_resources(load_template())
        os.environ.update(env)
        yield env


def dynamodb_calls() -> int:
    return sum(n for name, n in calls.items() if name.startswith("dynamodb."))
