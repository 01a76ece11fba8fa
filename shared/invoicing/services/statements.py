"""Statements of account (corrections.md): requested through the API, built by the renderer.

``StatementService`` (the API): ``request`` checks who may ask and the range, stores a small
pending job addressed to the customer on the account's latest invoice, and queues it; ``get``
answers the job, and once it is ready its entries and short-lived links to its PDF and CSV.

``StatementRenderService`` (the render queue): reads only the range, never the account's history —
the ledger's head (one read), the balance before ``from`` (one bounded read: the last entry before
it) and the range's entries one page at a time — streaming the CSV to the bucket as it goes and
checking every running balance, then prints the PDF and marks the job ready with its figures.
An account whose ledger is not complete yet (invoices from before the ledger) is backfilled first.

Where ``get`` finds the entries. The stored job keeps only figures (it must stay small); the
entries are read again from the ledger, the range bounded by the last entry the job included.
The ledger only grows at its end and never books before a date it holds, so those are exactly the
entries the PDF and the CSV show, at one ``Query`` per 500 entries — where a copy of them in the
job or in S3 would cost a write per statement and could exceed an item's 400 KB.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from invoicing.domain.access import Caller
from invoicing.domain.documents import CSV, PDF, DownloadLink
from invoicing.domain.errors import ForbiddenError, NotFoundError
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import Supplier
from invoicing.domain.ledger import LedgerEntry
from invoicing.domain.numbering import ist_date
from invoicing.domain.queries import ListQuery
from invoicing.domain.statements import (
    RETENTION,
    LedgerInconsistentError,
    Running,
    Statement,
    StatementDocument,
    StatementStatus,
    check_range,
)
from invoicing.services.ledger_backfill import LedgerBackfill
from invoicing.services.ports import (
    Clock,
    DocumentStorage,
    InvoiceStore,
    Ledger,
    Links,
    StatementJobs,
    StatementRenderer,
    StatementStore,
)

PAGE = 500  # ledger entries per Query


def range_entries(
    ledger: Ledger, statement: Statement, generation: str, *, page_size: int = PAGE
) -> Iterator[LedgerEntry]:
    """The range's entries in booking order, one ``Query`` per page."""
    cursor: str | None = None
    while True:
        page = ledger.entries(
            statement.account_id,
            statement.start,
            statement.end,
            cursor=cursor,
            limit=page_size,
            generation=generation,
        )
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@dataclass(frozen=True)
class StatementView:
    statement: Statement
    entries: list[LedgerEntry]  # ready only, oldest first
    pdf: DownloadLink | None
    csv: DownloadLink | None


@dataclass
class StatementService:
    statements: StatementStore
    invoices: InvoiceStore
    ledger: Ledger
    jobs: StatementJobs
    links: Links
    clock: Clock

    def request(self, caller: Caller, account_id: str, start: date, end: date) -> Statement:
        """Store a pending statement of ``account_id`` for ``start``…``end`` and queue it."""
        if not caller.owns(account_id):
            raise ForbiddenError("You can only request statements of your own account.")
        now = self.clock()
        check_range(start, end, ist_date(now))
        latest = self.invoices.list_page(ListQuery(account_id=account_id, limit=1)).items
        statement = self.statements.create(
            Statement(
                id=new_id("st"),
                account_id=account_id,
                start=start,
                end=end,
                status=StatementStatus.PENDING,
                created_at=now,
                expires_at=now + RETENTION,
                customer=latest[0].customer if latest else None,
            )
        )
        try:
            self.jobs.enqueue_statement(statement.id)
        except Exception:
            self.statements.finish(
                statement.id, StatementStatus.FAILED, reason="The job could not be queued."
            )
            raise
        return statement

    def get(self, caller: Caller, statement_id: str) -> StatementView:
        """The statement if this caller may see it (another tenant's is not found)."""
        try:
            statement = self.statements.get(statement_id)
        except NotFoundError:
            raise NotFoundError(f"No statement {statement_id}.") from None
        if not caller.owns(statement.account_id):
            raise NotFoundError(f"No statement {statement_id}.")
        figures = statement.figures
        if statement.status is not StatementStatus.READY or figures is None:
            return StatementView(statement, [], None, None)
        entries: list[LedgerEntry] = []
        if figures.entry_count:
            for entry in range_entries(self.ledger, statement, figures.generation):
                if entry.seq > figures.last_seq:
                    break  # booked after the statement was made
                entries.append(entry)
                if entry.seq == figures.last_seq:
                    break
        now = self.clock()
        pdf = self.links.download_link(
            statement.pdf_key, filename=f"{statement.filename}.pdf", content_type=PDF, now=now
        )
        csv = self.links.download_link(
            statement.csv_key, filename=f"{statement.filename}.csv", content_type=CSV, now=now
        )
        return StatementView(statement, entries, pdf, csv)


class StatementOutcome(StrEnum):
    READY = "ready"
    FAILED = "failed"
    ALREADY_DONE = "already_done"  # a repeated message for a finished job


@dataclass(frozen=True)
class StatementRendition:
    statement_id: str
    outcome: StatementOutcome
    entries: int = 0
    backfilled: bool = False


@dataclass
class StatementRenderService:
    statements: StatementStore
    ledger: Ledger
    backfill: LedgerBackfill
    renderer: StatementRenderer
    storage: DocumentStorage
    supplier: Supplier
    clock: Clock
    page_size: int = PAGE

    def render(self, statement_id: str) -> StatementRendition:
        """Build the statement's CSV and PDF and mark it ready (or failed, for good).

        Transient failures (S3, DynamoDB) raise: the CSV upload is aborted, the job stays pending
        and the message returns to the queue (after five receives, to its dead-letter queue, whose
        consumer marks the job failed).
        """
        statement = self.statements.get(statement_id)
        if statement.status is not StatementStatus.PENDING:
            return StatementRendition(statement.id, StatementOutcome.ALREADY_DONE)
        account = statement.account_id
        head = self.ledger.head(account)
        backfilled = not head.complete
        if backfilled:
            head = self.backfill.run(account).head
        running = Running(self.ledger.balance_before(account, statement.start, generation=head.generation))
        entries: list[LedgerEntry] = []
        try:
            with self.storage.upload_stream(
                statement.csv_key, filename=f"{statement.filename}.csv", content_type=CSV
            ) as out:
                out.write(self.renderer.csv_header().encode())
                for entry in range_entries(self.ledger, statement, head.generation, page_size=self.page_size):
                    running.add(entry)
                    out.write(self.renderer.csv_row(entry).encode())
                    entries.append(entry)
        except LedgerInconsistentError as exc:
            self.statements.finish(statement.id, StatementStatus.FAILED, reason=str(exc))
            return StatementRendition(statement.id, StatementOutcome.FAILED, len(entries), backfilled)
        figures = running.figures(head_seq=head.seq, generation=head.generation)
        document = StatementDocument(statement, self.supplier, figures, entries, generated_at=self.clock())
        self.storage.put(
            statement.pdf_key,
            self.renderer.render(document),
            filename=f"{statement.filename}.pdf",
            content_type=PDF,
        )
        self.statements.finish(statement.id, StatementStatus.READY, figures=figures)
        return StatementRendition(statement.id, StatementOutcome.READY, len(entries), backfilled)
