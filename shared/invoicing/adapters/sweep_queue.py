"""Fanned-out sweep work to the SQS sweep queue, read back by the sweep function's SQS event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from invoicing.domain.sweep import SweepWork

_BATCH = 10  # SendMessageBatch's limit


class SqsSweepQueue:
    def __init__(self, queue_url: str, client: Any) -> None:
        self._url = queue_url
        self._client = client

    def enqueue(self, works: Sequence[SweepWork]) -> None:
        """Send every work item, ten to a call; any entry SQS refuses raises (the run is retried)."""
        for start in range(0, len(works), _BATCH):
            batch = works[start : start + _BATCH]
            response = self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": work.to_message()} for i, work in enumerate(batch)],
            )
            failed = response.get("Failed") or []
            if failed:
                codes = ", ".join(sorted({f.get("Code", "?") for f in failed}))
                raise RuntimeError(f"SQS refused {len(failed)} sweep work message(s): {codes}")
