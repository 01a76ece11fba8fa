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
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import boto3  # noqa: E402
import botocore.client  # noqa: E402
import pytest  # noqa: E402

from infra import moto_speed  # noqa: E402
from infra.cfn import function_environment, load_template  # noqa: E402

if TYPE_CHECKING:
    from tests.support.stack import Invoices, MotoStack

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)  # 12:00 IST, financial year 2026-27


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
    if service == "sesv2" and operation_name == "SendEmail":
        from tests.support.stack import SENT_EMAILS

        SENT_EMAILS.append(api_params)
    return _original_make_api_call(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _recording_make_api_call
moto_speed.install()  # moto's DynamoDB at the cost of what a request touches (infra/moto_speed.py)


@pytest.fixture
def aws_calls() -> Iterator[AwsCalls]:
    _recorder.clear()
    yield _recorder


@pytest.fixture(scope="session")
def moto_stack() -> Iterator[MotoStack]:
    """In-process moto for this test process (started on first use, stopped at the end)."""
    from tests.support.stack import session_stack

    with session_stack() as stack:
        yield stack


@pytest.fixture
def aws(moto_stack: MotoStack) -> None:
    """moto, empty: no resource of the template (those come back with the next ``resources``)."""
    moto_stack.wipe()


@pytest.fixture
def resources(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every table, bucket, queue, bus and secret of template.yaml in moto, empty, and every
    function's environment (merged, as the local stack sets it). Created once per test process and
    emptied for each test (tests/support/stack.py)."""
    env = moto_stack.ready()
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
def repository(resources: dict[str, str]) -> Invoices:
    """The invoices in the table: read them, and arrange state without going through a function."""
    from tests.support.stack import Invoices

    return Invoices(resources["INVOICES_TABLE"])


class Clock:
    """The functions' clock in a test: starts at ``NOW`` and moves one second per reading (newest
    first needs distinct instants); ``set`` jumps."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Installed as every function's clock (``wiring.common.clock``) for the test."""
    from invoicing.wiring import common

    ticking = Clock(NOW)
    common.clock().set(ticking)
    yield ticking
    common.clock().set(lambda: datetime.now(UTC))
