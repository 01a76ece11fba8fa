"""Fixtures for the PDF renderer under moto: its handler, a Lambda context, SQS events, the bucket."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from infra.cfn import REPO_ROOT
from invoicing.domain.invoice import Invoice
from invoicing.wiring import pdf as wiring

HANDLER_PATH = REPO_ROOT / "functions" / "pdf_renderer" / "handler.py"


def load_handler() -> ModuleType:
    """functions/pdf_renderer/handler.py under a name of its own (every function's module is "handler")."""
    spec = importlib.util.spec_from_file_location("pdf_renderer_handler", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeLambdaContext:
    function_name: str = "invoicing-test-pdf-renderer"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:ap-south-1:123456789012:function:invoicing-test-pdf-renderer"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def pdf_resources(resources: dict[str, str]) -> Iterator[dict[str, str]]:
    """The stack's resources, with the renderer's cached settings and clients rebuilt for them."""
    wiring.reset()
    yield resources
    wiring.reset()


@pytest.fixture(scope="session")
def handler_module() -> ModuleType:
    return load_handler()


@pytest.fixture
def handler(handler_module: ModuleType, pdf_resources: dict[str, str]) -> ModuleType:
    """The handler module, with the stack's resources in place for it."""
    return handler_module


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def s3(pdf_resources: dict[str, str]) -> Any:
    return boto3.client("s3")


@pytest.fixture
def bucket(pdf_resources: dict[str, str]) -> str:
    return pdf_resources["PDF_BUCKET"]


@pytest.fixture
def store(repository, pdf_resources) -> Callable[[Invoice], Invoice]:  # type: ignore[no-untyped-def]
    """Put an invoice (any status) straight into the table."""

    def put(invoice: Invoice) -> Invoice:
        return repository.create(invoice)

    return put


def sqs_record(body: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "receipt-" + uuid.uuid4().hex,
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1790000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1790000000001",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ap-south-1:123456789012:invoicing-test-RenderQueue",
        "awsRegion": "ap-south-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def job(invoice: Invoice, version: int | None = None) -> dict[str, Any]:
    return {"kind": "invoice", "invoice_id": invoice.id, "version": version or invoice.version}
