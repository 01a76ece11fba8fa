"""Retrying a conditional write that lost a race: re-read, re-decide, with jittered backoff.

Two writers on one invoice (a burst of payments, a PATCH and a webhook) conflict by design: the
loser's conditional write fails and it must read the invoice again. Retrying at once makes the
losers collide again; "full jitter" (a random delay up to an exponentially growing cap) spreads
them out. The total delay stays well inside a webhook's few seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    attempts: int = 6
    base_seconds: float = 0.025
    cap_seconds: float = 0.4
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def tries(self) -> Iterator[int]:
        """Attempt numbers 0, 1, ...; sleeps before every attempt but the first."""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.jitter() * min(self.cap_seconds, self.base_seconds * 2**attempt))
            yield attempt


NO_WAIT = Backoff(sleep=lambda _: None)
