"""The PDF bucket: store rendered documents, hand out short-lived download links, stream uploads.

Objects are private (the bucket blocks public access); clients only ever get presigned ``GET``
URLs, at most 15 minutes long, that make the browser save the file under a readable name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from botocore.exceptions import ClientError

from invoicing.domain.documents import PDF, ZIP, DownloadLink

MAX_LINK_SECONDS = 15 * 60
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_BYTES = 8 * 1024 * 1024
DEFAULT_CHUNK_BYTES = 256 * 1024
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """A name that needs no quoting in ``Content-Disposition``: ``INV/2627/1.pdf`` → ``INV-2627-1.pdf``."""
    cleaned = _UNSAFE_FILENAME.sub("-", name).strip("-.")
    return cleaned or "document"


class DocumentStorage:
    """``services.ports.DocumentStorage`` on the PDF bucket."""

    def __init__(self, bucket: str, client: Any) -> None:
        self._bucket = bucket
        self._client = client

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, body: bytes, *, filename: str, content_type: str = PDF) -> None:
        """Store ``body`` at ``key`` (encrypted at rest; overwriting the same bytes is harmless)."""
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ContentDisposition=f'inline; filename="{safe_filename(filename)}"',
            ServerSideEncryption="AES256",
        )

    def download_link(
        self,
        key: str,
        *,
        filename: str,
        content_type: str = PDF,
        expires_in: int = MAX_LINK_SECONDS,
        now: datetime | None = None,
    ) -> DownloadLink:
        """A presigned ``GET`` that saves the object as ``filename``; valid for at most 15 minutes."""
        if not 0 < expires_in <= MAX_LINK_SECONDS:
            raise ValueError(f"expires_in must be between 1 and {MAX_LINK_SECONDS} seconds")
        name = safe_filename(filename)
        url = self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{name}"',
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_in,
            HttpMethod="GET",
        )
        issued = now or datetime.now(UTC)
        return DownloadLink(url=url, expires_at=issued + timedelta(seconds=expires_in), filename=name)

    def stream(self, key: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        """The object at ``key`` in chunks of at most ``chunk_bytes``, as it arrives (never whole)."""
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()

    def upload_stream(
        self,
        key: str,
        *,
        filename: str,
        content_type: str = ZIP,
        part_bytes: int = DEFAULT_PART_BYTES,
    ) -> MultipartWriter:
        """A write-only file object that streams to ``key`` as a multipart upload.

        Use it as a context manager: a clean exit completes the upload, an exception aborts it
        (the bucket's lifecycle rule also removes abandoned uploads after a day). Memory stays
        around one part, whatever the size of the object; ``zipfile.ZipFile`` can write to it.
        """
        return MultipartWriter(
            self._client,
            bucket=self._bucket,
            key=key,
            part_bytes=part_bytes,
            extra={
                "ContentType": content_type,
                "ContentDisposition": f'attachment; filename="{safe_filename(filename)}"',
                "ServerSideEncryption": "AES256",
            },
        )


class MultipartWriter:
    """Buffers writes into parts of ``part_bytes`` and uploads each as it fills."""

    def __init__(self, client: Any, *, bucket: str, key: str, part_bytes: int, extra: dict[str, str]) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"parts must be at least {MIN_PART_BYTES} bytes")
        self._client = client
        self._bucket = bucket
        self._key = key
        self._part_bytes = part_bytes
        self._extra = extra
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._written = 0
        self._closed = False

    # -------------------------------------------------------------- file object
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Parts go out as they fill; nothing to do until then."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed upload")
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) >= self._part_bytes:
            self._upload_part(self._buffer[: self._part_bytes])  # one copy (a bytearray slice)
            del self._buffer[: self._part_bytes]
        return len(data)

    # -------------------------------------------------------------- lifecycle
    def __enter__(self) -> MultipartWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def close(self) -> None:
        """Upload what is left and complete the object."""
        if self._closed:
            return
        if self._upload_id is None:
            # Smaller than one part: a plain PUT is one request instead of three.
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=self._buffer, **self._extra)
        else:
            if self._buffer:
                self._upload_part(self._buffer)
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer.clear()
        self._closed = True

    def abort(self) -> None:
        """Give up: nothing becomes visible at the key."""
        self._closed = True
        self._buffer.clear()
        if self._upload_id is not None:
            # If this fails, the bucket's AbortIncompleteMultipartUploads rule removes it within a day.
            with suppress(ClientError):
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )

    def _upload_part(self, body: bytes | bytearray) -> None:
        if self._upload_id is None:
            created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key, **self._extra)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        response = self._client.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})
