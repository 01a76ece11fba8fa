"""GET /invoices/export.csv inline or by 303, and render jobs that end in the dead-letter queue, through
the handlers under moto."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from invoicing.contracts.messages import DownloadJob, render_message
from invoicing.domain.documents import Download, DownloadStatus
from invoicing.repository.downloads import DynamoDownloadStore
from tests.integration.statements.conftest import NOW, Stack
from tests.integration.statements.test_statements_api import RANGE, issue


def export(stack: Stack, account: str = "acc_1") -> Any:
    return stack.customer(account, "GET", "/invoices/export.csv")


@pytest.fixture
def invoices(stack: Stack) -> Stack:
    """Three invoices of acc_1 on different days, one of acc_2 (what the export holds, and how much
    of it, is tested over the fakes in tests/services/test_exports.py)."""
    for n in range(1, 4):
        issue(stack, n, days=n)
    issue(stack, 4, "acc_2")
    return stack


def test_a_small_export_is_answered_inline(invoices: Stack) -> None:
    reply = export(invoices)

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert reply.headers["Content-Disposition"].startswith('attachment; filename="invoices-acc_1-')
    lines = reply.text.split("\r\n")
    assert lines[0].startswith("invoice_number,date,due_date,status,") and len(lines) == 1 + 3 + 1


def test_an_export_over_the_limit_answers_303_to_the_same_csv_in_the_bucket(
    invoices: Stack, monkeypatch: pytest.MonkeyPatch, aws_calls: Any, request: pytest.FixtureRequest
) -> None:
    from invoicing.wiring import api

    inline = export(invoices).text
    monkeypatch.setenv("CSV_INLINE_LIMIT_BYTES", str(len(inline) // 2))
    api.reset()
    request.addfinalizer(api.reset)  # the next test reads the limit from its own environment

    aws_calls.clear()
    reply = export(invoices)

    assert reply.status == 303, reply.text
    assert aws_calls.of("s3") == ["PutObject"]  # a small object: one PUT, no multipart parts
    location = reply.headers["Location"]
    body = reply.json()
    assert body["url"] == location and body["filename"].startswith("invoices-acc_1-")
    assert "X-Amz-Signature" in location and "response-content-disposition=attachment" in location
    key = urlsplit(location).path.lstrip("/").removeprefix(f"{invoices.env['PDF_BUCKET']}/")
    assert key.startswith("exports/acc_1/csv_") and key.endswith(".csv")
    stored = boto3.client("s3").get_object(Bucket=invoices.env["PDF_BUCKET"], Key=key)
    assert stored["Body"].read().decode() == inline
    assert stored["ContentType"] == "text/csv"


def test_a_customer_cannot_export_another_account(stack: Stack) -> None:
    reply = stack.customer("acc_2", "GET", "/invoices/export.csv", query={"account_id": "acc_1"})
    assert reply.status == 403


# ------------------------------------------------------------------------------------ dead letters
def fail_five_times(stack: Stack) -> None:
    """Five receives that never delete (the renderer failing each time): SQS moves it to the DLQ."""
    sqs = boto3.client("sqs")
    url = stack.queue_url("RenderQueue")
    for _ in range(10):
        messages = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, MaxNumberOfMessages=10)
        if not messages.get("Messages"):
            return
    raise AssertionError("the render queue never gave up on its message")


def test_a_statement_whose_job_lands_in_the_dead_letter_queue_is_failed(stack: Stack) -> None:
    issue(stack, 1)
    accepted = stack.customer("acc_1", "POST", "/statements", body={"account_id": "acc_1", **RANGE})
    statement_id = accepted.json()["id"]

    fail_five_times(stack)
    assert stack.deliver("RenderDeadLetterQueue", "RenderDeadLetterFunction") == {"batchItemFailures": []}

    body = stack.customer("acc_1", "GET", f"/statements/{statement_id}").json()
    assert body["status"] == "failed" and body["pdf_url"] is None


def test_a_download_whose_job_lands_in_the_dead_letter_queue_is_failed_and_a_done_one_is_kept(
    stack: Stack,
) -> None:
    invoice = issue(stack, 1)
    downloads = DynamoDownloadStore(stack.table)
    for download_id, status in (
        ("dl_Stuck0000001", DownloadStatus.PENDING),
        ("dl_Ready0000001", DownloadStatus.READY),
    ):
        downloads.create(
            Download(
                download_id,
                "acc_1",
                (invoice.id,),
                status,
                f"exports/acc_1/{download_id}.zip",
                NOW,
                NOW + timedelta(days=7),
            )
        )
    sqs = boto3.client("sqs")
    dead = stack.queue_url("RenderDeadLetterQueue")
    for download_id in ("dl_Stuck0000001", "dl_Ready0000001"):
        sqs.send_message(QueueUrl=dead, MessageBody=render_message(DownloadJob(download_id=download_id)))
    sqs.send_message(QueueUrl=dead, MessageBody=json.dumps({"kind": "no-such-job"}))

    assert stack.deliver("RenderDeadLetterQueue", "RenderDeadLetterFunction") == {"batchItemFailures": []}

    stuck = stack.customer("acc_1", "GET", "/invoices/downloads/dl_Stuck0000001").json()
    ready = stack.customer("acc_1", "GET", "/invoices/downloads/dl_Ready0000001").json()
    assert (stuck["status"], ready["status"]) == ("failed", "ready")
    assert sqs.receive_message(QueueUrl=dead).get("Messages") is None  # all taken, none left to retry
