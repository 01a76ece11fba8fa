"""``GET /invoices/export.csv`` at any size, within Lambda's 6 MB response limit.

The rows are produced page by page (one ``Query`` of 100 invoices each) and held while the body
stays under ``inline_limit`` (5 MiB, counted as the body takes room in Lambda's JSON response:
escaped). A small export is answered inline. As soon as the next row would pass the limit, the
export switches to a multipart upload to ``exports/{account}/{id}.csv`` — the rows held so far go
first, then the rest as it is produced — and the caller is answered with a short-lived link
(the route's ``303 See Other``). Memory holds at most the inline budget and one upload part,
never the whole export; the bucket's lifecycle removes the object after 7 days.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from invoicing.domain.access import Caller
from invoicing.domain.documents import CSV, DownloadLink
from invoicing.domain.ids import new_id
from invoicing.domain.numbering import ist_date
from invoicing.domain.queries import InvoiceRow, ListQuery
from invoicing.services.invoices import InvoiceService
from invoicing.services.ports import Clock, DocumentStorage

INLINE_LIMIT = 5 * 1024 * 1024  # Lambda answers at most 6 MB, headers and JSON envelope included

Encoder = Callable[[Iterable[InvoiceRow]], Iterable[str]]


def response_size(line: str) -> int:
    """The room ``line`` takes in the invocation's JSON response (quotes, CRLF, non-ASCII escaped)."""
    return len(json.dumps(line)) - 2


@dataclass(frozen=True)
class InlineCsv:
    body: str
    filename: str
    rows: int


@dataclass(frozen=True)
class StoredCsv:
    link: DownloadLink
    key: str
    size: int  # bytes uploaded
    rows: int


@dataclass
class CsvExportService:
    invoices: InvoiceService
    storage: DocumentStorage
    clock: Clock
    inline_limit: int = INLINE_LIMIT

    def export(self, caller: Caller, query: ListQuery, encode: Encoder) -> InlineCsv | StoredCsv:
        """Every invoice the list would show as CSV lines (``encode``: the contract's columns)."""
        account = caller.account_for_listing(query.account_id or None)  # 403/422 before any read
        filename = f"invoices-{re.sub(r'[^A-Za-z0-9_-]', '_', account)}-{ist_date(self.clock()):%Y%m%d}.csv"
        lines = iter(encode(self.invoices.export(caller, query)))
        held: list[str] = []
        size = 0
        for line in lines:
            held.append(line)
            size += response_size(line)
            if size > self.inline_limit:
                return self._upload(account, filename, held, lines)
        return InlineCsv("".join(held), filename, rows=max(0, len(held) - 1))

    def _upload(self, account: str, filename: str, held: list[str], rest: Iterator[str]) -> StoredCsv:
        key = f"exports/{account}/{new_id('csv')}.csv"
        rows, size = -1, 0  # the header is no row
        with self.storage.upload_stream(key, filename=filename, content_type=CSV) as out:
            for line in _drain(held):
                data = line.encode()
                out.write(data)
                rows, size = rows + 1, size + len(data)
            for line in rest:
                data = line.encode()
                out.write(data)
                rows, size = rows + 1, size + len(data)
        link = self.storage.download_link(key, filename=filename, content_type=CSV, now=self.clock())
        return StoredCsv(link=link, key=key, size=size, rows=rows)


def _drain(held: list[str]) -> Iterator[str]:
    """The held lines, oldest first, each let go of as soon as it is written."""
    held.reverse()
    while held:
        yield held.pop()
