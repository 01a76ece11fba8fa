"""Render jobs to the SQS render queue. A job names an invoice and the version to render."""

from __future__ import annotations

import json
from typing import Any

from invoicing.domain.invoice import Invoice


class SqsRenderQueue:
    def __init__(self, queue_url: str, client: Any) -> None:
        self._url = queue_url
        self._client = client

    def enqueue(self, invoice: Invoice) -> None:
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"kind": "invoice", "invoice_id": invoice.id, "version": invoice.version}),
        )
