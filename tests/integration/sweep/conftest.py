"""The overdue sweep under moto: the handler with its real adapters, and ways to watch what it did.

- E-mails: every SES v2 ``SendEmail`` the sweep's client makes is captured with its parameters
  (both parts), and moto's SES backend must have accepted each one (the sender is verified here,
  as an operator does once per deployment).
- Domain events: an EventBridge rule on the invoicing bus forwards ``source: invoicing`` to a test
  queue, read back in order.
- Fan-out: ``drain_sweep_queue`` feeds SweepQueue to the handler as Lambda's SQS integration would
  (batches of up to 10, deleting what succeeded, leaving reported failures on the queue).
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from infra.demo import draft_fields
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import IST
from invoicing.domain.summary import AccountSummary
from invoicing.repository.invoices import InvoiceRepository
from invoicing.wiring import sweep as wiring
from tests.unit.factories import NOW, draft, issued, payment

REGION = "ap-south-1"
SERIES = "INV/2627"
PAYMENT_URL = "https://rzp.io/i/example"
# Issued at NOW (1 Oct 2026, IST) with the default 15-day terms: due on 16 Oct 2026.
DUE = date(2026, 10, 16)


def six_am_ist(day: date) -> datetime:
    """When the schedule fires on ``day``: 06:00 India time."""
    return datetime.combine(day, time(6, 0), tzinfo=IST)


def day(n: int) -> date:
    """``n`` days past the due date."""
    return DUE + timedelta(days=n)


def scheduled_event(at: datetime, source: str = "aws.scheduler", event_id: str = "exec-1") -> dict[str, Any]:
    """What EventBridge Scheduler (``aws.scheduler``) or a rule (``aws.events``) delivers."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": source,
        "account": DEFAULT_ACCOUNT_ID,
        "time": at.astimezone(IST).isoformat(),
        "region": REGION,
        "resources": ["arn:aws:scheduler:ap-south-1:123456789012:schedule/default/overdue-sweep"],
        "detail": {},
    }


@dataclass
class LambdaContext:
    function_name: str = "invoicing-test-overdue-sweep"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ap-south-1:123456789012:function:invoicing-test-overdue-sweep"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class SweepStack:
    env: dict[str, str]
    repository: InvoiceRepository
    handler: Any
    sent: list[dict[str, Any]] = field(default_factory=list)
    _events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _sequence: int = 0
    events_queue_url: str = ""

    # ------------------------------------------------------------------------------- invoices
    def issue(self, *, account_id: str = "acc_1", invoice_id: str | None = None, **extra: Any) -> Invoice:
        """A realistic invoice (three lines of GPU-cloud usage) issued at NOW, due on 16 Oct 2026."""
        self._sequence += 1
        fields = draft_fields(date(2026, 9, 1)) | extra
        stored = self.repository.create(draft(account_id=account_id, invoice_id=invoice_id, **fields))
        after = issued(stored, invoice_number=f"{SERIES}/{self._sequence:06d}")
        assert after.payment_url == PAYMENT_URL
        return self.repository.issue(stored, after, series=SERIES, sequence=self._sequence)

    def pay(self, invoice_id: str, amount: int | None = None, pay_id: str = "pay_1") -> Invoice:
        before = self.repository.get(invoice_id)
        paid = payment(amount or before.amount_due, pay_id)
        return self.repository.save(before, before.apply_payment(paid, NOW))

    def get(self, invoice_id: str) -> Invoice:
        return self.repository.get(invoice_id)

    def summary(self, account_id: str = "acc_1") -> AccountSummary:
        return self.repository.summary(account_id)

    # ---------------------------------------------------------------------------------- runs
    def configure(self, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
        """Change the sweep's settings (e.g. SWEEP_FANOUT_THRESHOLD); clients stay as they are."""
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        wiring.settings.cache_clear()

    def sweep(self, on: date, **kwargs: Any) -> dict[str, Any]:
        """The scheduled run at 06:00 IST on ``on``."""
        return self.handler.lambda_handler(scheduled_event(six_am_ist(on), **kwargs), LambdaContext())

    def sqs_event(self, bodies: list[str]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": f"msg-{i}",
                    "receiptHandle": f"rh-{i}",
                    "body": body,
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:ap-south-1:123456789012:sweep",
                    "awsRegion": REGION,
                }
                for i, body in enumerate(bodies)
            ]
        }

    def queued_work(self) -> list[dict[str, Any]]:
        """The SweepQueue's messages, left on the queue (visible again at once)."""
        sqs = boto3.client("sqs")
        url = self.env["SWEEP_QUEUE_URL"]
        messages = _receive_all(sqs, url)
        for message in messages:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [json.loads(m["Body"]) for m in messages]

    def drain_sweep_queue(self, max_invocations: int = 50) -> list[dict[str, Any]]:
        """Run the handler over SweepQueue until it is empty; the handler's responses."""
        sqs = boto3.client("sqs")
        url = self.env["SWEEP_QUEUE_URL"]
        responses = []
        for _ in range(max_invocations):
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return responses
            event = self.sqs_event([m["Body"] for m in batch])
            for record, message in zip(event["Records"], batch, strict=True):
                record["messageId"] = message["MessageId"]
            response = self.handler.lambda_handler(event, LambdaContext())
            responses.append(response)
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            for message in batch:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError("SweepQueue did not drain")

    # ------------------------------------------------------------------------------- effects
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """Every domain event published so far: (detail-type, detail)."""
        sqs = boto3.client("sqs")
        for message in _receive_all(sqs, self.events_queue_url, delete=True):
            envelope = json.loads(message["Body"])
            self._events.append((envelope["detail-type"], envelope["detail"]))
        return list(self._events)

    def event_types(self) -> list[str]:
        return [detail_type for detail_type, _ in self.events()]

    def emails(self) -> list[dict[str, Any]]:
        """Every SendEmail request, as (to, subject, text, html); moto must have accepted each."""
        accepted = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        assert len(accepted) == len(self.sent), "an e-mail SES did not accept"
        return [
            {
                "from": params["FromEmailAddress"],
                "to": params["Destination"]["ToAddresses"],
                "subject": params["Content"]["Simple"]["Subject"]["Data"],
                "text": params["Content"]["Simple"]["Body"]["Text"]["Data"],
                "html": params["Content"]["Simple"]["Body"]["Html"]["Data"],
            }
            for params in self.sent
        ]


def _receive_all(sqs: Any, url: str, *, delete: bool = False) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        if delete:
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def stack(
    resources: dict[str, str], repository: InvoiceRepository, function_env: Any
) -> Iterator[SweepStack]:
    resources = function_env("OverdueSweepFunction")
    wiring.reset()
    boto3.client("ses").verify_email_identity(EmailAddress=resources["SES_SENDER"])

    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName="sweep-test-domain-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = resources["EVENT_BUS_NAME"]
    events.put_rule(Name="all-invoicing-events", EventBusName=bus, EventPattern='{"source": ["invoicing"]}')
    events.put_targets(Rule="all-invoicing-events", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])

    handler = importlib.import_module("functions.overdue_sweep.handler")
    built = SweepStack(env=resources, repository=repository, handler=handler, events_queue_url=queue_url)

    from invoicing.adapters.aws import client

    def capture(params: dict[str, Any], **_: Any) -> None:
        built.sent.append(copy.deepcopy(params))

    client("sesv2").meta.events.register("provide-client-params.sesv2.SendEmail", capture)
    yield built
    wiring.reset()
