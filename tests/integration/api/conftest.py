"""The invoice API under moto: ``lambda_handler`` called with real HTTP API v2 events.

Resources come from template.yaml (``resources``); the secrets get real values; Razorpay is the
in-test fake behind ``responses``; domain events go through the real EventBridge bus to an SQS
queue a test rule feeds, so tests read what was actually published.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import responses

from tests.conftest import CURSOR_KEY
from tests.events.http import OPERATOR, customer, http_event
from tests.integration.api.fake_razorpay import BASE_URL, KEY_ID, KEY_SECRET, FakeRazorpay

HANDLER_PATH = Path(__file__).resolve().parents[3] / "functions" / "invoice_api" / "handler.py"
NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)  # 12:00 IST, financial year 2026-27


def load_handler() -> Any:
    """functions/invoice_api/handler.py under its own module name (every function's file is handler.py)."""
    name = "invoice_api_handler"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HANDLER_PATH)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes Powertools reads)."""

    function_name: str = "invoicing-dev-invoice-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:ap-south-1:123456789012:function:invoicing-dev-invoice-api"
    log_group_name: str = "/aws/lambda/invoicing-dev-invoice-api"
    log_stream_name: str = "2026/10/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def error(self) -> dict[str, Any]:
        body = self.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
        return body["error"]


class Api:
    """Calls ``lambda_handler`` the way API Gateway would."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.last_context: LambdaContext | None = None
        self.last_event: dict[str, Any] | None = None

    def call(
        self,
        method: str,
        path: str,
        *,
        claims: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        event = http_event(method, path, claims=claims, body=body, headers=headers, query=query)
        self.last_context, self.last_event = LambdaContext(), event
        result = self.handler.lambda_handler(event, self.last_context)
        assert set(result) >= {"statusCode", "body", "headers"}, result
        return Reply(status=result["statusCode"], headers=result["headers"], text=result["body"])

    # the operator's and customers' shorthands
    def operator(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=OPERATOR, **kwargs)

    def customer(self, account_id: str, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=customer(account_id), **kwargs)

    # building state through the API itself
    def create(self, account_id: str = "acc_1", **overrides: Any) -> dict[str, Any]:
        reply = self.operator("POST", "/invoices", body=create_body(account_id, **overrides))
        assert reply.status == 201, reply.text
        return reply.json()

    def issued(self, account_id: str = "acc_1", **overrides: Any) -> dict[str, Any]:
        draft = self.create(account_id, **overrides)
        reply = self.operator("POST", f"/invoices/{draft['id']}/issue")
        assert reply.status == 200, reply.text
        return reply.json()


def create_body(account_id: str = "acc_1", **overrides: Any) -> dict[str, Any]:
    """A valid create body: intra-state (Maharashtra) customer, two lines (₹900 + ₹45.50)."""
    body: dict[str, Any] = {
        "account_id": account_id,
        "customer": {
            "name": "Acme Analytics LLP",
            "email": "billing@acme.example",
            "gstin": "27AAPFU0939F1ZV",
            "state_code": "27",
            "address": {
                "line1": "4th Floor, Example Towers",
                "city": "Mumbai",
                "state": "Maharashtra",
                "postal_code": "400001",
                "country": "IN",
            },
        },
        "billing_period": {"start": "2026-09-01", "end": "2026-09-30"},
        "line_items": [
            {
                "resource_type": "vm",
                "resource_name": "vm-web-1",
                "description": "General purpose VM",
                "usage_start": "2026-09-01T00:00:00Z",
                "usage_end": "2026-09-30T18:29:00Z",
                "quantity": "720",
                "unit": "hour",
                "unit_rate": "1.25",
            },
            {
                "resource_type": "storage",
                "resource_name": "vol-data",
                "usage_start": "2026-09-01T00:00:00+05:30",
                "usage_end": "2026-09-30T23:59:00+05:30",
                "quantity": "0.5",
                "unit": "TB-month",
                "unit_rate": "91",
            },
        ],
        "description": "Cloud usage September 2026",
    }
    return body | overrides


class Clock:
    """The handler's clock: starts at ``NOW`` and moves one second per reading (newest-first
    ordering needs distinct instants); ``set`` jumps."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def handler() -> Any:
    return load_handler()


@pytest.fixture
def razorpay() -> Iterator[FakeRazorpay]:
    fake = FakeRazorpay()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake


@pytest.fixture
def api(
    resources: dict[str, str],
    razorpay: FakeRazorpay,
    handler: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Api]:
    from invoicing.wiring import api as wiring

    secrets = boto3.client("secretsmanager")
    secrets.put_secret_value(
        SecretId=resources["RAZORPAY_SECRET_NAME"],
        SecretString=json.dumps(
            {
                "key_id": KEY_ID,
                "key_secret": KEY_SECRET,
                "webhook_secret": "whsec",
                "previous_webhook_secret": "",
            }
        ),
    )
    secrets.put_secret_value(SecretId=resources["CURSOR_SECRET_NAME"], SecretString=CURSOR_KEY.decode())
    monkeypatch.setenv("RAZORPAY_BASE_URL", BASE_URL)
    monkeypatch.setenv("RAZORPAY_TIMEOUT_SECONDS", "2")
    monkeypatch.setattr(handler, "now", clock)
    # The service (and its boto3 clients, whose service models take ~1 s to load) is kept from one
    # test to the next while the environment is the same: resource names are deterministic, moto
    # intercepts clients made earlier, and each test's resources start empty.
    global _built_for
    environment = (tuple(sorted(resources.items())), BASE_URL, KEY_ID)
    if _built_for != environment:
        wiring.reset()
        _built_for = environment
    yield Api(handler)


_built_for: tuple | None = None


@pytest.fixture
def domain_events(resources: dict[str, str]) -> Any:
    """Every domain event published on the bus, read back through a rule → SQS queue."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="domain-events-under-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = resources["EVENT_BUS_NAME"]
    events.put_rule(
        Name="all-invoicing", EventBusName=bus, EventPattern=json.dumps({"source": ["invoicing"]})
    )
    events.put_targets(Rule="all-invoicing", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])

    def drain() -> list[dict[str, Any]]:
        received = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    return drain
