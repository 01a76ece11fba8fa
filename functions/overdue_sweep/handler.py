"""The daily overdue sweep.

Two triggers, one function: the EventBridge schedule (06:00 India time) runs the sweep for the
event's ``time`` and answers a summary of what it did (counts per action); the SweepQueue's SQS
event carries work the scheduled run fanned out, processed record by record with partial-batch
failures (a record that keeps failing ends in the queue's DLQ).
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.observability import logger, metrics, tracer
from invoicing.wiring import sweep as wiring

processor = BatchProcessor(event_type=EventType.SQS)


def process_work(record: SQSRecord) -> None:
    try:
        wiring.overdue_sweep().process(record.body)
    except Exception:
        logger.exception("Sweep work failed; SQS retries it", extra={"message_id": record.message_id})
        raise


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=process_work, processor=processor, context=context
        )
    scheduled = parse(event=event, model=EventBridgeModel)
    return wiring.overdue_sweep().run(scheduled.time).as_dict()
