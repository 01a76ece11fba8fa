"""Render invoice PDFs from the render queue, one SQS record at a time, with partial-batch failures.

A record that fails (unknown invoice, malformed job, S3 or DynamoDB trouble) raises; Powertools
reports it in ``batchItemFailures`` so only that message returns to the queue, and after five
receives SQS moves it to the dead-letter queue. The template and fonts ship beside this file.
"""

from pathlib import Path

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.observability import logger, metrics, tracer
from invoicing.services.rendering import InvoiceRenderJob, Outcome
from invoicing.wiring import pdf

ASSETS = Path(__file__).resolve().parent
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    logger.remove_keys(["invoice_id"])
    logger.append_keys(message_id=record.message_id)
    try:
        job = InvoiceRenderJob.parse(record.body)
        logger.append_keys(invoice_id=job.invoice_id)
        rendition = pdf.render_service(ASSETS).render(job.invoice_id, job.version)
    except Exception:
        logger.exception("Render job failed; it goes back to the queue")
        raise
    logger.info(
        "Render job done",
        extra={"outcome": rendition.outcome.value, "job_version": job.version, "version": rendition.version},
    )
    if rendition.outcome is Outcome.RENDERED:
        metrics.add_metric(name="InvoicePdfRendered", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
