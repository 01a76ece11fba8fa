"""Non-HTTP event sources, as Lambda would deliver them: SQS batches and the daily schedule.

:class:`SqsPoller` long-polls one queue and feeds batches to a function like Lambda's SQS event source
mapping with ``ReportBatchItemFailures``: the messages not listed in ``batchItemFailures`` are deleted,
the others stay on the queue (they come back after the visibility timeout and, after
``maxReceiveCount`` receives, go to the dead-letter queue). If the handler raises — including
``NotImplementedError`` while its issue is not done yet — the whole batch stays and the poller backs off.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from infra.local.functions import LOCAL_ACCOUNT_ID, LOCAL_REGION, LocalFunction

log = logging.getLogger("infra.local")

BATCH_SIZE = 10
WAIT_SECONDS = 1  # short long-polls: jobs start within a second, shutdown takes at most one
BACKOFF_SECONDS = 5.0


def scheduled_event(time: datetime, *, schedule_name: str, event_id: str | None = None) -> dict[str, Any]:
    """The EventBridge Scheduler "Scheduled Event" whose ``time`` is ``time`` (UTC, seconds, ``Z``)."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": LOCAL_ACCOUNT_ID,
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": LOCAL_REGION,
        "resources": [
            f"arn:aws:scheduler:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:schedule/default/{schedule_name}"
        ],
        "detail": {},
    }


def _message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API attribute values → the Lambda event's lower-camel shape."""
    converted = {}
    for name, value in attributes.items():
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    return converted


def sqs_event(messages: Sequence[Mapping[str, Any]], *, queue_arn: str) -> dict[str, Any]:
    """The Lambda SQS event for messages as returned by ``ReceiveMessage``."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": _message_attributes(m.get("MessageAttributes", {})),
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": LOCAL_REGION,
            }
            for m in messages
        ]
    }


def failed_ids(result: Any) -> set[str]:
    """Message ids a ``ReportBatchItemFailures`` response lists."""
    if not isinstance(result, dict):
        return set()
    return {str(f.get("itemIdentifier")) for f in result.get("batchItemFailures") or ()}


def not_implemented(exc: BaseException) -> bool:
    """``NotImplementedError``, raised directly or by every record of a Powertools batch."""
    if isinstance(exc, NotImplementedError):
        return True
    children = getattr(exc, "child_exceptions", None) or ()
    return bool(children) and all(isinstance(info[1], NotImplementedError) for info in children)


class SqsPoller(threading.Thread):
    def __init__(
        self,
        function: LocalFunction,
        *,
        sqs: Any,
        queue_url: str,
        stop: threading.Event,
        wait_seconds: int = WAIT_SECONDS,
        backoff_seconds: float = BACKOFF_SECONDS,
    ) -> None:
        super().__init__(name=f"poll-{function.spec.logical_id}", daemon=True)
        self._function = function
        self._sqs = sqs
        self._url = queue_url
        self._stop_event = stop
        self._wait = wait_seconds
        self._backoff = backoff_seconds
        self._arn = ""
        self._warned: set[str] = set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.poll_once()
            except Exception:
                if not self._stop_event.is_set():
                    log.exception("polling %s failed; retrying", self._url)
                    self._stop_event.wait(self._backoff)

    def poll_once(self) -> int:
        """Receive one batch and hand it to the function; returns how many messages were deleted."""
        if not self._arn:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])
            self._arn = attributes["Attributes"]["QueueArn"]
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages or self._stop_event.is_set():  # stopping: they stay on the queue
            return 0
        name = self._function.spec.logical_id
        try:
            result = self._function.invoke(sqs_event(messages, queue_arn=self._arn))
        except Exception as exc:
            key = "not-implemented" if not_implemented(exc) else type(exc).__name__
            if key not in self._warned:
                self._warned.add(key)
                if key == "not-implemented":
                    log.warning(
                        "%s is not implemented yet: %d message(s) left on its queue", name, len(messages)
                    )
                else:
                    log.exception("%s failed; its batch stays on the queue", name)
            self._stop_event.wait(self._backoff)
            return 0
        failed = failed_ids(result)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if failed:
            log.warning("%s reported %d failed message(s); they stay on the queue", name, len(failed))
        return len(done)


class TableWrites:
    """How many writes moto's DynamoDB in this process has taken (the local stack's own moto
    server): the outbox poller's cue that a commit may have queued something."""

    WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> None:
        from moto.dynamodb.responses import DynamoHandler

        original = DynamoHandler.call_action
        writes = self

        def counting_call_action(handler: Any) -> Any:
            try:
                return original(handler)
            finally:
                if handler._get_action() in writes.WRITES:
                    writes.count += 1  # under the GIL; a lost increment only delays a round

        DynamoHandler.call_action = counting_call_action  # type: ignore[method-assign]


class SchedulePoller(threading.Thread):
    """Invokes a function with a scheduled event every ``interval`` seconds (the outbox's local driver:
    moto has no DynamoDB streams, so the dispatcher's schedule path runs often instead).

    With ``writes``, a round is skipped while nothing was written since the last one and that one
    did nothing (nothing dispatched, nothing failed), until ``idle_interval`` has passed: a commit
    is still taken up within ``interval``, a message waiting for its retry within ``idle_interval``,
    and an idle stack does not call the function twice a second."""

    def __init__(
        self,
        function: LocalFunction,
        *,
        stop: threading.Event,
        interval: float = 0.5,
        schedule_name: str = "",
        writes: TableWrites | None = None,
        idle_interval: float = 2.0,
    ) -> None:
        super().__init__(name=f"schedule-{function.spec.logical_id}", daemon=True)
        self._function = function
        self._stop_event = stop
        self._interval = interval
        self._schedule = schedule_name or function.spec.function_name
        self._writes = writes
        self._idle_interval = idle_interval

    def run(self) -> None:
        seen, busy, last = -1, True, 0.0
        while not self._stop_event.wait(self._interval):
            if self._writes is not None:
                written = self._writes.count
                if written == seen and not busy and time.monotonic() - last < self._idle_interval:
                    continue
                seen = written
            last = time.monotonic()
            report = self.tick()
            busy = not isinstance(report, dict) or bool(report.get("dispatched") or report.get("failed"))

    def tick(self) -> Any:
        try:
            return self._function.invoke(scheduled_event(datetime.now(UTC), schedule_name=self._schedule))
        except Exception:
            log.exception("%s failed on its schedule", self._function.spec.logical_id)
            return None
