"""The PDF renderer under moto: its handler module with the one Lambda context, fed SQS events
(``pdf``), what its tests arrange (invoices, download jobs) and read (items, the bucket)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from infra.local.events import sqs_event as lambda_sqs_event
from infra.local.functions import LambdaContext
from invoicing.domain.documents import Download, DownloadStatus, export_key
from invoicing.domain.invoice import Invoice
from invoicing.repository.downloads import DynamoDownloadStore
from invoicing.wiring import pdf as wiring
from tests.support.functions import RENDERER, Functions
from tests.support.stack import Invoices
from tests.unit.factories import NOW

QUEUE_ARN = "arn:aws:sqs:ap-south-1:123456789012:invoicing-local-RenderQueue"


@pytest.fixture
def s3(resources: dict[str, str]) -> Any:
    return boto3.client("s3")


@pytest.fixture
def bucket(resources: dict[str, str]) -> str:
    return resources["PDF_BUCKET"]


@dataclass
class PdfFunction:
    """functions/pdf_renderer/handler.py, loaded as the local stack loads it, and its table and bucket."""

    handler: ModuleType
    context: LambdaContext
    repository: Invoices
    s3: Any
    bucket: str

    def __call__(self, *records: dict[str, Any]) -> dict[str, Any]:
        """``lambda_handler`` with an SQS event of ``records`` (it raises when every record failed)."""
        response: dict[str, Any] = self.handler.lambda_handler(sqs_event(*records), self.context)
        return response

    def store(self, invoice: Invoice) -> Invoice:
        """Put an invoice (any status) straight into the table."""
        return self.repository.put(invoice)

    @property
    def downloads(self) -> DynamoDownloadStore:
        return DynamoDownloadStore(self.repository.table)

    def new_download(self, *invoices: Invoice, download_id: str = "dl_Test0000000001") -> Download:
        """A pending download job of ``invoices``, stored as ``POST /invoices/downloads`` stores it."""
        account = invoices[0].account_id
        return self.downloads.create(
            Download(
                id=download_id,
                account_id=account,
                invoice_ids=tuple(invoice.id for invoice in invoices),
                status=DownloadStatus.PENDING,
                key=export_key(account, download_id),
                created_at=NOW,
                expires_at=NOW + timedelta(days=7),
            )
        )

    def item(self, key: dict[str, Any]) -> dict[str, Any]:
        """The table's item at ``key`` as stored ({} when there is none)."""
        return self.repository.table.get(key) or {}

    def read(self, key: str, **options: Any) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key, **options)["Body"].read()
        return body

    def keys(self, prefix: str = "") -> list[str]:
        """The bucket's object keys under ``prefix``."""
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [entry["Key"] for entry in listed.get("Contents", [])]

    def open_uploads(self) -> list[dict[str, Any]]:
        uploads: list[dict[str, Any]] = self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        return uploads


@pytest.fixture
def pdf(functions: Functions, repository: Invoices, s3: Any, bucket: str) -> PdfFunction:
    return PdfFunction(
        functions.module(RENDERER), LambdaContext(functions.function(RENDERER).spec), repository, s3, bucket
    )


@pytest.fixture
def stand_in_pdfs(pdf: PdfFunction, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's renderer answers a small stand-in PDF naming the invoice and version, for tests
    of what happens around a render (calls, batches, uploads) rather than of the PDF (~0.1 s each)."""
    renderer = wiring.renderer(pdf.handler.ASSETS)
    monkeypatch.setattr(
        renderer, "render", lambda invoice: f"%PDF-1.4 {invoice.id} v{invoice.version}".encode()
    )


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


def download_job(download: Download) -> dict[str, Any]:
    return sqs_record({"kind": "download", "download_id": download.id}, message_id="msg-dl")
