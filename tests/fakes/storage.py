"""Documents in service tests: an in-memory bucket (``DocumentStorage``) and a renderer that records.

The bucket keeps bytes by key with the file name they download as; links are fake URLs that name
the key. The renderer writes a deterministic stand-in PDF naming the invoice and version.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO

from invoicing.domain.credit_notes import CreditNote
from invoicing.domain.documents import DownloadLink
from invoicing.domain.invoice import Invoice

LINK_LIFETIME = timedelta(minutes=15)
CHUNK = 4096


class _Upload(io.BytesIO):
    def __init__(self, storage: InMemoryStorage, key: str, filename: str) -> None:
        super().__init__()
        self._storage, self._key, self._filename = storage, key, filename

    def __exit__(self, exc_type, exc, tb):  # type: ignore[no-untyped-def]
        if exc_type is None:  # completed; an aborted upload leaves nothing
            self._storage.objects[self._key] = (self.getvalue(), self._filename)
        return super().__exit__(exc_type, exc, tb)


@dataclass
class InMemoryStorage:
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # key -> (body, filename)
    links: list[str] = field(default_factory=list)

    def put(self, key: str, body: bytes, *, filename: str, content_type: str) -> None:
        self.objects[key] = (body, filename)

    def stream(self, key: str) -> Iterator[bytes]:
        body, _ = self.objects[key]
        for start in range(0, len(body), CHUNK):
            yield body[start : start + CHUNK]

    def upload_stream(self, key: str, *, filename: str, content_type: str = "application/zip") -> IO[bytes]:
        return _Upload(self, key, filename)

    def download_link(self, key: str, *, filename: str, content_type: str, now: datetime) -> DownloadLink:
        self.links.append(key)
        return DownloadLink(
            url=f"https://bucket.example/{key}?sig=x", expires_at=now + LINK_LIFETIME, filename=filename
        )


@dataclass
class RecordingRenderer:
    rendered: list[tuple[str, int]] = field(default_factory=list)
    credit_notes: list[CreditNote] = field(default_factory=list)

    def render(self, invoice: Invoice) -> bytes:
        self.rendered.append((invoice.id, invoice.version))
        return f"%PDF {invoice.id} v{invoice.version}".encode()

    def render_credit_note(self, note: CreditNote) -> bytes:
        self.credit_notes.append(note)
        return f"%PDF {note.id} v{note.version}".encode()
