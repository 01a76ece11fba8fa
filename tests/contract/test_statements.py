"""Statement jobs stored and finished the same on the fakes and on DynamoDB, and what building a
statement reads (its range only, whatever the account's history)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.domain.ledger import EntryType, LedgerEvent, LedgerHead
from invoicing.domain.statements import Statement, StatementFigures, StatementStatus, Totals
from invoicing.repository.ledger import DynamoLedger
from invoicing.repository.ledger_rebuild import DynamoLedgerHistory
from invoicing.repository.statements import DynamoStatementStore
from invoicing.services.ledger_backfill import LedgerBackfill
from invoicing.services.retry import NO_WAIT
from invoicing.services.statements import StatementRenderService
from tests.contract.conftest import Stores, counted, dynamo_only
from tests.fakes.statements import RecordingStatementRenderer, Statements
from tests.fakes.storage import InMemoryStorage
from tests.unit.factories import NOW, customer, supplier


@pytest.fixture
def jobs(stores: Stores) -> Any:
    """The statement store of the backend under test."""
    if stores.is_dynamo:
        return DynamoStatementStore(stores.invoices._table)  # type: ignore[attr-defined]
    return Statements(stores.invoices)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ statement jobs
def statement(**overrides: Any) -> Statement:
    data: dict[str, Any] = {
        "id": "st_1",
        "account_id": "acc_1",
        "start": date(2026, 4, 1),
        "end": date(2026, 9, 30),
        "status": StatementStatus.PENDING,
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=7),
        "customer": customer(),
    }
    return Statement(**(data | overrides))


def test_a_statement_job_is_stored_read_back_and_finished_once(jobs: Any) -> None:
    jobs.create(statement())
    with pytest.raises(ConflictError):
        jobs.create(statement())
    assert jobs.get("st_1") == statement()
    figures = StatementFigures(
        opening_balance=-5_000, totals=Totals(10, 20, 30, 40), entry_count=4, last_seq=9, generation="g_1"
    )

    assert jobs.finish("st_1", StatementStatus.READY, figures=figures)
    assert not jobs.finish("st_1", StatementStatus.FAILED, reason="late")
    stored = jobs.get("st_1")
    assert (stored.status, stored.figures, stored.failure_reason) == (StatementStatus.READY, figures, None)
    assert stored.figures.closing_balance == -5_000 + 10 + 40 - 20 - 30
    with pytest.raises(NotFoundError):
        jobs.get("st_missing")
    assert not jobs.finish("st_missing", StatementStatus.FAILED, reason="gone")


def test_a_failed_statement_keeps_why(jobs: Any) -> None:
    jobs.create(statement(customer=None))
    assert jobs.finish("st_1", StatementStatus.FAILED, reason="The job failed repeatedly.")
    stored = jobs.get("st_1")
    assert (stored.status, stored.failure_reason, stored.customer) == (
        StatementStatus.FAILED,
        "The job failed repeatedly.",
        None,
    )


# ------------------------------------------------------------------------------- what a statement reads
@dynamo_only
def test_a_statement_of_50_entries_in_a_ledger_of_5000_takes_three_reads(stores: Stores, jobs: Any) -> None:
    # Given 5,000 entries over 2026 (a payment and an invoice a day, a few days' worth per day)
    events = [
        LedgerEvent(
            "acc_1",
            EntryType.INVOICE if n % 2 == 0 else EntryType.PAYMENT,
            date(2026, 1, 1) + timedelta(days=n * 365 // 5_000),
            f"REF/{n}",
            "event",
            debit=1_000 if n % 2 == 0 else 0,
            credit=0 if n % 2 == 0 else 900,
            source=f"src_{n}",
        )
        for n in range(5_000)
    ]
    table = stores.invoices._table  # type: ignore[attr-defined]
    ledger, history = DynamoLedger(table), DynamoLedgerHistory(table)
    entries, head = LedgerHead(generation="g_big").book("acc_1", events)
    assert history.replace("acc_1", ledger.head("acc_1"), entries, head)
    wanted = [e for e in entries if date(2026, 6, 1) <= e.date <= date(2026, 6, 4)]
    assert 50 <= len(wanted) <= 60
    jobs.create(statement(start=date(2026, 6, 1), end=date(2026, 6, 4)))
    storage, renderer = InMemoryStorage(), RecordingStatementRenderer()
    service = StatementRenderService(
        statements=jobs,
        ledger=ledger,
        backfill=LedgerBackfill(history=history, backoff=NO_WAIT),
        renderer=renderer,
        storage=storage,
        supplier=supplier(),
        clock=lambda: datetime(2026, 10, 1, tzinfo=UTC),
    )

    with counted(stores) as calls:
        service.render("st_1")

    # the job, then the ledger: its head, the balance before the range, one page; then done
    assert calls == ["GetItem", "GetItem", "Query", "Query", "UpdateItem"]
    (printed,) = renderer.printed
    assert [e.seq for e in printed.entries] == [e.seq for e in wanted]
    assert printed.figures.opening_balance == wanted[0].balance - wanted[0].debit + wanted[0].credit
