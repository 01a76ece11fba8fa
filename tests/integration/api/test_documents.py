"""Invoice documents through the API under moto: the PDF link (202 → render → 200) and bulk
downloads (job stored and queued → the renderer builds the ZIP → a link to it), the routes' refusals,
tenant isolation and what a link costs.

The invoices are written straight into the table (``seed``). When a render is requested, and what a
failed or changed version answers, is tests/services/test_documents.py over the fakes, and the render
state in DynamoDB is tests/contract/test_reads.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest
from pypdf import PdfReader

from infra.local.events import sqs_event
from invoicing.domain.invoice import Invoice
from invoicing.repository.documents import DynamoDocumentStore
from invoicing.repository.downloads import download_key
from invoicing.repository.table import deserialize, serialize
from tests.conftest import AwsCalls
from tests.integration.api.conftest import Api, Seed
from tests.support.functions import Functions
from tests.support.stack import Invoices, MotoStack
from tests.unit.factories import draft


def presigned(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}


def url_key(resources: dict[str, str], url: str) -> str:
    """The object key a presigned URL names (virtual-hosted or path style)."""
    path = unquote(urlparse(url).path).lstrip("/")
    return path.removeprefix(resources["PDF_BUCKET"] + "/")


def object_bytes(resources: dict[str, str], key: str) -> bytes:
    body: bytes = boto3.client("s3").get_object(Bucket=resources["PDF_BUCKET"], Key=key)["Body"].read()
    return body


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def file_name(invoice: Invoice) -> str:
    return str(invoice.invoice_number).replace("/", "-") + ".pdf"


# ------------------------------------------------------------------------------------------------
# GET /invoices/{id}/pdf
# ------------------------------------------------------------------------------------------------
def test_pdf_is_202_with_retry_after_until_rendered_then_a_presigned_link(
    api: Api, resources: dict[str, str], effects: MotoStack, seed: Seed
) -> None:
    # Given an issued invoice whose PDF is not rendered yet
    invoice = seed("acc_1")

    # When
    pending = api.customer("acc_1", "GET", f"/invoices/{invoice.id}/pdf")

    # Then: rendering, come back later, and a job for the current version is queued
    assert pending.status == 202
    assert pending.json() == {"status": "rendering"}
    assert int(pending.headers["Retry-After"]) > 0
    jobs = effects.render()
    assert jobs == [{"kind": "invoice", "document_id": invoice.id, "version": invoice.version}]

    # When it has been rendered
    ready = api.customer("acc_1", "GET", f"/invoices/{invoice.id}/pdf")

    # Then a presigned GET of the current version, saved under the invoice number
    assert ready.status == 200, ready.text
    body = ready.json()
    assert set(body) == {"url", "expires_at", "filename"}
    assert body["filename"] == file_name(invoice)
    query = presigned(body["url"])
    assert 0 < int(query["X-Amz-Expires"]) <= 900
    assert query["response-content-disposition"] == f'attachment; filename="{file_name(invoice)}"'
    assert query["response-content-type"] == "application/pdf"
    key = url_key(resources, body["url"])
    assert key == f"pdfs/acc_1/{invoice.id}/v{invoice.version}.pdf"
    assert str(invoice.invoice_number) in pdf_text(object_bytes(resources, key))
    assert body["expires_at"].endswith("Z")
    assert effects.new_render_jobs() == []  # nothing more to render


def test_pdf_of_a_draft_is_409_invalid_state(api: Api, repository: Invoices, effects: MotoStack) -> None:
    created = repository.create(draft())

    reply = api.operator("GET", f"/invoices/{created.id}/pdf")

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state"
    assert effects.new_render_jobs() == []


def test_a_dead_lettered_pdf_job_marks_its_version_failed_and_the_pdf_is_409_not_202_forever(
    api: Api, effects: MotoStack, functions: Functions, seed: Seed
) -> None:
    # (a version the renderer itself fails on is marked alike: tests/integration/pdf; a changed
    # invoice is rendered afresh: tests/services/test_documents.py)
    # Given a render job that SQS gave up on (five failed receives)
    invoice = seed("acc_1")
    job = {"kind": "invoice", "document_id": invoice.id, "version": invoice.version}
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": json.dumps(job)}
    event = sqs_event([message], queue_arn="arn:aws:sqs:ap-south-1:123456789012:render-dlq")

    # When the dead-letter consumer takes it
    assert functions.invoke("RenderDeadLetterFunction", event) == {"batchItemFailures": []}

    # Then the PDF is a 409 in the contract's error body, and no new job is queued
    reply = api.customer("acc_1", "GET", f"/invoices/{invoice.id}/pdf")
    assert reply.status == 409, reply.text
    assert reply.error["code"] == "invalid_state"
    assert "could not be rendered" in reply.error["message"]
    assert effects.new_render_jobs() == []


def test_pdf_is_one_read_and_no_s3_call(
    api: Api, repository: Invoices, seed: Seed, aws_calls: AwsCalls
) -> None:
    invoice = seed("acc_1")
    DynamoDocumentStore(repository.table).mark_rendered(invoice.id, invoice.version)
    aws_calls.clear()

    reply = api.customer("acc_1", "GET", f"/invoices/{invoice.id}/pdf")

    assert reply.status == 200
    assert aws_calls.of("dynamodb") == ["Query"]  # the invoice and its render state
    assert aws_calls.of("s3") == []  # presigning is local


def test_another_accounts_invoice_or_a_draft_is_404_for_a_customer(
    api: Api, repository: Invoices, seed: Seed
) -> None:
    theirs = seed("acc_2")
    created = repository.create(draft())

    for invoice_id in (theirs.id, created.id, "inv_DoesNotExist00"):
        reply = api.customer("acc_1", "GET", f"/invoices/{invoice_id}/pdf")
        assert reply.status == 404, invoice_id
        assert reply.error["code"] == "not_found"


# ------------------------------------------------------------------------------------------------
# POST /invoices/downloads, GET /invoices/downloads/{id}
# ------------------------------------------------------------------------------------------------
def test_a_download_is_a_zip_of_each_invoice_named_by_number(
    api: Api, resources: dict[str, str], effects: MotoStack, dynamodb: Any, seed: Seed
) -> None:
    # (a PDF already stored is copied into the ZIP, not rendered again: tests/integration/pdf)
    # Given two invoices
    first, second = seed("acc_1"), seed("acc_1")
    ids = [first.id, second.id]

    # When
    accepted = api.customer("acc_1", "POST", "/invoices/downloads", body={"invoice_ids": ids})

    # Then a pending job is stored and queued
    assert accepted.status == 202, accepted.text
    job = accepted.json()
    assert set(job) == {"id", "status"}
    assert job["id"].startswith("dl_") and job["status"] == "pending"
    key = serialize(download_key(job["id"]))
    item = deserialize(dynamodb.get_item(TableName=resources["INVOICES_TABLE"], Key=key)["Item"])
    assert item["account_id"] == "acc_1" and item["invoice_ids"] == ids and item["count"] == 2
    assert item["key"] == f"exports/acc_1/{job['id']}.zip"
    assert isinstance(item["expires_at"], int)
    pending = api.customer("acc_1", "GET", f"/invoices/downloads/{job['id']}")
    assert pending.status == 200
    assert pending.json() == {
        "id": job["id"],
        "status": "pending",
        "url": None,
        "expires_at": None,
        "count": 2,
    }

    # When the renderer has run the job
    assert effects.render() == [{"kind": "download", "download_id": job["id"]}]
    ready = api.customer("acc_1", "GET", f"/invoices/downloads/{job['id']}")

    # Then it is ready, with a link to the ZIP
    assert ready.status == 200
    body = ready.json()
    assert body["status"] == "ready" and body["count"] == 2 and body["expires_at"].endswith("Z")
    query = presigned(body["url"])
    assert 0 < int(query["X-Amz-Expires"]) <= 900
    assert query["response-content-disposition"] == f'attachment; filename="invoices-{job["id"]}.zip"'
    assert url_key(resources, body["url"]) == item["key"]
    archive = zipfile.ZipFile(io.BytesIO(object_bytes(resources, item["key"])))
    assert archive.namelist() == [file_name(first), file_name(second)]
    for invoice in (first, second):
        assert str(invoice.invoice_number) in pdf_text(archive.read(file_name(invoice)))
        # and the PDFs it had to render are stored and recorded too
        assert api.customer("acc_1", "GET", f"/invoices/{invoice.id}/pdf").status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"invoice_ids": []},
        {"invoice_ids": ["inv_a"] * 2},
        {"invoice_ids": [f"inv_{n}" for n in range(101)]},
        {"invoice_ids": ["inv_a"], "format": "zip"},
        {"invoice_ids": ["../etc"]},
        {},
    ],
)
def test_a_malformed_download_request_is_422(
    api: Api, resources: dict[str, str], body: dict[str, Any]
) -> None:
    reply = api.customer("acc_1", "POST", "/invoices/downloads", body=body)

    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"


def test_another_accounts_invoice_in_a_download_is_404_naming_it_and_stores_nothing(
    api: Api, effects: MotoStack, aws_calls: AwsCalls, seed: Seed
) -> None:
    # (an unknown invoice and a customer's draft are refused alike: tests/services/test_documents.py)
    mine, theirs = seed("acc_1"), seed("acc_2")
    aws_calls.clear()

    reply = api.customer("acc_1", "POST", "/invoices/downloads", body={"invoice_ids": [mine.id, theirs.id]})

    assert reply.status == 404
    assert reply.error["code"] == "not_found"
    assert theirs.id in reply.error["message"]
    assert reply.error["details"] == [{"loc": ["body", "invoice_ids", 1], "msg": f"no invoice {theirs.id}"}]
    assert "PutItem" not in aws_calls.of("dynamodb")
    assert effects.new_render_jobs() == []


def test_another_accounts_download_is_404(api: Api, seed: Seed) -> None:
    invoice = seed("acc_1")
    job = api.customer("acc_1", "POST", "/invoices/downloads", body={"invoice_ids": [invoice.id]}).json()

    assert api.customer("acc_2", "GET", f"/invoices/downloads/{job['id']}").status == 404
    assert api.customer("acc_1", "GET", "/invoices/downloads/dl_DoesNotExist000").status == 404
    # an operator sees every account's
    seen = api.operator("GET", f"/invoices/downloads/{job['id']}")
    assert seen.status == 200 and seen.json()["id"] == job["id"]


def test_downloads_need_identity(api: Api) -> None:
    assert api.call("POST", "/invoices/downloads", body={"invoice_ids": ["inv_a"]}).status == 401
    assert api.call("GET", "/invoices/downloads/dl_x").status == 401
    assert api.call("GET", "/invoices/inv_x/pdf").status == 401
