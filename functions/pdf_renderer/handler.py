"""Render invoice, credit-note and receipt-voucher PDFs, bulk-download ZIPs and statements of account
from the render queue, one SQS record at a time, with partial-batch failures.

A record that fails (unknown invoice, malformed job, S3 or DynamoDB trouble) raises; Powertools
reports it in ``batchItemFailures`` so only that message returns to the queue, and after five
receives SQS moves it to the dead-letter queue. The template and fonts ship beside this file.
"""

from pathlib import Path

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.contracts.messages import DownloadJob, StatementJob, parse_render_message
from invoicing.observability import logger, metrics, tracer
from invoicing.services.credit_note_documents import RenderOutcome
from invoicing.services.rendering import ExportOutcome, Outcome
from invoicing.services.statements import StatementOutcome
from invoicing.wiring import pdf, wallet

ASSETS = Path(__file__).resolve().parent
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    logger.remove_keys(["invoice_id", "download_id", "credit_note_id", "statement_id", "receipt_id"])
    logger.append_keys(message_id=record.message_id)
    try:
        job = parse_render_message(record.body)
        if isinstance(job, DownloadJob):
            export_download(job)
        elif job.kind == "credit_note":
            render_credit_note(job.document_id, job.version)
        elif job.kind == "receipt":
            render_receipt(job.document_id, job.version)
        elif isinstance(job, StatementJob):
            render_statement(job)
        else:
            render_invoice(job.document_id, job.version)
    except Exception:
        logger.exception("Render job failed; it goes back to the queue")
        raise


def render_invoice(invoice_id: str, version: int) -> None:
    logger.append_keys(invoice_id=invoice_id)
    rendition = pdf.render_service(ASSETS).render(invoice_id, version)
    logger.info(
        "Render job done",
        extra={"outcome": rendition.outcome.value, "job_version": version, "version": rendition.version},
    )
    if rendition.outcome is Outcome.RENDERED:
        metrics.add_metric(name="InvoicePdfRendered", unit=MetricUnit.Count, value=1)
    elif rendition.outcome is Outcome.FAILED:
        logger.error("The invoice cannot be rendered; marked failed", extra={"version": rendition.version})
        metrics.add_metric(name="InvoicePdfFailed", unit=MetricUnit.Count, value=1)


def render_credit_note(credit_note_id: str, version: int) -> None:
    logger.append_keys(credit_note_id=credit_note_id)
    outcome = pdf.credit_note_render_service(ASSETS).render(credit_note_id, version)
    logger.info("Render job done", extra={"outcome": outcome.value, "job_version": version})
    if outcome is RenderOutcome.RENDERED:
        metrics.add_metric(name="CreditNotePdfRendered", unit=MetricUnit.Count, value=1)
    elif outcome is RenderOutcome.FAILED:
        logger.error("The credit note cannot be rendered; marked failed", extra={"version": version})
        metrics.add_metric(name="CreditNotePdfFailed", unit=MetricUnit.Count, value=1)


def render_receipt(receipt_id: str, version: int) -> None:
    logger.append_keys(receipt_id=receipt_id)
    outcome = wallet.receipt_render_service(ASSETS).render(receipt_id, version)
    logger.info("Render job done", extra={"outcome": outcome.value, "job_version": version})
    if outcome is RenderOutcome.RENDERED:
        metrics.add_metric(name="ReceiptPdfRendered", unit=MetricUnit.Count, value=1)
    elif outcome is RenderOutcome.FAILED:
        logger.error("The receipt voucher cannot be rendered; marked failed", extra={"version": version})
        metrics.add_metric(name="ReceiptPdfFailed", unit=MetricUnit.Count, value=1)


def export_download(job: DownloadJob) -> None:
    logger.append_keys(download_id=job.download_id)
    export = pdf.export_service(ASSETS).export(job.download_id)
    logger.info(
        "Download job done",
        extra={"outcome": export.outcome.value, "count": export.count, "rendered": export.rendered},
    )
    if export.outcome is ExportOutcome.READY:
        metrics.add_metric(name="InvoiceDownloadReady", unit=MetricUnit.Count, value=1)
    elif export.outcome is ExportOutcome.FAILED:
        metrics.add_metric(name="InvoiceDownloadFailed", unit=MetricUnit.Count, value=1)


def render_statement(job: StatementJob) -> None:
    logger.append_keys(statement_id=job.statement_id)
    rendition = pdf.statement_service(ASSETS).render(job.statement_id)
    logger.info(
        "Statement job done",
        extra={
            "outcome": rendition.outcome.value,
            "entries": rendition.entries,
            "backfilled": rendition.backfilled,
        },
    )
    if rendition.outcome is StatementOutcome.READY:
        metrics.add_metric(name="StatementReady", unit=MetricUnit.Count, value=1)
    elif rendition.outcome is StatementOutcome.FAILED:
        metrics.add_metric(name="StatementFailed", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
