"""Render jobs to the SQS render queue: an invoice and the version to render, or a bulk download."""

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

    def enqueue_download(self, download_id: str) -> None:
        """Ask for a stored bulk-download job's ZIP to be built."""
        self._client.send_message(
            QueueUrl=self._url, MessageBody=json.dumps({"kind": "download", "download_id": download_id})
        )
