"""Recorders for the messaging ports: EventBridge, SQS (render jobs, sweep work), SES, metrics.

Each records what it was asked to do and can be told to fail the next ``n`` calls.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from invoicing.domain.sweep import Reminder, SweepWork


@dataclass
class _Failing:
    failures: int = 0

    def fail_next(self, times: int = 1) -> None:
        self.failures += times

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("injected failure")


@dataclass
class RecordingEvents(_Failing):
    published: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def publish(self, detail_type: str, detail: dict[str, Any], *, event_id: str) -> None:
        self._maybe_fail()
        self.published.append((detail_type, detail, event_id))

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.published]


@dataclass
class RecordingRenderJobs(_Failing):
    jobs: list[tuple[str, str, int]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    def enqueue(self, document: str, document_id: str, version: int) -> None:
        self._maybe_fail()
        self.jobs.append((document, document_id, version))

    def enqueue_download(self, download_id: str) -> None:
        self._maybe_fail()
        self.downloads.append(download_id)


@dataclass
class RecordingMailer(_Failing):
    sent: list[Reminder] = field(default_factory=list)

    def send_reminder(self, reminder: Reminder) -> None:
        self._maybe_fail()
        self.sent.append(reminder)


@dataclass
class RecordingSweepQueue(_Failing):
    works: list[SweepWork] = field(default_factory=list)

    def enqueue(self, works: Sequence[SweepWork]) -> None:
        self._maybe_fail()
        self.works.extend(works)


@dataclass
class RecordingCounter:
    counts: Tally[str] = field(default_factory=Tally)

    def count(self, name: str) -> None:
        self.counts[name] += 1


class FixedClock:
    """A clock tests move by hand; every reading advances one second when ``tick`` (list order)."""

    def __init__(self, now: Any, *, tick: bool = False) -> None:
        from datetime import timedelta

        self.now = now
        self._step = timedelta(seconds=1) if tick else timedelta(0)

    def __call__(self) -> Any:
        self.now = self.now + self._step
        return self.now

    def set(self, now: Any) -> None:
        self.now = now
