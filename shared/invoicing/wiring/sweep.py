"""The overdue sweep's composition root: its settings, adapters and a fresh ``OverdueSweep``."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.metrics import MetricUnit

from invoicing.adapters.aws import client
from invoicing.adapters.email import SesReminderMailer
from invoicing.adapters.events import EventBridgePublisher
from invoicing.adapters.render_queue import SqsRenderQueue
from invoicing.adapters.sweep_queue import SqsSweepQueue
from invoicing.config import SweepSettings, load
from invoicing.observability import metrics
from invoicing.repository.invoices import InvoiceRepository
from invoicing.services.sweep import OverdueSweep

# The sweep never lists invoices, so it never signs a page cursor: the repository's cursor codec
# gets a fixed key instead of a Secrets Manager read the function would need a grant for.


class PowertoolsCounter:
    """``Counter`` onto the function's Powertools metrics (flushed by ``@metrics.log_metrics``)."""

    def count(self, name: str) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@cache
def settings() -> SweepSettings:
    return load(SweepSettings)


@cache
def repository() -> InvoiceRepository:
    return InvoiceRepository(settings().invoices_table, client("dynamodb"))


@cache
def mailer() -> SesReminderMailer:
    return SesReminderMailer(settings().ses_sender, client("sesv2"))


@cache
def events() -> EventBridgePublisher:
    return EventBridgePublisher(settings().event_bus_name, client("events"))


@cache
def work_queue() -> SqsSweepQueue:
    return SqsSweepQueue(settings().sweep_queue_url, client("sqs"))


@cache
def renders() -> SqsRenderQueue:
    return SqsRenderQueue(settings().render_queue_url, client("sqs"))


def overdue_sweep() -> OverdueSweep:
    """A new sweep per invocation (it carries the invocation's budget); its adapters are shared."""
    return OverdueSweep(
        repository=repository(),
        events=events(),
        mailer=mailer(),
        queue=work_queue(),
        renders=renders(),
        metrics=PowertoolsCounter(),
        fanout_threshold=settings().sweep_fanout_threshold,
    )


def reset() -> None:
    """Forget everything built (tests that change the environment between cases)."""
    from invoicing.adapters import aws

    for factory in (settings, repository, mailer, events, work_queue, renders):
        factory.cache_clear()
    aws.reset()
