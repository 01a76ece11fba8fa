"""Registration jobs to the SQS e-invoice queue (``contracts.messages.EInvoiceJob``)."""

from __future__ import annotations

from typing import Any

from invoicing.contracts.messages import EInvoiceJob

MAX_DELAY_SECONDS = 900  # SQS's DelaySeconds limit


class SqsEInvoiceQueue:
    """``services.ports.EInvoiceJobs`` on SQS: a backoff is the message's ``DelaySeconds``."""

    def __init__(self, queue_url: str, client: Any) -> None:
        self._url = queue_url
        self._client = client

    def enqueue(self, document: str, document_id: str, attempt: int, *, delay_seconds: int = 0) -> None:
        job = EInvoiceJob.model_validate(
            {"document": document, "document_id": document_id, "attempt": attempt}
        )
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=job.model_dump_json(),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )
