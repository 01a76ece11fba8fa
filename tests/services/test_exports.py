"""``GET /invoices/export.csv`` at any size: inline while small, streamed to the bucket past the limit
(the route's 303), never holding the whole export in memory."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from invoicing.contracts.invoices import csv_export, csv_lines
from invoicing.domain.access import Caller
from invoicing.domain.documents import DownloadLink
from invoicing.domain.errors import DomainValidationError, ForbiddenError
from invoicing.domain.invoice import Invoice
from invoicing.domain.queries import ListQuery, Page
from invoicing.services.exports import CsvExportService, InlineCsv, StoredCsv, response_size
from invoicing.services.invoices import InvoiceService
from tests.services.conftest import POLICY, World
from tests.unit.factories import NOW, issued

CUSTOMER = Caller("acc_1")
OPERATOR = Caller(account_id=None, is_operator=True)


def exports(world: World, invoices: object = None, *, limit: int) -> CsvExportService:
    service = world.invoices if invoices is None else replace(world.invoices, invoices=invoices)
    return CsvExportService(invoices=service, storage=world.storage, clock=world.clock, inline_limit=limit)


def everything(world: World, account_id: str = "acc_1") -> str:
    return csv_export(world.invoices.export(Caller(account_id), ListQuery(account_id=account_id)))


def test_a_small_export_is_answered_inline(world: World) -> None:
    for _ in range(3):
        world.issued()

    result = exports(world, limit=1_000_000).export(CUSTOMER, ListQuery(account_id=""), csv_lines)

    assert isinstance(result, InlineCsv)
    assert result.body == everything(world) and result.rows == 3
    assert result.filename == "invoices-acc_1-20261001.csv"
    assert world.storage.objects == {}


def test_past_the_limit_the_rows_so_far_and_the_rest_go_to_the_bucket_and_a_link_comes_back(
    world: World,
) -> None:
    for _ in range(30):
        world.issued()
    whole = everything(world)

    result = exports(world, limit=len(whole) // 3).export(CUSTOMER, ListQuery(account_id=""), csv_lines)

    assert isinstance(result, StoredCsv)
    body, filename = world.storage.objects[result.key]
    assert body.decode() == whole and result.size == len(body) and result.rows == 30
    assert result.key.startswith("exports/acc_1/csv_") and result.key.endswith(".csv")
    assert filename == "invoices-acc_1-20261001.csv"
    assert result.link.expires_at - NOW <= timedelta(minutes=15)


def test_the_limit_counts_the_room_the_body_takes_in_lambdas_json_response(world: World) -> None:
    world.issued(description='GPU "A100" — ₹ usage')
    whole = everything(world)
    escaped = sum(
        response_size(line) for line in csv_lines(world.invoices.export(CUSTOMER, ListQuery("acc_1")))
    )
    assert escaped > len(whole.encode())  # quotes, CRLF and non-ASCII take more room escaped

    assert isinstance(exports(world, limit=escaped).export(CUSTOMER, ListQuery(""), csv_lines), InlineCsv)
    assert isinstance(exports(world, limit=escaped - 1).export(CUSTOMER, ListQuery(""), csv_lines), StoredCsv)


def test_who_may_export_is_settled_before_anything_is_read_or_written(world: World) -> None:
    world.issued()
    with pytest.raises(ForbiddenError):
        exports(world, limit=10).export(Caller("acc_2"), ListQuery(account_id="acc_1"), csv_lines)
    with pytest.raises(DomainValidationError):
        exports(world, limit=10).export(OPERATOR, ListQuery(account_id=""), csv_lines)
    assert world.storage.objects == {}


def test_an_operator_exports_the_account_it_names(world: World) -> None:
    world.issued("acc_9")
    result = exports(world, limit=1_000_000).export(OPERATOR, ListQuery(account_id="acc_9"), csv_lines)
    assert (
        isinstance(result, InlineCsv) and result.rows == 1 and result.filename.startswith("invoices-acc_9-")
    )


# ------------------------------------------------------------------------------- 20,000 invoices
# What the billing run writes for a busy project (about 150 characters): 20,000 such invoices make
# an export of about 5.9 MB, more than Lambda can answer inline.
LONG_DESCRIPTION = (
    "Cloud usage September 2026, project vision-train: 4 x A100 80GB pods (2,880 h), 6 build VMs "
    "(4,464 h), 2 TB block storage, 1.5 TB internet egress"
)


@dataclass
class GeneratedInvoices:
    """An account of ``count`` issued invoices, made page by page (as DynamoDB hands them out)."""

    template: Invoice
    count: int
    pages: int = 0

    def list_page(self, query: ListQuery) -> Page[Invoice]:
        start = int(query.cursor or 0)
        end = min(self.count, start + query.limit)
        self.pages += 1
        items = [
            self.template.model_copy(update={"id": f"inv_Gen{n:011d}", "invoice_number": f"INV/2627/{n:06d}"})
            for n in range(start, end)
        ]
        return Page(items=items, next_cursor=str(end) if end < self.count else None)


@dataclass
class _Digest:
    sink: CountingStorage
    key: str
    digest: object = field(default_factory=hashlib.sha256)
    size: int = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)  # type: ignore[attr-defined]
        self.size += len(data)
        return len(data)

    def __enter__(self) -> _Digest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sink.uploads[self.key] = (self.size, self.digest.hexdigest())  # type: ignore[attr-defined]


@dataclass
class CountingStorage:
    """A bucket that keeps only each upload's size and SHA-256 (what reached it, not the bytes)."""

    uploads: dict[str, tuple[int, str]] = field(default_factory=dict)

    def upload_stream(self, key: str, *, filename: str, content_type: str = "") -> _Digest:
        return _Digest(self, key)

    def download_link(self, key: str, *, filename: str, content_type: str, now) -> DownloadLink:  # type: ignore[no-untyped-def]
        return DownloadLink(url=f"https://bucket.example/{key}", expires_at=now, filename=filename)


def _lines(invoices: GeneratedInvoices) -> Iterator[str]:
    page, cursor = None, None
    while page is None or cursor is not None:
        page = invoices.list_page(ListQuery("acc_1", limit=100, cursor=cursor))
        cursor = page.next_cursor
        yield from page.items


def test_20000_invoices_go_through_the_bucket_without_the_export_ever_being_in_memory(world: World) -> None:
    # Given an account of 20,000 invoices with realistic descriptions
    template = issued(description=LONG_DESCRIPTION)
    invoices = GeneratedInvoices(template, 20_000)
    expected = hashlib.sha256()
    size = 0
    for line in csv_lines(_lines(GeneratedInvoices(template, 20_000))):
        expected.update(line.encode())
        size += len(line.encode())
    storage = CountingStorage()
    service = CsvExportService(
        invoices=InvoiceService(
            invoices=invoices,
            transactions=world.store,
            payments=world.razorpay,
            policy=POLICY,
            clock=world.clock,
        ),
        storage=storage,  # type: ignore[arg-type]
        clock=world.clock,
        inline_limit=1024 * 1024,
    )

    # When it is exported, measuring every allocation on the way
    tracemalloc.start()
    try:
        result = service.export(CUSTOMER, ListQuery(account_id=""), csv_lines)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then every row reached the bucket, page by page, and memory stayed far below the export's size
    assert isinstance(result, StoredCsv) and result.rows == 20_000
    assert storage.uploads[result.key] == (size, expected.hexdigest())
    assert invoices.pages == 200  # one Query of 100 invoices each
    assert size > 5 * 1024 * 1024  # more than Lambda could answer inline
    assert peak < size / 2, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.1f} MiB export"
