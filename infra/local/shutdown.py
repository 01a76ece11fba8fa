"""Ctrl-C and SIGTERM for ``make run``: a signal only counts; the main thread does the stopping.

A Python signal handler runs in the main thread between two bytecodes — possibly while that thread
holds a lock: an ``Event``'s condition on its way into or out of ``wait()``, an earlier handler's own
``Event.set()``, a logging handler. Those locks are not reentrant, so a handler that takes one can
deadlock the process for good, which is what ``make run`` did when two signals came close together.
The handlers here take no lock and call nothing that does: they count (``next()`` on an
``itertools.count`` is atomic) and ``signal.set_wakeup_fd`` wakes the main thread, which then stops
the stack itself.

* 1st signal: stop. While starting, ``LocalStack.start`` notices at its next checkpoint.
* 2nd signal: the stop gets ``FORCE_GRACE_SECONDS`` more, then the process ends with ``os._exit``
  (the timer is ``setitimer``; SIGALRM's handler is as lock-free as the others).
* 3rd signal: ``os._exit`` at once.

Only ``os.write`` to stderr is used to say so: ``print`` would take the stream's lock.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import signal
import socket
import time
from types import FrameType
from typing import Any

FORCE_GRACE_SECONDS = 1.0
FORCED_EXIT_STATUS = 130  # the shell's "interrupted"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Shutdown:
    """Counts SIGINT/SIGTERM from :meth:`install` until :meth:`close` (main thread only)."""

    def __init__(self, *, grace_seconds: float = FORCE_GRACE_SECONDS) -> None:
        self.grace_seconds = grace_seconds
        self.requested = False  # set by the first signal; a plain attribute, read by the main thread
        self._signals = itertools.count(1)
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous: dict[int, Any] = {}
        self._previous_wakeup_fd = -1
        self._installed = False

    # ------------------------------------------------------------------------------ set-up
    def install(self) -> Shutdown:
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        if hasattr(signal, "setitimer"):
            self._previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_grace_over)
        self._installed = True
        return self

    def close(self) -> None:
        """Disarm the timer, restore the previous handlers and wakeup fd."""
        if self._installed:
            if hasattr(signal, "setitimer"):
                signal.setitimer(signal.ITIMER_REAL, 0)
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(self._previous_wakeup_fd)
            self._installed = False
        self._reader.close()
        self._writer.close()

    def __enter__(self) -> Shutdown:
        return self if self._installed else self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------- waiting
    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (True) or ``timeout`` seconds passed (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.requested:  # looping lets a handler still pending run before the next check
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            select.select([self._reader], [], [], remaining)
            with contextlib.suppress(BlockingIOError):
                while self._reader.recv(64):
                    pass
        return self.requested

    # --------------------------------------------------------------------------- handlers
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        count = next(self._signals)
        self.requested = True
        if count == 2:
            os.write(2, b"\nstopping; once more to quit at once\n")
            if hasattr(signal, "setitimer"):
                signal.setitimer(signal.ITIMER_REAL, self.grace_seconds)
            else:  # pragma: no cover - no timers (Windows): do not wait
                self._force_exit()
        elif count >= 3:
            self._force_exit()

    def _on_grace_over(self, signum: int, frame: FrameType | None) -> None:
        self._force_exit()

    @staticmethod
    def _force_exit() -> None:
        os.write(2, b"make run: forced exit\n")
        os._exit(FORCED_EXIT_STATUS)
