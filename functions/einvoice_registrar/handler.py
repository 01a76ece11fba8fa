"""Register documents with the IRP from the e-invoice queue, one SQS record at a time, with
partial-batch failures (einvoice.md).

Each record is an ``EInvoiceJob`` (a document and the attempt it is for). The registrar's outcome —
generated, retrying (the next attempt is queued with its backoff), failed, deferred or skipped — is
committed before the record is acknowledged. A record that raises (DynamoDB trouble, a malformed
job, an invoice that kept changing) goes back to the queue and, after five receives, to the DLQ.
A record SQS delivers again (``ApproximateReceiveCount`` > 1) may have been sent already: the
registrar looks the document up at the IRP before sending it.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.contracts.messages import parse_einvoice_job
from invoicing.observability import logger, metrics, tracer
from invoicing.services.einvoicing import Outcome
from invoicing.wiring import einvoice as wiring

processor = BatchProcessor(event_type=EventType.SQS)
_METRICS = {
    Outcome.GENERATED: "EInvoiceGenerated",
    Outcome.RETRYING: "EInvoiceRetrying",
    Outcome.FAILED: "EInvoiceFailed",
}


def record_handler(record: SQSRecord) -> None:
    logger.remove_keys(["document_id"])
    logger.append_keys(message_id=record.message_id)
    try:
        job = parse_einvoice_job(record.body)
        logger.append_keys(document_id=job.document_id)
        redelivered = int(record.attributes.approximate_receive_count or 1) > 1
        outcome = wiring.registrar().register(
            job.document, job.document_id, job.attempt, redelivered=redelivered
        )
    except Exception:
        logger.exception("E-invoice job failed; it goes back to the queue")
        raise
    logger.info("E-invoice job done", extra={"outcome": outcome.value, "attempt": job.attempt})
    if outcome in _METRICS:
        metrics.add_metric(name=_METRICS[outcome], unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
