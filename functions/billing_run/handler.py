"""The billing run (billing.md): usage becomes invoices.

Two triggers, one function. The EventBridge Scheduler schedule (03:00 Asia/Kolkata on the 1st)
starts the run for the IST month before the event's ``time`` and plans it here: the accounts with
unbilled usage come from their index, and one message per account goes to the billing queue. The
queue's SQS event carries those messages (and the planning of runs started by ``POST
/billing-runs``), processed record by record with partial-batch failures: a failure that may pass is
retried by SQS, and on its last receive it is recorded as the account's failure, so the run still
completes (a message that keeps failing after that ends in the DLQ).
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.contracts.billing import BillingRunResponse
from invoicing.contracts.messages import BillAccountJob, parse_billing_message
from invoicing.observability import logger, metrics, tracer
from invoicing.wiring import billing as wiring

processor = BatchProcessor(event_type=EventType.SQS)


def process_message(record: SQSRecord) -> None:
    job = parse_billing_message(record.body)
    logger.append_keys(run_id=job.run_id)
    try:
        if isinstance(job, BillAccountJob):
            receives = int(record.raw_event.get("attributes", {}).get("ApproximateReceiveCount") or 1)
            last = receives >= wiring.settings().billing_max_receive_count
            service = wiring.run_service()
            service.bill(job.run_id, job.period, job.account_id, finish=tuple(job.finish), last_attempt=last)
        else:
            wiring.run_service().plan(job.run_id)
    except Exception:
        logger.exception("Billing message failed; SQS retries it", extra={"message_id": record.message_id})
        raise


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=process_message, processor=processor, context=context
        )
    scheduled = parse(event=event, model=EventBridgeModel)
    run = wiring.run_service().run_scheduled(scheduled.time, scheduled.id)
    return BillingRunResponse.from_domain(run).model_dump(mode="json")
