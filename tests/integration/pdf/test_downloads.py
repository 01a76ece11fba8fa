"""functions/pdf_renderer's download path under moto: a stored job in, a ZIP streamed to S3 out."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from pypdf import PdfReader

from invoicing.adapters.storage import MIN_PART_BYTES
from invoicing.domain.documents import Download, DownloadStatus, export_key, pdf_key
from invoicing.repository.documents import render_key
from invoicing.repository.downloads import DynamoDownloadStore, download_key
from invoicing.repository.table import deserialize, serialize
from invoicing.wiring import common
from invoicing.wiring import pdf as wiring
from tests.integration.pdf.conftest import job, sqs_event, sqs_record
from tests.unit.factories import NOW, draft, issued


def new_download(
    downloads: DynamoDownloadStore, *invoices, download_id: str = "dl_Test0000000001"
) -> Download:
    account = invoices[0].account_id
    return downloads.create(
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


def download_job(download: Download) -> dict:
    return sqs_event(sqs_record({"kind": "download", "download_id": download.id}, message_id="msg-dl"))


def stored(dynamodb, pdf_resources, download: Download) -> dict:
    key = serialize(download_key(download.id))
    return deserialize(dynamodb.get_item(TableName=pdf_resources["INVOICES_TABLE"], Key=key)["Item"])


def test_a_download_job_streams_a_zip_of_every_invoice_and_turns_ready(
    handler, context, store, s3, bucket, downloads, dynamodb, pdf_resources, aws_calls
):
    # Given two invoices, the first already rendered
    first = store(issued(invoice_number="INV/2627/000041"))
    second = store(issued(invoice_number="INV/2627/000042"))
    handler.lambda_handler(sqs_event(sqs_record(job(first))), context)
    download = new_download(downloads, first, second)
    aws_calls.clear()

    # When
    response = handler.lambda_handler(download_job(download), context)
    s3_calls = aws_calls.of("s3")

    # Then the ZIP is at exports/{account}/{id}.zip, one PDF per invoice named by number
    assert response == {"batchItemFailures": []}
    head = s3.head_object(Bucket=bucket, Key=f"exports/acc_1/{download.id}.zip")
    assert head["ContentType"] == "application/zip"
    assert head["ServerSideEncryption"] == "AES256"
    body = s3.get_object(Bucket=bucket, Key=download.key)["Body"].read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert archive.namelist() == ["INV-2627-000041.pdf", "INV-2627-000042.pdf"]
    for name, number in (
        ("INV-2627-000041.pdf", "INV/2627/000041"),
        ("INV-2627-000042.pdf", "INV/2627/000042"),
    ):
        pdf = archive.read(name)
        assert pdf.startswith(b"%PDF-")
        assert number in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    # the stored PDF was copied (read from S3), the missing one rendered, stored and recorded
    assert s3_calls == ["GetObject", "PutObject", "PutObject"]  # copy one; store one; the ZIP
    assert (
        archive.read("INV-2627-000041.pdf") == s3.get_object(Bucket=bucket, Key=pdf_key(first))["Body"].read()
    )
    assert (
        archive.read("INV-2627-000042.pdf")
        == s3.get_object(Bucket=bucket, Key=pdf_key(second))["Body"].read()
    )
    assert (
        deserialize(
            dynamodb.get_item(
                TableName=pdf_resources["INVOICES_TABLE"],
                Key=serialize(render_key(second.id)),
            )["Item"]
        )["pdf_version"]
        == second.version
    )
    # and the job is ready
    assert downloads.get(download.id).status is DownloadStatus.READY


def test_a_repeated_download_job_does_nothing_more(handler, context, store, s3, bucket, downloads, aws_calls):
    invoice = store(issued())
    download = new_download(downloads, invoice)
    handler.lambda_handler(download_job(download), context)
    aws_calls.clear()

    response = handler.lambda_handler(download_job(download), context)

    assert response == {"batchItemFailures": []}
    assert aws_calls.of("s3") == []
    assert aws_calls.of("dynamodb") == ["GetItem"]
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=download.key)["Versions"]) == 1


@pytest.mark.parametrize("problem", ["deleted", "draft", "another_account"])
def test_an_invoice_that_can_no_longer_be_downloaded_fails_the_job_for_good(
    handler, context, store, s3, bucket, downloads, repository, dynamodb, pdf_resources, problem
):
    # Given a job whose second invoice went away (or never could be in it)
    good = store(issued())
    if problem == "deleted":
        bad = store(draft())
        repository.delete_draft(bad)
    elif problem == "draft":
        bad = store(draft())
    else:
        bad = store(issued(account_id="acc_2"))
    download = new_download(downloads, good, bad)

    # When
    response = handler.lambda_handler(download_job(download), context)

    # Then the message is done with (no retry), the job failed, and no ZIP is visible
    assert response == {"batchItemFailures": []}
    item = stored(dynamodb, pdf_resources, download)
    assert item["status"] == "failed"
    assert bad.id in item["failure_reason"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="exports/")


def test_a_transient_failure_aborts_the_upload_and_retries_the_job(
    handler, context, store, s3, bucket, downloads, monkeypatch
):
    # Given S3 failing while the ZIP is written (after the first PDF)
    first, second = store(issued()), store(issued(invoice_number="INV/2627/000043"))
    handler.lambda_handler(sqs_event(sqs_record(job(first)), sqs_record(job(second))), context)
    download = new_download(downloads, first, second)
    storage = common.storage(bucket)
    real_stream = storage.stream
    calls = []

    def flaky(key: str, **kwargs):
        calls.append(key)
        if len(calls) == 2:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "GetObject")
        return real_stream(key, **kwargs)

    monkeypatch.setattr(storage, "stream", flaky)

    # When (the only record of the batch fails: the whole invocation fails, and SQS retries it)
    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(download_job(download), context)

    # Then nothing is visible at the key, no upload is left open, and the job is still pending
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="exports/")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert downloads.get(download.id).status is DownloadStatus.PENDING

    # and the retry succeeds
    monkeypatch.setattr(storage, "stream", real_stream)
    assert handler.lambda_handler(download_job(download), context) == {"batchItemFailures": []}
    assert downloads.get(download.id).status is DownloadStatus.READY


def test_a_large_zip_goes_up_in_parts_without_holding_the_whole_archive(
    handler, context, store, s3, bucket, downloads, monkeypatch, aws_calls
):
    # Given PDFs that add up to more than one part (a 5 MiB part: S3's minimum)
    storage = common.storage(bucket)
    real_upload = storage.upload_stream
    monkeypatch.setattr(
        storage, "upload_stream", lambda key, **kwargs: real_upload(key, part_bytes=MIN_PART_BYTES, **kwargs)
    )
    invoices = [store(issued(invoice_number=f"INV/2627/{n:06d}")) for n in range(1, 4)]
    renderer = wiring.renderer(handler.ASSETS)
    real_render = renderer.render
    # 2 MiB of noise each (deflate cannot shrink it) after the real PDF's bytes
    monkeypatch.setattr(
        renderer, "render", lambda invoice: real_render(invoice) + b"\n%" + os.urandom(2 << 20)
    )
    download = new_download(downloads, *invoices)
    aws_calls.clear()

    response = handler.lambda_handler(download_job(download), context)

    assert response == {"batchItemFailures": []}
    s3_calls = aws_calls.of("s3")
    assert s3_calls.count("UploadPart") == 2
    assert s3_calls.count("CompleteMultipartUpload") == 1
    archive = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=download.key)["Body"].read()))
    assert archive.testzip() is None
    assert len(archive.namelist()) == 3


def test_a_malformed_download_job_fails_its_record(handler, context):
    body = '{"kind": "download", "download_id": "dl_1", "extra": 1}'

    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(sqs_event(sqs_record(body, message_id="m-bad")), context)
