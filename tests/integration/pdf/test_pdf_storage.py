"""The PDF bucket adapter under moto: typed, encrypted objects, short download links, streamed uploads."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from invoicing.adapters.storage import MIN_PART_BYTES, DocumentStorage


@pytest.fixture
def storage(s3, bucket) -> DocumentStorage:
    return DocumentStorage(bucket, s3)


def test_put_stores_a_private_encrypted_pdf(storage, s3, bucket):
    storage.put("pdfs/acc_1/inv_1/v2.pdf", b"%PDF-1.4 test", filename="INV-2627-000001.pdf")

    head = s3.head_object(Bucket=bucket, Key="pdfs/acc_1/inv_1/v2.pdf")
    assert head["ContentType"] == "application/pdf"
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentDisposition"] == 'inline; filename="INV-2627-000001.pdf"'


def test_download_links_expire_within_15_minutes_and_name_the_file(storage):
    now = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)
    storage.put("pdfs/acc_1/inv_1/v2.pdf", b"%PDF-1.4 test", filename="x.pdf")

    link = storage.download_link("pdfs/acc_1/inv_1/v2.pdf", filename="INV/2627/000001.pdf", now=now)

    query = parse_qs(urlsplit(link.url).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert query["response-content-disposition"] == ['attachment; filename="INV-2627-000001.pdf"']
    assert query["response-content-type"] == ["application/pdf"]
    assert link.expires_at == now + timedelta(minutes=15)
    assert link.filename == "INV-2627-000001.pdf"


def test_a_download_link_serves_the_pdf_as_an_attachment(storage):
    storage.put("pdfs/acc_1/inv_1/v2.pdf", b"%PDF-1.4 test", filename="x.pdf")
    link = storage.download_link("pdfs/acc_1/inv_1/v2.pdf", filename="INV-2627-000001.pdf", expires_in=60)

    response = requests.get(link.url, timeout=5)

    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 test"
    assert response.headers["Content-Disposition"] == 'attachment; filename="INV-2627-000001.pdf"'
    assert response.headers["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("seconds", [0, 901, 3600])
def test_longer_or_empty_links_are_refused(storage, seconds):
    with pytest.raises(ValueError, match="expires_in"):
        storage.download_link("k", filename="x.pdf", expires_in=seconds)


def test_a_streamed_upload_goes_up_in_parts_and_completes(storage, s3, bucket, aws_calls):
    payload = os.urandom(2 * MIN_PART_BYTES + 123)
    aws_calls.clear()

    with storage.upload_stream("exports/acc_1/dl_1.bin", filename="x.bin", part_bytes=MIN_PART_BYTES) as out:
        for start in range(0, len(payload), 1_000_000):
            out.write(payload[start : start + 1_000_000])

    stored = s3.get_object(Bucket=bucket, Key="exports/acc_1/dl_1.bin")
    assert stored["Body"].read() == payload
    assert stored["ContentType"] == "application/zip"
    assert aws_calls.of("s3")[:5] == [
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
    ]


def test_zipfile_can_stream_into_an_upload(storage, s3, bucket):
    upload = storage.upload_stream("exports/acc_1/dl_2.zip", filename="invoices.zip")
    with upload as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("INV-2627-000001.pdf", b"%PDF one")
        archive.writestr("INV-2627-000002.pdf", b"%PDF two")

    body = s3.get_object(Bucket=bucket, Key="exports/acc_1/dl_2.zip")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.read("INV-2627-000002.pdf") == b"%PDF two"


def test_a_failed_upload_leaves_nothing_behind(storage, s3, bucket):
    with (
        pytest.raises(RuntimeError, match="boom"),
        storage.upload_stream("exports/acc_1/dl_3.zip", filename="x.zip", part_bytes=MIN_PART_BYTES) as out,
    ):
        out.write(os.urandom(MIN_PART_BYTES + 1))
        raise RuntimeError("boom")

    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="exports/")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
