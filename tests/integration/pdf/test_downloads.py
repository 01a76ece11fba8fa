"""functions/pdf_renderer's download path under moto: a stored job in, a ZIP streamed to S3 out.

Tests of what happens around the PDFs (a repeated job, a failed one, an aborted or multipart upload)
render stand-in PDFs (``stand_in_pdfs``). Which invoices fail a job is tests/services/test_documents.py.
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from pypdf import PdfReader

from invoicing.adapters.storage import MIN_PART_BYTES
from invoicing.domain.documents import DownloadStatus, pdf_key
from invoicing.repository.documents import render_key
from invoicing.repository.downloads import download_key
from invoicing.wiring import common
from invoicing.wiring import pdf as wiring
from tests.conftest import AwsCalls
from tests.integration.pdf.conftest import PdfFunction, download_job, job, sqs_record
from tests.unit.factories import draft, issued


def test_a_download_job_streams_a_zip_of_every_invoice_and_turns_ready(
    pdf: PdfFunction, aws_calls: AwsCalls
) -> None:
    # Given two invoices, the first already rendered
    first = pdf.store(issued(invoice_number="INV/2627/000041"))
    second = pdf.store(issued(invoice_number="INV/2627/000042"))
    pdf(sqs_record(job(first)))
    download = pdf.new_download(first, second)
    aws_calls.clear()

    # When
    response = pdf(download_job(download))
    s3_calls = aws_calls.of("s3")

    # Then the ZIP is at exports/{account}/{id}.zip, one PDF per invoice named by number
    assert response == {"batchItemFailures": []}
    head = pdf.s3.head_object(Bucket=pdf.bucket, Key=f"exports/acc_1/{download.id}.zip")
    assert head["ContentType"] == "application/zip"
    assert head["ServerSideEncryption"] == "AES256"
    archive = zipfile.ZipFile(io.BytesIO(pdf.read(download.key)))
    assert archive.testzip() is None
    assert archive.namelist() == ["INV-2627-000041.pdf", "INV-2627-000042.pdf"]
    for name, number in (
        ("INV-2627-000041.pdf", "INV/2627/000041"),
        ("INV-2627-000042.pdf", "INV/2627/000042"),
    ):
        body = archive.read(name)
        assert body.startswith(b"%PDF-")
        assert number in PdfReader(io.BytesIO(body)).pages[0].extract_text()
    # the stored PDF was copied (read from S3), the missing one rendered, stored and recorded
    assert s3_calls == ["GetObject", "PutObject", "PutObject"]  # copy one; store one; the ZIP
    assert archive.read("INV-2627-000041.pdf") == pdf.read(pdf_key(first))
    assert archive.read("INV-2627-000042.pdf") == pdf.read(pdf_key(second))
    assert pdf.item(render_key(second.id))["pdf_version"] == second.version
    # and the job is ready
    assert pdf.downloads.get(download.id).status is DownloadStatus.READY


def test_a_repeated_download_job_does_nothing_more(
    pdf: PdfFunction, aws_calls: AwsCalls, stand_in_pdfs: None
) -> None:
    download = pdf.new_download(pdf.store(issued()))
    pdf(download_job(download))
    aws_calls.clear()

    response = pdf(download_job(download))

    assert response == {"batchItemFailures": []}
    assert aws_calls.of("s3") == []
    assert aws_calls.of("dynamodb") == ["GetItem"]
    assert len(pdf.s3.list_object_versions(Bucket=pdf.bucket, Prefix=download.key)["Versions"]) == 1


def test_an_invoice_that_can_no_longer_be_downloaded_fails_the_job_for_good(
    pdf: PdfFunction, stand_in_pdfs: None
) -> None:
    # (a draft or another account's invoice in the job fails it alike: tests/services/test_documents.py)
    # Given a job whose second invoice went away
    good = pdf.store(issued())
    bad = pdf.store(draft())
    pdf.repository.delete_draft(bad)
    download = pdf.new_download(good, bad)

    # When
    response = pdf(download_job(download))

    # Then the message is done with (no retry), the job failed, and no ZIP is visible
    assert response == {"batchItemFailures": []}
    item = pdf.item(download_key(download.id))
    assert item["status"] == "failed"
    assert bad.id in item["failure_reason"]
    assert pdf.keys("exports/") == [] and pdf.open_uploads() == []


def test_a_transient_failure_aborts_the_upload_and_retries_the_job(
    pdf: PdfFunction, monkeypatch: pytest.MonkeyPatch, stand_in_pdfs: None
) -> None:
    # Given S3 failing while the ZIP is written (after the first PDF)
    first, second = pdf.store(issued()), pdf.store(issued(invoice_number="INV/2627/000043"))
    pdf(sqs_record(job(first)), sqs_record(job(second)))
    download = pdf.new_download(first, second)
    storage = common.storage(pdf.bucket)
    real_stream = storage.stream
    calls: list[str] = []

    def flaky(key: str, **kwargs: Any) -> Any:
        calls.append(key)
        if len(calls) == 2:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "GetObject")
        return real_stream(key, **kwargs)

    monkeypatch.setattr(storage, "stream", flaky)

    # When (the only record of the batch fails: the whole invocation fails, and SQS retries it)
    with pytest.raises(BatchProcessingError):
        pdf(download_job(download))

    # Then nothing is visible at the key, no upload is left open, and the job is still pending
    assert pdf.keys("exports/") == [] and pdf.open_uploads() == []
    assert pdf.downloads.get(download.id).status is DownloadStatus.PENDING

    # and the retry succeeds
    monkeypatch.setattr(storage, "stream", real_stream)
    assert pdf(download_job(download)) == {"batchItemFailures": []}
    assert pdf.downloads.get(download.id).status is DownloadStatus.READY


def test_a_large_zip_goes_up_in_parts_without_holding_the_whole_archive(
    pdf: PdfFunction, monkeypatch: pytest.MonkeyPatch, aws_calls: AwsCalls
) -> None:
    # Given PDFs that add up to more than one part (a 5 MiB part: S3's minimum)
    storage = common.storage(pdf.bucket)
    real_upload = storage.upload_stream
    monkeypatch.setattr(
        storage, "upload_stream", lambda key, **kwargs: real_upload(key, part_bytes=MIN_PART_BYTES, **kwargs)
    )
    invoices = [pdf.store(issued(invoice_number=f"INV/2627/{n:06d}")) for n in range(1, 4)]
    # 2 MiB of noise each (deflate cannot shrink it): what is tested is the upload, not the PDF
    renderer = wiring.renderer(pdf.handler.ASSETS)
    monkeypatch.setattr(renderer, "render", lambda invoice: b"%PDF-1.4\n%" + os.urandom(2 << 20))
    download = pdf.new_download(*invoices)
    aws_calls.clear()

    response = pdf(download_job(download))

    assert response == {"batchItemFailures": []}
    s3_calls = aws_calls.of("s3")
    assert s3_calls.count("UploadPart") == 2
    assert s3_calls.count("CompleteMultipartUpload") == 1
    archive = zipfile.ZipFile(io.BytesIO(pdf.read(download.key)))
    assert archive.testzip() is None
    assert len(archive.namelist()) == 3


def test_a_malformed_download_job_fails_its_record(pdf: PdfFunction) -> None:
    body = '{"kind": "download", "download_id": "dl_1", "extra": 1}'

    with pytest.raises(BatchProcessingError):
        pdf(sqs_record(body, message_id="m-bad"))
