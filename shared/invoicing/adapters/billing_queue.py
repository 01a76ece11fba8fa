"""The billing queue (SQS): a run's planning and one message per account, read back by the
billing function's SQS event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from invoicing.contracts.messages import BillAccountJob, PlanRunJob
from invoicing.domain.billing import AccountWork

_BATCH = 10  # SendMessageBatch's limit


class SqsBillingQueue:
    """``services.ports.BillingQueue``."""

    def __init__(self, queue_url: str, client: Any) -> None:
        self._url = queue_url
        self._client = client

    def plan(self, run_id: str) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=PlanRunJob(run_id=run_id).model_dump_json())

    def bill(self, run_id: str, period: str, works: Sequence[AccountWork]) -> None:
        """Ten messages to a call; any entry SQS refuses raises (planning again is harmless)."""
        bodies = [
            BillAccountJob(
                run_id=run_id, period=period, account_id=work.account_id, finish=list(work.finish)
            ).model_dump_json()
            for work in works
        ]
        for start in range(0, len(bodies), _BATCH):
            batch = bodies[start : start + _BATCH]
            response = self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)],
            )
            failed = response.get("Failed") or []
            if failed:
                codes = ", ".join(sorted({f.get("Code", "?") for f in failed}))
                raise RuntimeError(f"SQS refused {len(failed)} billing message(s): {codes}")
