"""The daily overdue sweep: due invoices → overdue, reminders, suspension requests, expiry.

What is read
    Only the sparse, sharded ``SweepIndex``, through today (IST), one ``Query`` per page per shard.
    Invoices with nothing to do are not in that window, so reads grow with the number due, not with
    the table. An index read may be stale: every write is conditional on the stored status and
    version, and a write that loses (a payment landed, another sweep got there first) re-reads the
    invoice with ``get`` and re-plans from what is stored.

What "now" is
    The scheduled event's ``time``, carried unchanged into every fanned-out message, never the wall
    clock: a run can be replayed for a given day and gives the same decisions.

Effects travel with the commit
    Each step of ``domain.sweep.plan`` is committed (one conditional write) together with the outbox
    message of its effects: the domain event and the e-mail (the new version's PDF waits for its
    first download: ``Invoice.renders_ahead``). The dispatcher performs
    them after the commit, at least once. So a second run the same day, an EventBridge double
    delivery, an SQS redelivery or a concurrent sweep never e-mails twice — it finds the step
    already committed (or loses the conditional write) and writes no message — and a crash
    between the commit and the e-mail delays the e-mail instead of losing it.

Fan-out
    One invocation handles at most ``fanout_threshold`` invoices (shared by every record of an SQS
    batch). When the budget runs out, the rest is queued on ``SweepQueue`` as ``SweepWork``
    messages — a shard, the ``through`` date, the run's ``now`` and where in the shard to resume —
    processed by the same function through its SQS event. Processing a message twice is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from invoicing.domain import sweep
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.errors import ConflictError, NotFoundError
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import ist_date
from invoicing.domain.outbox import Effect, SendReminder
from invoicing.domain.sweep import SWEEP_SHARDS, SweepWork
from invoicing.observability import logger
from invoicing.services.ports import Counter, InvoiceStore, SweepQueue, Transactions

DEFAULT_FANOUT_THRESHOLD = 500
PAGE_SIZE = 500
MAX_REREADS = 3


# --------------------------------------------------------------------------------------- report
@dataclass
class SweepReport:
    """What a run (or a batch of fanned-out work) did, by action; JSON-serialisable via ``as_dict``."""

    read: int = 0  # invoices read from the index
    overdue: int = 0
    reminders_sent: int = 0  # e-mails (the overdue notice and reminders)
    reminders_skipped: int = 0  # reminder days recorded without an e-mail (catch-up rule)
    suspensions_requested: int = 0
    expired: int = 0
    unchanged: int = 0  # read, but nothing left to do (a stale index entry, or already done)
    conflicts: int = 0  # conditional writes lost, re-read and re-planned
    deferred: int = 0  # invoices left for the next run after MAX_REREADS lost writes
    fanned_out: int = 0  # SweepWork messages queued
    shards_done: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Budget:
    left: int

    def take(self) -> None:
        self.left -= 1


# ---------------------------------------------------------------------------------------- sweep
@dataclass
class OverdueSweep:
    """One invocation's sweep. Build a new one per invocation: it carries that invocation's budget."""

    invoices: InvoiceStore
    transactions: Transactions
    queue: SweepQueue
    metrics: Counter
    fanout_threshold: int = DEFAULT_FANOUT_THRESHOLD
    page_size: int = PAGE_SIZE
    report: SweepReport = field(default_factory=SweepReport)
    _budget: _Budget = field(init=False)

    def __post_init__(self) -> None:
        if self.fanout_threshold < 1 or self.page_size < 1:
            raise ValueError("fanout_threshold and page_size must be positive")
        self._budget = _Budget(self.fanout_threshold)

    def run(self, now: datetime) -> SweepReport:
        """The scheduled run for ``now``: every shard through today, fanning out what is over budget."""
        today = ist_date(now)
        left: list[SweepWork] = []
        for shard in range(SWEEP_SHARDS):
            rest = self._sweep(SweepWork(shard=shard, through=today, now=now))
            if rest is not None:
                left.append(rest)
        self._fan_out(left)
        logger.info("sweep run finished", today=today.isoformat(), **self.report.as_dict())
        return self.report

    def process(self, body: Mapping[str, Any] | str) -> SweepReport:
        """One fanned-out ``SweepWork`` message (the SQS path); a malformed one raises."""
        work = SweepWork.from_message(body)
        rest = self._sweep(work)
        self._fan_out([rest] if rest is not None else [])
        return self.report

    # ------------------------------------------------------------------------------- reading
    def _sweep(self, work: SweepWork) -> SweepWork | None:
        """Settle the shard's due invoices within the budget; the rest of the shard, if any."""
        start = work.start_key
        while True:
            if self._budget.left <= 0:
                return work.resume_after(start)
            page = self.invoices.due_for_sweep(
                work.shard, work.through, start_key=start, limit=min(self.page_size, self._budget.left)
            )
            for invoice in page.items:
                self._budget.take()
                self.report.read += 1
                self._settle(invoice, work.through, work.now)
            if page.last_key is None:
                self.report.shards_done += 1
                return None
            start = page.last_key

    def _fan_out(self, works: list[SweepWork]) -> None:
        if works:
            self.queue.enqueue(works)
            self.report.fanned_out += len(works)

    # ---------------------------------------------------------------------------- one invoice
    def _settle(self, invoice: Invoice, today: date, now: datetime) -> None:
        """Apply the plan one committed step at a time; a lost write re-reads and re-plans."""
        rereads = 0
        changed = False
        while steps := sweep.plan(invoice, today, now):
            step = steps[0]
            after = step.apply(invoice, today, now)
            try:
                self.transactions.commit(
                    [
                        SaveInvoice(invoice, after),
                        *emit(after.account_id, _effects(step, invoice, after, today), now),
                    ]
                )
            except ConflictError:
                self.report.conflicts += 1
                rereads += 1
                if rereads > MAX_REREADS:
                    logger.warning("sweep deferred an invoice", invoice_id=invoice.id, action=step.action)
                    self.report.deferred += 1
                    return
                logger.info("sweep lost a write; re-reading", invoice_id=invoice.id, action=step.action)
                try:
                    invoice = self.invoices.get(invoice.id)
                except NotFoundError:
                    return
                continue
            changed = True
            self._tally(step)
            invoice = after
        if not changed:
            self.report.unchanged += 1

    def _tally(self, step: sweep.SweepStep) -> None:
        action = step.action
        if action is sweep.SweepAction.MARK_OVERDUE:
            self.report.overdue += 1
        elif action is sweep.SweepAction.RECORD_REMINDER and not step.notify:
            self.report.reminders_skipped += 1
        if step.notify:
            self.report.reminders_sent += 1
        elif action is sweep.SweepAction.REQUEST_SUSPENSION:
            self.report.suspensions_requested += 1
        elif action is sweep.SweepAction.EXPIRE:
            self.report.expired += 1
        if step.event:
            self._count(step.event)

    def _count(self, name: str) -> None:
        self.metrics.count(name)


def _effects(step: sweep.SweepStep, before: Invoice, after: Invoice, today: date) -> list[Effect]:
    """The step's event (and a PDF, were one rendered ahead), then its e-mail (last: a retried
    message re-sends least)."""
    effects = invoice_effects(before, after, [step.event] if step.event else [])
    if step.notify:
        first = step.action is sweep.SweepAction.MARK_OVERDUE
        effects.append(SendReminder(invoice_id=after.id, today=today, first_notice=first))
    return effects
