"""Suite-wide fixtures.

Fake credentials and region are set before anything imports boto3. Every AWS call any test makes
goes through one recorder: a ``Scan`` fails the test on the spot, and call-count tests read the
recorder to prove how many calls an operation takes.
"""

from __future__ import annotations

import os

for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_REGION": "ap-south-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_SERVICE_NAME": "invoicing-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "InvoicingTests",
        "POWERTOOLS_DEV": "0",
    }
)

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import boto3  # noqa: E402
import botocore.client  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from infra.cfn import create_resources, function_environment, load_template  # noqa: E402

CURSOR_KEY = b"tests-cursor-signing-key-0123456789"


class ScanForbiddenError(AssertionError):
    """No code path may Scan a DynamoDB table."""


@dataclass
class AwsCalls:
    calls: list[tuple[str, str]] = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()

    def count(self, operation: str, service: str = "dynamodb") -> int:
        return sum(1 for s, op in self.calls if s == service and op == operation)

    def of(self, service: str = "dynamodb") -> list[str]:
        return [op for s, op in self.calls if s == service]


_recorder = AwsCalls()
_original_make_api_call = botocore.client.BaseClient._make_api_call


def _recording_make_api_call(self, operation_name, api_params):  # type: ignore[no-untyped-def]
    service = self.meta.service_model.service_name
    if service == "dynamodb" and operation_name == "Scan":
        raise ScanForbiddenError(f"DynamoDB Scan issued: {api_params.get('TableName')}")
    _recorder.calls.append((service, operation_name))
    return _original_make_api_call(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _recording_make_api_call


@pytest.fixture
def aws_calls() -> Iterator[AwsCalls]:
    _recorder.clear()
    yield _recorder


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def resources(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every table, bucket, queue, bus and secret of template.yaml, in moto; env set as Lambda's."""
    env = create_resources(load_template())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def function_env(resources: dict[str, str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``function_env("OverdueSweepFunction")`` sets exactly the environment Lambda gives that function."""

    def apply(function_id: str) -> dict[str, str]:
        env = function_environment(load_template(), function_id, resources)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return env

    return apply


@pytest.fixture
def dynamodb(resources: dict[str, str]):  # type: ignore[no-untyped-def]
    return boto3.client("dynamodb")


@pytest.fixture
def repository(resources: dict[str, str], dynamodb):  # type: ignore[no-untyped-def]
    from invoicing.repository.invoices import InvoiceRepository

    return InvoiceRepository(resources["INVOICES_TABLE"], dynamodb, cursor_key=CURSOR_KEY)
