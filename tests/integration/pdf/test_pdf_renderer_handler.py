"""functions/pdf_renderer under moto: SQS batches in, PDFs in S3 and the rendered version in the
invoice's render-state item (the invoice item itself is never rewritten by a render).

Which version a job renders and when it renders nothing is tests/services/test_documents.py; the
render state's reads and writes in DynamoDB are tests/contract/test_reads.py; that a version renders to
the same bytes every time is tests/unit/test_pdf_document.py; every malformed job body is
tests/unit/test_messages.py.
"""

from __future__ import annotations

import io

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from pypdf import PdfReader

from invoicing.domain.invoice import Invoice
from invoicing.repository import records
from invoicing.repository.documents import render_key
from tests.conftest import AwsCalls
from tests.integration.pdf.conftest import PdfFunction, job, sqs_record
from tests.unit.factories import issued


def test_a_batch_renders_the_good_record_and_reports_only_the_bad_ones(pdf: PdfFunction) -> None:
    # Given one stored invoice, a job for an invoice that does not exist and a body that is no job
    invoice = pdf.store(issued(invoice_number="INV/2627/000042"))
    good = sqs_record(job(invoice), message_id="msg-good")
    unknown = sqs_record(
        {"kind": "invoice", "document_id": "inv_DoesNotExist00", "version": 1}, message_id="msg-unknown"
    )
    malformed = sqs_record("{not json", message_id="msg-malformed")

    # When
    response = pdf(good, unknown, malformed)

    # Then only the bad records go back to the queue
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "msg-unknown"}, {"itemIdentifier": "msg-malformed"}]
    }
    # the PDF is at the versioned key, typed and encrypted
    key = f"pdfs/acc_1/{invoice.id}/v{invoice.version}.pdf"
    stored = pdf.s3.get_object(Bucket=pdf.bucket, Key=key)
    assert stored["ContentType"] == "application/pdf"
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["ContentDisposition"] == 'inline; filename="INV-2627-000042.pdf"'
    body = stored["Body"].read()
    assert body.startswith(b"%PDF-")
    assert "INV/2627/000042" in PdfReader(io.BytesIO(body)).pages[0].extract_text()
    # and the render state records which version has its PDF; the invoice item is untouched
    assert pdf.item(render_key(invoice.id))["pdf_version"] == invoice.version
    item = pdf.item(records.invoice_key(invoice.id))
    assert "pdf_version" not in item and item["version"] == invoice.version
    assert pdf.repository.get(invoice.id) == invoice


def test_one_render_is_a_query_a_putobject_and_an_updateitem_and_the_same_job_again_only_the_query(
    pdf: PdfFunction, aws_calls: AwsCalls, stand_in_pdfs: None
) -> None:
    invoice = pdf.store(issued())
    record = sqs_record(job(invoice))
    aws_calls.clear()

    first = pdf(record)
    calls = (aws_calls.of("dynamodb"), aws_calls.of("s3"))
    aws_calls.clear()
    again = pdf(record)  # SQS delivers at least once

    assert first == again == {"batchItemFailures": []}
    assert calls == (["Query", "UpdateItem"], ["PutObject"])  # the invoice with its render state
    assert (aws_calls.of("dynamodb"), aws_calls.of("s3")) == (["Query"], [])


def test_an_invoice_the_renderer_fails_on_is_marked_failed_not_retried(
    pdf: PdfFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an invoice the renderer cannot print (as a date past the formatter's range once did)
    from invoicing.adapters.pdf import InvoicePdfRenderer

    def overflow(self: InvoicePdfRenderer, invoice: Invoice) -> bytes:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(InvoicePdfRenderer, "render", overflow)
    invoice = pdf.store(issued())

    # When its job runs
    response = pdf(sqs_record(job(invoice)))

    # Then the job is done with (not retried five times) and the version is recorded as failed
    assert response == {"batchItemFailures": []}
    state = pdf.item(render_key(invoice.id))
    assert state["failed_version"] == invoice.version and "OverflowError" in state["failure"]
    assert pdf.keys() == []


def test_a_batch_where_every_record_fails_fails_the_invocation(pdf: PdfFunction) -> None:
    with pytest.raises(BatchProcessingError):
        pdf(sqs_record({"kind": "invoice", "document_id": "inv_DoesNotExist00", "version": 1}))
