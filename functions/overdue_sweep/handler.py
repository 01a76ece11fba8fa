"""The daily overdue sweep.

Two triggers, one function: the EventBridge schedule (06:00 India time) runs the sweep for the
event's ``time`` and answers a summary of what it did (counts per action); the SweepQueue's SQS
event carries work the scheduled run fanned out, processed record by record with partial-batch
failures (a record that keeps failing ends in the queue's DLQ).
"""

from typing import Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from invoicing.observability import logger, metrics, tracer
from invoicing.services.sweep import OverdueSweep
from invoicing.wiring import sweep as wiring

processor = BatchProcessor(event_type=EventType.SQS)


class ScheduledEvent(BaseModel):
    """An EventBridge Scheduler (``aws.scheduler``) or rule (``aws.events``) scheduled event."""

    model_config = ConfigDict(extra="ignore")

    source: Literal["aws.scheduler", "aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    time: AwareDatetime


def _process_work(sweep: OverdueSweep, event: dict, context: LambdaContext) -> dict:
    def record_handler(record: SQSRecord) -> None:
        try:
            sweep.process(record.body)
        except Exception:
            logger.exception("sweep work failed; SQS retries it", message_id=record.message_id)
            raise

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    sweep = wiring.overdue_sweep()
    if "Records" in event:
        return _process_work(sweep, event, context)
    return sweep.run(ScheduledEvent.model_validate(event).time).as_dict()
