"""The outbox dispatcher: performs the side effects committed with each state change.

Two triggers, one function:

- the invoices table's DynamoDB stream, filtered to new outbox messages: each record's message is
  dispatched at once. A message whose effects fail stays in the outbox index with a later retry
  time (the schedule below takes it up), so a failing effect never blocks the stream's shard;
- an EventBridge schedule (every few minutes): messages still waiting after
  ``OUTBOX_SWEEP_MIN_AGE_SECONDS`` are dispatched (the local stack calls this path every half
  second, as moto has no streams).
"""

from datetime import timedelta

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.domain.outbox import OutboxMessage
from invoicing.observability import logger, metrics, tracer
from invoicing.wiring import outbox as wiring

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def dispatch_record(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("entity") != "outbox":
        return
    message = OutboxMessage.model_validate_json(image["message"])
    logger.append_keys(message_id=message.id)
    wiring.dispatcher().dispatch(message)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=dispatch_record, processor=processor, context=context
        )
    min_age = timedelta(seconds=wiring.settings().outbox_sweep_min_age_seconds)
    return wiring.dispatcher().drain(older_than=min_age).as_dict()
