"""Ctrl-C and SIGTERM for ``make run``: whatever the timing, the process ends, and promptly.

Two or three signals close together used to deadlock the stack for good (a handler took an
``Event``'s lock the main thread or an earlier handler was holding). The real stack is started once
per case (about 2 s with ``DEMO_DATA=0``), so it runs a handful of cases, at microsecond gaps that
caught the deadlock about one run in six. The unlucky timing itself is not left to luck:
``main()`` with a stand-in stack gets its signals exactly while its thread holds a lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from infra.cfn import REPO_ROOT
from infra.local.shutdown import FORCED_EXIT_STATUS
from tests.e2e.conftest import _die_with_parent, exit_status, spawn_stack, wait_for

pytestmark = pytest.mark.e2e

UP = "local stack is up"


def _signal_burst(pid: int, signals: list[signal.Signals], gap_seconds: float) -> None:
    for index, signum in enumerate(signals):
        if index:
            until = time.perf_counter() + gap_seconds  # busy: sleep() cannot wait microseconds
            while time.perf_counter() < until:
                pass
        os.kill(pid, signum)


SIGINT, SIGTERM = signal.SIGINT, signal.SIGTERM


# Two bursts of three, each starting with a different signal: between them, a stack's first signal
# is either kind, and each kind follows the other at a gap of microseconds.
@pytest.mark.parametrize(
    ("signals", "gap_us"),
    [([SIGINT, SIGTERM, SIGINT], 20), ([SIGTERM, SIGINT, SIGTERM], 60)],
)
def test_signals_close_together_stop_the_running_stack_promptly(tmp_path, signals, gap_us):
    # Given
    log = tmp_path / "stack.log"
    process = spawn_stack(log)
    wait_for(process, log, UP)

    # When
    _signal_burst(process.pid, signals, gap_us / 1e6)

    # Then
    assert exit_status(process, log) in (0, FORCED_EXIT_STATUS)


@pytest.mark.parametrize(
    ("demo_data", "after"),
    [(False, "creating the resources of template.yaml"), (True, "seeding demo data")],
)
def test_a_signal_while_starting_stops_the_stack_promptly(tmp_path, demo_data, after):
    # Given
    log = tmp_path / "stack.log"
    process = spawn_stack(log, demo_data=demo_data)
    wait_for(process, log, after)

    # When
    process.send_signal(SIGINT)

    # Then
    assert exit_status(process, log) == 0
    output = log.read_text()
    assert "interrupted while starting" in output and UP not in output


# main() with a stand-in for LocalStack (nothing to start, an Event to stop), in its own process: a
# timer thread sends SIGINT once main() waits, and a profile hook sends SIGTERM whenever the main
# thread holds a Condition's lock (an Event's set() or wait() is inside notify_all or __exit__) —
# the moment when a handler that takes that lock deadlocks. The forced exit is recorded, not taken.
_AT_THE_WORST_MOMENT = textwrap.dedent(
    """
    import logging, os, signal, sys, threading
    import infra.local.stack as stack_module

    extra = int(sys.argv[1])  # signals to send at the worst moments
    sent = []
    lock_held = {threading.Condition.notify_all.__code__, threading.Condition.__exit__.__code__}

    def at_the_worst_moment(frame, event, arg):
        if event == "call" and frame.f_code in lock_held and len(sent) < extra:
            sent.append(frame.f_code.co_name)
            os.kill(os.getpid(), signal.SIGTERM)

    class StandInStack:
        def __init__(self, settings, **kwargs):
            self.stop_event = threading.Event()
        def start(self):
            pass
        def banner(self):
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
            sys.setprofile(at_the_worst_moment)  # this thread only
            return ""
        def stop(self):
            self.stop_event.set()

    forced = []
    stack_module.LocalStack = StandInStack
    os._exit = forced.append
    sys.stdout = open(os.devnull, "w")
    logging.getLogger().addHandler(logging.NullHandler())  # main()'s basicConfig: no stderr lines
    status = stack_module.main()
    sys.setprofile(None)
    print("returned", status, "sent at", sent, "forced", forced, file=sys.stderr)
    """
)


@pytest.mark.parametrize("extra_signals", [1, 2])
def test_a_signal_while_the_main_thread_holds_a_lock_cannot_deadlock_it(extra_signals):
    # Given / When
    run = subprocess.Popen(
        [sys.executable, "-c", _AT_THE_WORST_MOMENT, str(extra_signals)],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_die_with_parent,
    )
    try:
        _, errors = run.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        run.kill()
        _, errors = run.communicate()
        pytest.fail(f"main() deadlocked: a signal handler waits for a lock its own thread holds\n{errors}")

    # Then
    assert run.returncode == 0, errors
    assert "returned 0 sent at ['notify_all'" in errors, errors
