"""Render jobs to the SQS render queue (``contracts.messages`` defines the messages)."""

from __future__ import annotations

from typing import Any

from invoicing.contracts.messages import DownloadJob, RenderJob, StatementJob, render_message


class SqsRenderQueue:
    """``services.ports.RenderJobs`` and ``StatementJobs`` on SQS."""

    def __init__(self, queue_url: str, client: Any) -> None:
        self._url = queue_url
        self._client = client

    def enqueue(self, document: str, document_id: str, version: int) -> None:
        job = RenderJob.model_validate({"kind": document, "document_id": document_id, "version": version})
        self._client.send_message(QueueUrl=self._url, MessageBody=render_message(job))

    def enqueue_download(self, download_id: str) -> None:
        self._client.send_message(
            QueueUrl=self._url, MessageBody=render_message(DownloadJob(download_id=download_id))
        )

    def enqueue_statement(self, statement_id: str) -> None:
        self._client.send_message(
            QueueUrl=self._url, MessageBody=render_message(StatementJob(statement_id=statement_id))
        )
