"""Invoice documents through the API under moto: the PDF link (202 → render → 200) and bulk
downloads (job stored and queued → the renderer builds the ZIP → a link to it), tenant isolation."""

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
from invoicing.repository.downloads import download_key
from invoicing.repository.table import deserialize, serialize


def presigned(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}


def url_key(resources: dict[str, str], url: str) -> str:
    """The object key a presigned URL names (virtual-hosted or path style)."""
    path = unquote(urlparse(url).path).lstrip("/")
    return path.removeprefix(resources["PDF_BUCKET"] + "/")


def object_bytes(resources: dict[str, str], key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=resources["PDF_BUCKET"], Key=key)["Body"].read()


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def file_name(invoice: dict[str, Any]) -> str:
    return invoice["invoice_number"].replace("/", "-") + ".pdf"


# ------------------------------------------------------------------------------------------------
# GET /invoices/{id}/pdf
# ------------------------------------------------------------------------------------------------
def test_pdf_is_202_with_retry_after_until_rendered_then_a_presigned_link(api, resources, effects):
    # Given an issued invoice whose PDF is not rendered yet
    invoice = api.issued("acc_1")
    effects.new_render_jobs()  # the issue's own render job: dropped, so the route has to ask again

    # When
    pending = api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf")

    # Then: rendering, come back later, and a job for the current version is queued
    assert pending.status == 202
    assert pending.json() == {"status": "rendering"}
    assert int(pending.headers["Retry-After"]) > 0
    jobs = effects.render()
    assert jobs == [{"kind": "invoice", "document_id": invoice["id"], "version": jobs[0]["version"]}]

    # When it has been rendered
    ready = api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf")

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
    assert key == f"pdfs/acc_1/{invoice['id']}/v{jobs[0]['version']}.pdf"
    assert invoice["invoice_number"] in pdf_text(object_bytes(resources, key))
    assert body["expires_at"].endswith("Z")
    assert effects.new_render_jobs() == []  # nothing more to render


def test_pdf_of_a_changed_invoice_is_rendered_again(api, resources, effects):
    invoice = api.issued("acc_1")
    effects.render()
    assert api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf").status == 200

    # When the invoice changes (a new version), the stored PDF is no longer "as it is now"; a new
    # note is not one of the versions rendered ahead (Invoice.renders_ahead): nothing is queued
    assert api.operator("PATCH", f"/invoices/{invoice['id']}", body={"notes": "PO 4711"}).status == 200
    assert effects.render() == []

    # Then the first download asks for it and gets it once rendered
    assert api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf").status == 202
    assert len(effects.render()) == 1
    reply = api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf")
    assert reply.status == 200
    assert "PO 4711" in pdf_text(object_bytes(resources, url_key(resources, reply.json()["url"])))


def test_pdf_of_a_draft_is_409_invalid_state(api, resources, effects):
    draft = api.create("acc_1")

    reply = api.operator("GET", f"/invoices/{draft['id']}/pdf")

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state"
    assert effects.new_render_jobs() == []


def test_polling_the_pdf_queues_one_render_job_not_one_per_request(api, resources, effects):
    invoice = api.issued("acc_1")
    effects.new_render_jobs()  # the issue's own render job: dropped, as if still on the queue

    replies = [api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf") for _ in range(3)]

    assert [reply.status for reply in replies] == [202, 202, 202]
    assert len(effects.new_render_jobs()) == 1


def test_a_pdf_that_failed_for_good_is_409_with_the_contract_body_and_queues_nothing(
    api, resources, effects, monkeypatch
):
    # Given an invoice whose render fails (the renderer breaks on it every time)
    from invoicing.adapters.pdf import InvoicePdfRenderer

    def broken(self, invoice):
        raise ValueError("year 10000 is out of range")

    monkeypatch.setattr(InvoicePdfRenderer, "render", broken)
    invoice = api.issued("acc_1")
    assert len(effects.render()) == 1  # the render job, done with (not retried)

    # When the customer asks for the PDF
    reply = api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf")

    # Then a 409 in the contract's error body, not 202 forever, and no new job
    assert reply.status == 409, reply.text
    assert set(reply.json()) == {"error"}
    assert reply.error["code"] == "invalid_state"
    assert "could not be rendered" in reply.error["message"]
    assert effects.new_render_jobs() == []

    # And once the invoice changes, its new version is rendered afresh on its first download
    monkeypatch.undo()
    assert api.operator("PATCH", f"/invoices/{invoice['id']}", body={"notes": "again"}).status == 200
    assert api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf").status == 202
    effects.render()
    assert api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf").status == 200


def test_a_dead_lettered_pdf_job_marks_its_version_failed(api, resources, effects, functions):
    # Given a render job that SQS gave up on (five failed receives)
    invoice = api.issued("acc_1")
    (job,) = effects.new_render_jobs()
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": json.dumps(job)}
    event = sqs_event([message], queue_arn="arn:aws:sqs:ap-south-1:123456789012:render-dlq")

    # When the dead-letter consumer takes it
    assert functions.invoke("RenderDeadLetterFunction", event) == {"batchItemFailures": []}

    # Then the PDF is 409, not 202 forever
    reply = api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf")
    assert reply.status == 409 and reply.error["code"] == "invalid_state"
    assert effects.new_render_jobs() == []


def test_pdf_is_one_read_and_no_s3_call(api, resources, effects, aws_calls):
    invoice = api.issued("acc_1")
    effects.render()
    aws_calls.clear()

    reply = api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf")

    assert reply.status == 200
    assert aws_calls.of("dynamodb") == ["Query"]  # the invoice and its render state
    assert aws_calls.of("s3") == []  # presigning is local


def test_another_accounts_invoice_or_a_draft_is_404_for_a_customer(api, resources, effects):
    theirs = api.issued("acc_2")
    draft = api.create("acc_1")

    for invoice_id in (theirs["id"], draft["id"], "inv_DoesNotExist00"):
        reply = api.customer("acc_1", "GET", f"/invoices/{invoice_id}/pdf")
        assert reply.status == 404, invoice_id
        assert reply.error["code"] == "not_found"


# ------------------------------------------------------------------------------------------------
# POST /invoices/downloads, GET /invoices/downloads/{id}
# ------------------------------------------------------------------------------------------------
def test_a_download_is_a_zip_of_each_invoice_named_by_number(api, resources, effects, dynamodb):
    # Given three invoices, one of them already rendered
    first, second, third = (api.issued("acc_1") for _ in range(3))
    effects.new_render_jobs()
    assert api.customer("acc_1", "GET", f"/invoices/{first['id']}/pdf").status == 202
    effects.render()
    ids = [first["id"], second["id"], third["id"]]

    # When
    accepted = api.customer("acc_1", "POST", "/invoices/downloads", body={"invoice_ids": ids})

    # Then a pending job is stored and queued
    assert accepted.status == 202, accepted.text
    job = accepted.json()
    assert set(job) == {"id", "status"}
    assert job["id"].startswith("dl_") and job["status"] == "pending"
    item = deserialize(
        dynamodb.get_item(TableName=resources["INVOICES_TABLE"], Key=serialize(download_key(job["id"])))[
            "Item"
        ]
    )
    assert item["account_id"] == "acc_1" and item["invoice_ids"] == ids and item["count"] == 3
    assert item["key"] == f"exports/acc_1/{job['id']}.zip"
    assert isinstance(item["expires_at"], int)
    pending = api.customer("acc_1", "GET", f"/invoices/downloads/{job['id']}")
    assert pending.status == 200
    assert pending.json() == {
        "id": job["id"],
        "status": "pending",
        "url": None,
        "expires_at": None,
        "count": 3,
    }

    # When the renderer has run the job
    assert effects.render() == [{"kind": "download", "download_id": job["id"]}]
    ready = api.customer("acc_1", "GET", f"/invoices/downloads/{job['id']}")

    # Then it is ready, with a link to the ZIP
    assert ready.status == 200
    body = ready.json()
    assert body["status"] == "ready" and body["count"] == 3 and body["expires_at"].endswith("Z")
    query = presigned(body["url"])
    assert 0 < int(query["X-Amz-Expires"]) <= 900
    assert query["response-content-disposition"] == f'attachment; filename="invoices-{job["id"]}.zip"'
    assert url_key(resources, body["url"]) == item["key"]
    archive = zipfile.ZipFile(io.BytesIO(object_bytes(resources, item["key"])))
    assert archive.namelist() == [file_name(invoice) for invoice in (first, second, third)]
    for invoice in (first, second, third):
        assert invoice["invoice_number"] in pdf_text(archive.read(file_name(invoice)))
    # and the PDFs it had to render are stored and recorded too
    for invoice in (second, third):
        assert api.customer("acc_1", "GET", f"/invoices/{invoice['id']}/pdf").status == 200


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
def test_a_malformed_download_request_is_422(api, resources, body):
    reply = api.customer("acc_1", "POST", "/invoices/downloads", body=body)

    assert reply.status == 422, reply.text
    assert reply.error["code"] == "validation_error"


def test_an_unknown_foreign_or_draft_invoice_in_a_download_is_404_naming_it_and_stores_nothing(
    api, resources, effects, aws_calls
):
    mine = api.issued("acc_1")
    theirs = api.issued("acc_2")
    draft = api.create("acc_1")
    effects.new_render_jobs()

    for bad in (theirs["id"], draft["id"], "inv_DoesNotExist00"):
        aws_calls.clear()
        reply = api.customer("acc_1", "POST", "/invoices/downloads", body={"invoice_ids": [mine["id"], bad]})

        assert reply.status == 404, bad
        assert reply.error["code"] == "not_found"
        assert bad in reply.error["message"]
        assert reply.error["details"] == [{"loc": ["body", "invoice_ids", 1], "msg": f"no invoice {bad}"}]
        assert "PutItem" not in aws_calls.of("dynamodb")
    assert effects.new_render_jobs() == []


def test_another_accounts_download_is_404(api, resources, effects):
    invoice = api.issued("acc_1")
    job = api.customer("acc_1", "POST", "/invoices/downloads", body={"invoice_ids": [invoice["id"]]}).json()
    effects.render()

    assert api.customer("acc_2", "GET", f"/invoices/downloads/{job['id']}").status == 404
    assert api.customer("acc_1", "GET", "/invoices/downloads/dl_DoesNotExist000").status == 404
    # an operator sees every account's
    assert api.operator("GET", f"/invoices/downloads/{job['id']}").json()["status"] == "ready"


def test_downloads_need_identity(api, resources, effects):
    assert api.call("POST", "/invoices/downloads", body={"invoice_ids": ["inv_a"]}).status == 401
    assert api.call("GET", "/invoices/downloads/dl_x").status == 401
    assert api.call("GET", "/invoices/inv_x/pdf").status == 401
