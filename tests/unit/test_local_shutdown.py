"""``make run``'s signal handling in-process: signals count, the waiting thread wakes, a third one quits."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from infra.local.shutdown import FORCED_EXIT_STATUS, Shutdown


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``os._exit`` recorded instead of taken."""
    taken: list[int] = []
    monkeypatch.setattr(os, "_exit", taken.append)
    return taken


def _soon(signum: int, delay: float = 0.05) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, (os.getpid(), signum))
    timer.start()
    return timer


def test_a_signal_requests_a_stop_and_wakes_the_waiting_thread():
    with Shutdown() as shutdown:
        started = time.monotonic()
        _soon(signal.SIGTERM)

        assert shutdown.wait() is True

    assert shutdown.requested
    assert time.monotonic() - started < 2


def test_without_a_signal_the_wait_times_out():
    with Shutdown() as shutdown:
        assert shutdown.wait(timeout=0.05) is False
        assert not shutdown.requested


def test_a_second_signal_forces_the_exit_after_the_grace_and_a_third_at_once(exits):
    with Shutdown(grace_seconds=0.1) as shutdown:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        assert shutdown.wait() and exits == []

        deadline = time.monotonic() + 5
        while not exits and time.monotonic() < deadline:
            time.sleep(0.01)  # the grace runs out (SIGALRM)
        assert exits == [FORCED_EXIT_STATUS]

        os.kill(os.getpid(), signal.SIGINT)
        assert exits == [FORCED_EXIT_STATUS, FORCED_EXIT_STATUS]


def test_closing_disarms_the_grace_and_restores_the_previous_handlers(exits):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with Shutdown(grace_seconds=0.1):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)

    time.sleep(0.2)
    assert exits == []
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
