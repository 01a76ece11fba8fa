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

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import boto3
import pytest

from infra.demo import draft_fields
from infra.local.events import scheduled_event, sqs_event
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import IST
from invoicing.domain.summary import AccountSummary
from invoicing.wiring import common
from tests.conftest import Clock
from tests.support.functions import SWEEP, Functions
from tests.support.stack import Invoices, MotoStack
from tests.unit.factories import NOW, draft, payment

PAYMENT_URL = "https://rzp.io/i/example"
# Issued at NOW (1 Oct 2026, IST) with the default 15-day terms: due on 16 Oct 2026.
DUE = date(2026, 10, 16)


def six_am_ist(day: date) -> datetime:
    """When the schedule fires on ``day``: 06:00 India time."""
    return datetime.combine(day, time(6, 0), tzinfo=IST)


def day(n: int) -> date:
    """``n`` days past the due date."""
    return DUE + timedelta(days=n)


@dataclass
class SweepStack:
    env: dict[str, str]
    repository: Invoices
    functions: Functions
    effects: MotoStack
    clock: Clock

    # ------------------------------------------------------------------------------- invoices
    def issue(self, *, account_id: str = "acc_1", invoice_id: str | None = None, **extra: Any) -> Invoice:
        """A realistic invoice (three lines of GPU-cloud usage) issued at NOW, due on 16 Oct 2026."""
        fields = draft_fields(date(2026, 9, 1)) | extra
        stored = draft(account_id=account_id, invoice_id=invoice_id, **fields)
        return self.repository.issue(stored, now=NOW, payment_url=PAYMENT_URL)

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
        """Change the functions' settings (e.g. SWEEP_FANOUT_THRESHOLD) for this test."""
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        common.settings.cache_clear()

    def invoke(self, event: dict[str, Any]) -> Any:
        return self.functions.invoke(SWEEP, event)

    def sweep(self, on: date, *, source: str = "aws.scheduler", event_id: str = "exec-1") -> dict[str, Any]:
        """The scheduled run at 06:00 IST on ``on`` (from EventBridge Scheduler or a rule). The
        functions' clock moves on to then, as the world's would: the outbox dispatcher takes up
        what the run commits only once its clock has reached the time the run stamped it with."""
        at = six_am_ist(on)
        if self.clock.current < at:
            self.clock.set(at)
        event = scheduled_event(at, schedule_name="overdue-sweep", event_id=event_id)
        return self.invoke(event | {"source": source})

    def sqs_event(self, bodies: list[str]) -> dict[str, Any]:
        messages = [
            {"MessageId": f"msg-{i}", "ReceiptHandle": f"rh-{i}", "Body": body}
            for i, body in enumerate(bodies)
        ]
        return sqs_event(messages, queue_arn="arn:aws:sqs:ap-south-1:123456789012:sweep")

    def queued_work(self) -> list[dict[str, Any]]:
        """The SweepQueue's messages, left on the queue (visible again at once)."""
        sqs = boto3.client("sqs")
        url = self.env["SWEEP_QUEUE_URL"]
        messages = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            messages += batch
        for message in messages:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [json.loads(m["Body"]) for m in messages]

    def drain_sweep_queue(self) -> list[str]:
        """The function fed from SweepQueue until it is empty; the work it did."""
        return self.functions.feed(SWEEP, self.env["SWEEP_QUEUE_URL"])

    # ------------------------------------------------------------------------------- effects
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """Every domain event published so far: (detail-type, detail)."""
        return self.effects.events()

    def event_types(self) -> list[str]:
        return [detail_type for detail_type, _ in self.events()]

    def emails(self) -> list[dict[str, Any]]:
        return self.effects.emails()

    def render_jobs(self) -> list[dict[str, Any]]:
        return self.effects.render_jobs()


@pytest.fixture
def stack(
    resources: dict[str, str], repository: Invoices, functions: Functions, effects: MotoStack, clock: Clock
) -> Iterator[SweepStack]:
    yield SweepStack(env=resources, repository=repository, functions=functions, effects=effects, clock=clock)
    common.settings.cache_clear()  # forget what ``configure`` changed
