"""The local stack's outbox poller: a round after writes, a round every ``idle_interval`` while the
tables are quiet, and rounds on while the last one did something."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

from infra.local.events import SchedulePoller, TableWrites


class _Dispatcher:
    def __init__(self) -> None:
        self.rounds = 0
        self.reports: list[dict[str, int]] = []
        self.spec = SimpleNamespace(logical_id="OutboxDispatcherFunction", function_name="outbox")

    def invoke(self, event: Any) -> dict[str, int]:
        self.rounds += 1
        return self.reports.pop(0) if self.reports else {"dispatched": 0, "failed": 0, "effects": 0}


def _until(done: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(done())


def _running(function: _Dispatcher, writes: TableWrites, idle_interval: float) -> threading.Event:
    stop = threading.Event()
    SchedulePoller(
        function,  # type: ignore[arg-type]
        stop=stop,
        interval=0.01,
        writes=writes,
        idle_interval=idle_interval,
    ).start()
    return stop


def test_a_quiet_stack_runs_the_outbox_every_idle_interval_and_a_write_at_once() -> None:
    function, writes = _Dispatcher(), TableWrites()
    stop = _running(function, writes, idle_interval=60)
    try:
        assert _until(lambda: function.rounds == 1)
        time.sleep(0.3)  # thirty intervals
        assert function.rounds == 1  # the first round; then nothing was written

        writes.count += 1
        assert _until(lambda: function.rounds == 2)
        time.sleep(0.3)
        assert function.rounds == 2
    finally:
        stop.set()


def test_rounds_go_on_while_the_last_one_dispatched_or_failed_something() -> None:
    function, writes = _Dispatcher(), TableWrites()
    function.reports = [
        {"dispatched": 1, "failed": 0, "effects": 1},
        {"dispatched": 0, "failed": 1, "effects": 0},
    ]
    stop = _running(function, writes, idle_interval=60)
    try:
        assert _until(lambda: function.rounds == 3)  # dispatched, failed, then a round that did nothing
        time.sleep(0.3)
        assert function.rounds == 3
    finally:
        stop.set()


def test_without_writes_for_idle_interval_a_round_runs_anyway() -> None:
    function, writes = _Dispatcher(), TableWrites()
    stop = _running(function, writes, idle_interval=0.1)
    try:
        assert _until(lambda: function.rounds >= 3)  # three rounds, not a write between them
    finally:
        stop.set()
