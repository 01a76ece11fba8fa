"""functions/pdf_renderer under moto: SQS batches in, PDFs in S3 and the rendered version in the
invoice's render-state item (the invoice item itself is never rewritten by a render)."""

from __future__ import annotations

import io

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from pypdf import PdfReader

from invoicing.domain.documents import pdf_key
from invoicing.repository import records
from invoicing.repository.documents import DynamoDocumentStore, render_key
from invoicing.repository.table import Table, deserialize, serialize
from tests.integration.pdf.conftest import job, sqs_event, sqs_record
from tests.unit.factories import NOW, issued, payment


def stored_item(dynamodb, table: str, invoice_id: str) -> dict:
    response = dynamodb.get_item(TableName=table, Key=serialize(records.invoice_key(invoice_id)))
    return deserialize(response["Item"])


def render_state(dynamodb, table: str, invoice_id: str) -> dict:
    response = dynamodb.get_item(TableName=table, Key=serialize(render_key(invoice_id)))
    return deserialize(response.get("Item", {}))


def test_a_batch_renders_the_good_record_and_reports_only_the_bad_one(
    handler, context, store, s3, bucket, dynamodb, pdf_resources, repository
):
    # Given one stored invoice and a job for an invoice that does not exist
    invoice = store(issued(invoice_number="INV/2627/000042"))
    good = sqs_record(job(invoice), message_id="msg-good")
    bad = sqs_record(
        {"kind": "invoice", "document_id": "inv_DoesNotExist00", "version": 1}, message_id="msg-bad"
    )

    # When
    response = handler.lambda_handler(sqs_event(good, bad), context)

    # Then only the bad record goes back to the queue
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-bad"}]}
    # the PDF is at the versioned key, typed and encrypted
    key = f"pdfs/acc_1/{invoice.id}/v{invoice.version}.pdf"
    stored = s3.get_object(Bucket=bucket, Key=key)
    assert stored["ContentType"] == "application/pdf"
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["ContentDisposition"] == 'inline; filename="INV-2627-000042.pdf"'
    body = stored["Body"].read()
    assert body.startswith(b"%PDF-")
    assert "INV/2627/000042" in PdfReader(io.BytesIO(body)).pages[0].extract_text()
    # and the render state records which version has its PDF; the invoice item is untouched
    state = render_state(dynamodb, pdf_resources["INVOICES_TABLE"], invoice.id)
    assert state["pdf_version"] == invoice.version
    item = stored_item(dynamodb, pdf_resources["INVOICES_TABLE"], invoice.id)
    assert "pdf_version" not in item and item["version"] == invoice.version
    assert repository.get(invoice.id) == invoice


def test_one_render_is_one_getitem_one_putobject_and_one_updateitem(handler, context, store, aws_calls):
    invoice = store(issued())
    aws_calls.clear()

    handler.lambda_handler(sqs_event(sqs_record(job(invoice))), context)

    assert aws_calls.of("dynamodb") == ["Query", "UpdateItem"]  # the invoice with its render state
    assert aws_calls.of("s3") == ["PutObject"]


def test_a_repeated_job_does_not_render_again(handler, context, store, s3, bucket):
    invoice = store(issued())
    event = sqs_event(sqs_record(job(invoice)))

    first = handler.lambda_handler(event, context)
    second = handler.lambda_handler(event, context)

    assert first == second == {"batchItemFailures": []}
    versions = s3.list_object_versions(Bucket=bucket, Prefix=pdf_key(invoice))["Versions"]
    assert len(versions) == 1


def test_rendering_the_same_version_twice_writes_the_same_object(
    handler, context, store, s3, bucket, dynamodb, pdf_resources
):
    # Given a PDF rendered once, and the record of it lost (as if a second job raced the first)
    invoice = store(issued())
    event = sqs_event(sqs_record(job(invoice)))
    handler.lambda_handler(event, context)
    dynamodb.update_item(
        TableName=pdf_resources["INVOICES_TABLE"],
        Key=serialize(render_key(invoice.id)),
        UpdateExpression="REMOVE pdf_version",
    )

    # When it is rendered again
    handler.lambda_handler(event, context)

    # Then the bucket holds two writes of identical bytes
    versions = s3.list_object_versions(Bucket=bucket, Prefix=pdf_key(invoice))["Versions"]
    bodies = {
        s3.get_object(Bucket=bucket, Key=pdf_key(invoice), VersionId=v["VersionId"])["Body"].read()
        for v in versions
    }
    assert len(versions) == 2
    assert len(bodies) == 1


def test_a_job_for_an_older_version_renders_the_current_one(
    handler, context, repository, s3, bucket, dynamodb, pdf_resources
):
    before = repository.put(issued())
    after = repository.save(before, before.apply_payment(payment(before.amount), NOW))

    response = handler.lambda_handler(sqs_event(sqs_record(job(before))), context)

    assert response == {"batchItemFailures": []}
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["Key"] == pdf_key(after)
    body = s3.get_object(Bucket=bucket, Key=pdf_key(after))["Body"].read()
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    assert "Paid in full" in text
    assert render_state(dynamodb, pdf_resources["INVOICES_TABLE"], after.id)["pdf_version"] == after.version


def test_a_change_of_the_invoice_leaves_its_new_version_without_a_pdf(
    handler, context, repository, dynamodb, pdf_resources
):
    before = repository.put(issued())
    handler.lambda_handler(sqs_event(sqs_record(job(before))), context)

    after = repository.save(before, before.revise({"notes": "Updated"}, NOW))

    document = DynamoDocumentStore(Table(pdf_resources["INVOICES_TABLE"], dynamodb)).get(before.id)
    assert (document.invoice, document.pdf_version, document.pdf_is_current) == (after, before.version, False)


def test_an_invoice_the_renderer_fails_on_is_marked_failed_not_retried(
    handler, context, store, dynamodb, pdf_resources, s3, bucket, monkeypatch
):
    # Given an invoice the renderer cannot print (as a date past the formatter's range once did)
    from invoicing.adapters.pdf import InvoicePdfRenderer

    def overflow(self, invoice):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(InvoicePdfRenderer, "render", overflow)
    invoice = store(issued())

    # When its job runs
    response = handler.lambda_handler(sqs_event(sqs_record(job(invoice))), context)

    # Then the job is done with (not retried five times) and the version is recorded as failed
    assert response == {"batchItemFailures": []}
    state = render_state(dynamodb, pdf_resources["INVOICES_TABLE"], invoice.id)
    assert state["failed_version"] == invoice.version and "OverflowError" in state["failure"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        '{"kind": "invoice", "invoice_id": "inv_1"}',
        '{"kind": "zip", "invoice_id": "inv_1", "version": 1}',
    ],
)
def test_malformed_jobs_fail_their_record(handler, context, store, body):
    invoice = store(issued())

    response = handler.lambda_handler(
        sqs_event(sqs_record(job(invoice)), sqs_record(body, message_id="m-bad")), context
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}


def test_a_batch_where_every_record_fails_fails_the_invocation(handler, context, pdf_resources):
    event = sqs_event(sqs_record({"kind": "invoice", "document_id": "inv_DoesNotExist00", "version": 1}))

    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(event, context)
