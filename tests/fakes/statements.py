"""Statements in service tests: the statement store over one :class:`InMemoryStore`, the job queue
and a renderer that records what it printed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from invoicing.contracts.common import rupees
from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.domain.ledger import LedgerEntry
from invoicing.domain.statements import Statement, StatementDocument, StatementFigures, StatementStatus
from tests.fakes.store import InMemoryStore


class Statements:
    """``StatementStore`` over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self.items: dict[str, Statement] = store.collection("statements")

    def create(self, statement: Statement) -> Statement:
        if statement.id in self.items:
            raise ConflictError(f"Statement {statement.id} already exists.")
        self.items[statement.id] = statement
        return statement

    def get(self, statement_id: str) -> Statement:
        statement = self.items.get(statement_id)
        if statement is None:
            raise NotFoundError(f"No statement {statement_id}.")
        return statement

    def finish(
        self,
        statement_id: str,
        status: StatementStatus,
        *,
        figures: StatementFigures | None = None,
        reason: str | None = None,
    ) -> bool:
        statement = self.items.get(statement_id)
        if statement is None or statement.status is not StatementStatus.PENDING:
            return False
        self.items[statement_id] = replace(statement, status=status, figures=figures, failure_reason=reason)
        return True


@dataclass
class RecordingStatementJobs:
    queued: list[str] = field(default_factory=list)
    failures: int = 0

    def enqueue_statement(self, statement_id: str) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("injected failure")
        self.queued.append(statement_id)


@dataclass
class RecordingStatementRenderer:
    """Prints a stand-in PDF naming the statement and its entries; the CSV as the contract says."""

    printed: list[StatementDocument] = field(default_factory=list)

    def render(self, document: StatementDocument) -> bytes:
        self.printed.append(document)
        refs = ",".join(entry.reference for entry in document.entries)
        return f"%PDF statement {document.statement.id} [{refs}]".encode()

    def csv_header(self) -> str:
        return "date,type,reference,description,debit,credit,balance\r\n"

    def csv_row(self, entry: LedgerEntry) -> str:
        money = [rupees(value) for value in (entry.debit, entry.credit, entry.balance)]
        cells = [entry.date.isoformat(), entry.type.value, entry.reference, entry.description, *money]
        return ",".join(cells) + "\r\n"
