"""The overdue sweep's composition root: its settings, adapters and a fresh ``OverdueSweep``."""

from __future__ import annotations

from functools import cache

from invoicing.adapters.aws import client
from invoicing.adapters.sweep_queue import SqsSweepQueue
from invoicing.config import SweepSettings
from invoicing.services.sweep import OverdueSweep
from invoicing.wiring import common


def settings() -> SweepSettings:
    return common.settings(SweepSettings)


@cache
def work_queue() -> SqsSweepQueue:
    return SqsSweepQueue(settings().sweep_queue_url, client("sqs"))


def overdue_sweep() -> OverdueSweep:
    """A new sweep per invocation (it carries the invocation's budget); its adapters are shared."""
    config = settings()
    return OverdueSweep(
        invoices=common.invoice_store(config.invoices_table),
        transactions=common.transactions(config.invoices_table),
        queue=work_queue(),
        metrics=common.counter(),
        fanout_threshold=config.sweep_fanout_threshold,
    )


def reset() -> None:
    """Forget everything built (tests that change the environment between cases)."""
    work_queue.cache_clear()
    common.reset()
