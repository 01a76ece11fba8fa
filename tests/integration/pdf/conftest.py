"""The PDF renderer under moto: its handler module, the one Lambda context, SQS events, the bucket."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest

from infra.local.events import sqs_event as lambda_sqs_event
from infra.local.functions import LambdaContext
from invoicing.domain.invoice import Invoice
from invoicing.repository.downloads import DynamoDownloadStore
from tests.support.functions import RENDERER, Functions

QUEUE_ARN = "arn:aws:sqs:ap-south-1:123456789012:invoicing-local-RenderQueue"


@pytest.fixture
def pdf_resources(resources: dict[str, str]) -> dict[str, str]:
    return resources


@pytest.fixture
def handler(functions: Functions) -> ModuleType:
    """functions/pdf_renderer/handler.py, loaded as the local stack loads it."""
    return functions.module(RENDERER)


@pytest.fixture
def context(functions: Functions) -> LambdaContext:
    return LambdaContext(functions.function(RENDERER).spec)


@pytest.fixture
def s3(resources: dict[str, str]) -> Any:
    return boto3.client("s3")


@pytest.fixture
def bucket(resources: dict[str, str]) -> str:
    return resources["PDF_BUCKET"]


@pytest.fixture
def store(repository: Any) -> Callable[[Invoice], Invoice]:
    """Put an invoice (any status) straight into the table."""
    return repository.put


@pytest.fixture
def downloads(repository: Any) -> DynamoDownloadStore:
    return DynamoDownloadStore(repository.table)


def sqs_record(body: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    """One message as ``ReceiveMessage`` answers it (``sqs_event`` turns them into the Lambda event)."""
    return {
        "MessageId": message_id or str(uuid.uuid4()),
        "ReceiptHandle": "receipt-" + uuid.uuid4().hex,
        "Body": body if isinstance(body, str) else json.dumps(body),
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return lambda_sqs_event(records, queue_arn=QUEUE_ARN)


def job(invoice: Invoice, version: int | None = None) -> dict[str, Any]:
    return {"kind": "invoice", "document_id": invoice.id, "version": version or invoice.version}
