"""Bulk-download jobs (``POST /invoices/downloads``) in the invoices table.

Item: ``DOWNLOAD#{id}`` / ``DOWNLOAD`` with ``account_id``, ``invoice_ids``, ``status``
(``pending`` → ``ready`` | ``failed``), ``key`` (the ZIP's S3 key), ``count``, ``created_at`` and
``expires_at`` (epoch seconds: the table's TTL removes the job when the ZIP's lifecycle rule
removes the ZIP). The API writes it with a conditional put; the renderer moves it out of
``pending`` with a conditional update, so a repeated job never flips a finished one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from invoicing.domain.documents import Download, DownloadStatus
from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.repository.table import Table, parse_ts, serialize, ts

DOWNLOAD_SK = "DOWNLOAD"


def download_key(download_id: str) -> dict[str, Any]:
    return {"pk": f"DOWNLOAD#{download_id}", "sk": DOWNLOAD_SK}


class DynamoDownloadStore:
    """``services.ports.DownloadStore`` on the invoices table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, download: Download) -> Download:
        """One conditional ``PutItem``: a new job id never overwrites another job."""
        item = {
            **download_key(download.id),
            "entity": "download",
            "id": download.id,
            "account_id": download.account_id,
            "invoice_ids": list(download.invoice_ids),
            "status": download.status.value,
            "key": download.key,
            "count": download.count,
            "created_at": ts(download.created_at),
            "expires_at": int(download.expires_at.timestamp()),
        }
        if not self._table.put_new(item):
            raise ConflictError(f"Download {download.id} already exists.")
        return download

    def get(self, download_id: str) -> Download:
        """Exactly one strongly consistent ``GetItem``."""
        item = self._table.get(download_key(download_id))
        if item is None:
            raise NotFoundError(f"No download {download_id}.")
        return Download(
            id=item["id"],
            account_id=item["account_id"],
            invoice_ids=tuple(item["invoice_ids"]),
            status=DownloadStatus(item["status"]),
            key=item["key"],
            created_at=parse_ts(item["created_at"]),
            expires_at=datetime.fromtimestamp(item["expires_at"], UTC),
        )

    def finish(self, download_id: str, status: DownloadStatus, *, reason: str | None = None) -> bool:
        """Move a pending job to ``ready`` or ``failed``: one conditional ``UpdateItem``.

        ``False`` (nothing changed) when it is no longer pending: a repeated job is harmless.
        """
        values: dict[str, Any] = {":status": status.value, ":pending": DownloadStatus.PENDING.value}
        update = "SET #status = :status"
        if reason is not None:
            update += ", failure_reason = :reason"
            values[":reason"] = reason
        return self._table.update_if(
            download_key(download_id),
            UpdateExpression=update,
            ConditionExpression="attribute_exists(pk) AND #status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=serialize(values),
        )
