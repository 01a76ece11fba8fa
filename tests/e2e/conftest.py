"""The local stack for e2e tests: ``python -m infra.local`` (what ``make run`` runs) on free ports.

It runs in a child process, not in the test process: moto's backends are process-global, so an
in-process stack would be wiped by every other test's ``mock_aws`` (which resets all backends), and
its background pollers would land in the suite's AWS call recorder while call-count tests run. In its
own process the stack is exactly what a developer gets, with its own Scan guard. One stack for the
whole run, shared by the pytest-xdist workers (starting one with the demo data is the costliest
thing the e2e tests do): started on first use, stopped (SIGTERM, must exit 0) at the end. Tests on it
may run side by side, one per worker, as ``stack``; a test that changes or counts what others change
takes it ``stack_alone``.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from infra.cfn import REPO_ROOT

START_TIMEOUT_SECONDS = 120  # ~6 s usually; generous for a loaded CI machine
SHARED_STACK_WAIT_SECONDS = 1800  # the other worker's tests, at most
EXIT_SECONDS = 6.0  # about 1 s idle (a second signal forces the exit 1 s later); slack for a busy CI
KEY_ID = "rzp_test_e2e"
KEY_SECRET = "e2e_key_secret"
WEBHOOK_SECRET = "e2e_webhook_secret"
T = TypeVar("T")


@dataclass(frozen=True)
class Stack:
    url: str
    aws_url: str
    log: Path

    @property
    def razorpay_base_url(self) -> str:
        return f"{self.url}/_razorpay"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the stack gets SIGTERM if its test worker dies without tearing it down (no orphans)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_until_up(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or too busy starting to answer
            pass
        time.sleep(0.2)
    pytest.fail(f"the local stack was not up after {START_TIMEOUT_SECONDS}s:\n{log.read_text()[-4000:]}")


def _start_stack(
    log: Path, *, demo_data: bool = True, unset: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, Stack]:
    """``make run``'s stack on free ports, up (``/health`` 200); ``unset``: names it does not get
    from this process's environment."""
    port, aws_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL") and k not in unset}
    env.update(
        PORT=str(port),
        AWS_PORT=str(aws_port),
        DEMO_DATA="1" if demo_data else "0",
        RAZORPAY_KEY_ID=KEY_ID,
        RAZORPAY_KEY_SECRET=KEY_SECRET,
        RAZORPAY_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=REPO_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # runs between fork and exec: one prctl call, no locks
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, url, log)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, Stack(url=url, aws_url=f"http://127.0.0.1:{aws_port}", log=log)


def _stop_stack(process: subprocess.Popen, log: Path) -> None:
    """SIGTERM: the stack must stop cleanly (exit 0)."""
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = None
    assert code == 0, f"the local stack did not stop cleanly on SIGTERM ({code}):\n{log.read_text()[-3000:]}"


@contextmanager
def _locked(path: Path, mode: int = fcntl.LOCK_EX) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str = "local-stack") -> Path | None:
    """The folder this run's xdist workers share for ``name`` (under the parent of each one's
    basetemp); None without xdist."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    shared.mkdir(exist_ok=True)
    return shared


class _SharedState:
    """``state.json`` beside the lock: the running stack, the worker that started it (its parent,
    the one that stops it) and the workers using it."""

    def __init__(self, folder: Path) -> None:
        self.lock = folder / "lock"
        self.file = folder / "state.json"

    def read(self) -> dict | None:
        return json.loads(self.file.read_text()) if self.file.exists() else None

    def write(self, state: dict) -> None:
        self.file.write_text(json.dumps(state))


def _one_for_the_run(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    start: Callable[[Path], tuple[subprocess.Popen, Stack]],
) -> Iterator[Stack]:
    """One stack for the whole run: the first worker to need it starts it, the others use it, and
    the worker that started it stops it (SIGTERM, must exit 0) once no other worker uses it."""
    folder = _shared_dir(tmp_path_factory, name)
    if folder is None:  # no xdist: this process's own
        process, stack = start(tmp_path_factory.mktemp(name) / "stack.log")
        try:
            yield stack
        finally:
            _stop_stack(process, stack.log)
        return

    shared, me = _SharedState(folder), os.getpid()
    process = None
    with _locked(shared.lock):
        state = shared.read()
        if state is None or state["stopped"] or not _alive(state["owner"]):
            process, started = start(tmp_path_factory.mktemp(name) / "stack.log")
            state = {"owner": me, "users": [], "stopped": False, **asdict(started), "log": str(started.log)}
        state["users"].append(me)
        shared.write(state)
    stack = Stack(url=state["url"], aws_url=state["aws_url"], log=Path(state["log"]))
    try:
        yield stack
    finally:
        with _locked(shared.lock):
            state = shared.read()
            assert state is not None
            state["users"] = [pid for pid in state["users"] if pid != me]
            shared.write(state)
        if process is not None:  # ours: stopped once the other workers are done with it
            deadline = time.monotonic() + SHARED_STACK_WAIT_SECONDS
            while True:
                with _locked(shared.lock):
                    state = shared.read()
                    assert state is not None
                    if not any(map(_alive, state["users"])) or time.monotonic() > deadline:
                        state["stopped"] = True
                        shared.write(state)
                        break
                time.sleep(0.2)
            _stop_stack(process, stack.log)


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``make run``'s stack with the demo data, one for the run."""
    yield from _one_for_the_run(tmp_path_factory, "local-stack", _start_stack)


@pytest.fixture(scope="session")
def bare_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``make run``'s stack without demo data (no account but the tests' own), as a developer
    starts it: no POWERTOOLS_DEV in the shell (the suite sets 0), so its logs are for a person. One
    for the run; it must stop on SIGTERM with exit 0."""
    yield from _one_for_the_run(
        tmp_path_factory,
        "bare-stack",
        lambda log: _start_stack(log, demo_data=False, unset=("POWERTOOLS_DEV",)),
    )


@pytest.fixture
def stack(shared_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack for one test, which may run beside another worker's test on it."""
    yield from _using(shared_stack, tmp_path_factory, fcntl.LOCK_SH)


@pytest.fixture
def stack_alone(shared_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack for one test that no other test may use meanwhile (it changes or counts
    something other tests change: the demo data's statuses, the prepaid wallet's balance)."""
    yield from _using(shared_stack, tmp_path_factory, fcntl.LOCK_EX)


def _using(shared_stack: Stack, tmp_path_factory: pytest.TempPathFactory, mode: int) -> Iterator[Stack]:
    """The shared stack while this run's tests hold its lock in ``mode`` (shared or exclusive)."""
    folder = _shared_dir(tmp_path_factory)
    if folder is None:
        yield shared_stack
        return
    with _locked(folder / "tests", mode):
        yield shared_stack


# ------------------------------------------------------------ stacks of a test's own
def spawn_stack(log: Path, *, demo_data: bool = False, unset: tuple[str, ...] = ()) -> subprocess.Popen:
    """``python -m infra.local`` on free ports (PORT=0, AWS_PORT=0), its output in ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL") and k not in unset}
    env.update(PORT="0", AWS_PORT="0", DEMO_DATA="1" if demo_data else "0", PYTHONUNBUFFERED="1")
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=REPO_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )


def wait_for(process: subprocess.Popen, log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {text!r} from the stack ({process.returncode}):\n{log.read_text()[-3000:]}")
        time.sleep(0.01)


def exit_status(process: subprocess.Popen, log: Path, timeout: float = EXIT_SECONDS) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the stack did not exit within {timeout}s:\n{log.read_text()[-3000:]}")


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 10.0) -> T:
    """``read()`` again until ``done`` says yes (effects follow commits through the outbox, which the
    stack polls twice a second); the last reading either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)
