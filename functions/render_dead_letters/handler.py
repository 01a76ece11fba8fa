"""Render jobs given up on: the render queue's dead-letter queue, one SQS record at a time.

After five failed receives SQS moves a render-queue message to its dead-letter queue. A bulk
download or a statement it names would otherwise stay ``pending`` forever: it is marked
``failed`` (only if still pending); so is the version an invoice PDF job names
(``GET /invoices/{id}/pdf`` then answers 409, not 202 forever; so do a credit note's and a receipt
voucher's PDF routes for the version their job named).
The alarm on the dead-letter queue tells someone either way. A record that cannot be handled now
(DynamoDB trouble) raises and comes back; one that is no render job at all is logged and dropped.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.contracts.messages import DownloadJob, StatementJob, parse_render_message
from invoicing.observability import logger, metrics, tracer
from invoicing.wiring.dead_letters import dead_letters

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    logger.remove_keys(["download_id", "statement_id", "document_id"])
    logger.append_keys(message_id=record.message_id)
    try:
        job = parse_render_message(record.body)
    except ValueError:
        logger.error("A dead letter that is no render job was dropped")
        return
    metrics.add_metric(name="RenderJobDeadLettered", unit=MetricUnit.Count, value=1)
    if isinstance(job, DownloadJob):
        logger.append_keys(download_id=job.download_id)
        marked = dead_letters().download_failed(job.download_id)
    elif isinstance(job, StatementJob):
        logger.append_keys(statement_id=job.statement_id)
        marked = dead_letters().statement_failed(job.statement_id)
    elif job.kind == "invoice":
        logger.append_keys(document_id=job.document_id)
        marked = dead_letters().invoice_pdf_failed(job.document_id, job.version)
    else:  # a credit note's or a receipt voucher's
        logger.append_keys(document_id=job.document_id)
        marked = dead_letters().document_pdf_failed(job.kind, job.document_id, job.version)
    logger.warning("A job was given up", extra={"kind": job.kind, "marked_failed": marked})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
