"""Bulk-download jobs (``POST /invoices/downloads``) in the invoices table, and the batched read of
the invoices a job names.

Item: ``DOWNLOAD#{id}`` / ``DOWNLOAD`` with ``account_id``, ``invoice_ids``, ``status``
(``pending`` → ``ready`` | ``failed``), ``key`` (the ZIP's S3 key), ``count``, ``created_at`` and
``expires_at`` (epoch seconds: the table's TTL removes the job when the ZIP's lifecycle rule
removes the ZIP). The API writes it with a conditional put; the renderer moves it out of
``pending`` with a conditional update, so a repeated job never flips a finished one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from invoicing.domain.errors import ConflictError, NotFoundError, RetryableError
from invoicing.domain.invoice import InvoiceStatus
from invoicing.repository import records
from invoicing.repository.errors import error_code, translate_client_error

DOWNLOAD_SK = "DOWNLOAD"
BATCH_GET_KEYS = 100  # DynamoDB's BatchGetItem limit
BATCH_GET_ATTEMPTS = 5


class DownloadStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class Download:
    id: str
    account_id: str
    invoice_ids: tuple[str, ...]
    status: DownloadStatus
    key: str
    created_at: datetime
    expires_at: datetime  # when the job (and its ZIP) is removed

    @property
    def count(self) -> int:
        return len(self.invoice_ids)


@dataclass(frozen=True)
class InvoiceOwner:
    """What deciding whether a caller may download an invoice needs: its account and status."""

    invoice_id: str
    account_id: str
    status: InvoiceStatus


def download_key(download_id: str) -> dict[str, Any]:
    return {"pk": f"DOWNLOAD#{download_id}", "sk": DOWNLOAD_SK}


class DownloadRepository:
    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def owners(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceOwner]:
        """Account and status of each invoice that exists (absent ones are left out).

        ``BatchGetItem`` of 100 keys at a time, projecting three attributes; unprocessed keys are
        asked for again (a few times, then ``RetryableError``).
        """
        found: dict[str, InvoiceOwner] = {}
        for chunk in _chunks(list(dict.fromkeys(invoice_ids)), BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [records.serialize(records.invoice_key(i)) for i in chunk],
                    "ProjectionExpression": "#id, account_id, #status",
                    "ExpressionAttributeNames": {"#id": "id", "#status": "status"},
                    "ConsistentRead": True,
                }
            }
            for _ in range(BATCH_GET_ATTEMPTS):
                response = self._call("batch_get_item", RequestItems=request)
                for raw in response.get("Responses", {}).get(self._table, []):
                    item = records.deserialize(raw)
                    found[item["id"]] = InvoiceOwner(
                        item["id"], item["account_id"], InvoiceStatus(item["status"])
                    )
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RetryableError("DynamoDB left keys unprocessed; retry.")
        return found

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
            "created_at": _ts(download.created_at),
            "expires_at": int(download.expires_at.timestamp()),
        }
        try:
            self._call(
                "put_item", Item=records.serialize(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConflictError(f"Download {download.id} already exists.") from None
            raise
        return download

    def get(self, download_id: str) -> Download:
        """Exactly one strongly consistent ``GetItem``."""
        response = self._call(
            "get_item", Key=records.serialize(download_key(download_id)), ConsistentRead=True
        )
        if "Item" not in response:
            raise NotFoundError(f"No download {download_id}.")
        item = records.deserialize(response["Item"])
        return Download(
            id=item["id"],
            account_id=item["account_id"],
            invoice_ids=tuple(item["invoice_ids"]),
            status=DownloadStatus(item["status"]),
            key=item["key"],
            created_at=datetime.fromisoformat(item["created_at"]),
            expires_at=datetime.fromtimestamp(item["expires_at"], UTC),
        )

    def finish(self, download_id: str, status: DownloadStatus, *, reason: str | None = None) -> bool:
        """Move a pending job to ``ready`` or ``failed``: one conditional ``UpdateItem``.

        ``False`` (nothing changed) when it is no longer pending: a repeated job is harmless.
        """
        names = {"#status": "status"}
        values: dict[str, Any] = {":status": status.value, ":pending": DownloadStatus.PENDING.value}
        update = "SET #status = :status"
        if reason is not None:
            update += ", failure_reason = :reason"
            values[":reason"] = reason
        try:
            self._call(
                "update_item",
                Key=records.serialize(download_key(download_id)),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #status = :pending",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=records.serialize(values),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        if operation != "batch_get_item":
            params.setdefault("TableName", self._table)
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise translate_client_error(exc) from exc


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
