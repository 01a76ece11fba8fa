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

Order of effects: commit, then send
    Each step of ``domain.sweep.plan`` is committed first (one conditional write); only the writer
    whose write succeeded publishes the event and sends the e-mail. So a second run the same day, an
    EventBridge double delivery, an SQS redelivery or a concurrent sweep never sends anything twice:
    it finds the step already committed (or loses the conditional write) and moves on. The price is
    **at-most-once** delivery of the sweep's own effects: if the function dies, or SES/EventBridge
    keeps failing, between a commit and its effect, that e-mail or event is not sent again, because
    the retry sees the step as done. The SDK's retries cover transient failures; a failure that
    survives them is logged (invoice id and action only) with the ``SweepEffectFailed`` metric and
    raised, so the invocation fails visibly and its retry carries on with the rest. Send-then-commit
    would give at-least-once but would e-mail twice whenever two runs overlap, which the issue
    forbids. (An outbox — the pending effect written with the state change and cleared once sent —
    would close the gap; it needs a field on the invoice.)

Fan-out
    One invocation handles at most ``fanout_threshold`` invoices (shared by every record of an SQS
    batch). When the budget runs out, the rest is queued on ``SweepQueue`` as ``SweepWork``
    messages — a shard, the ``through`` date, the run's ``now`` and where in the shard to resume —
    processed by the same function through its SQS event. Processing a message twice is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from invoicing.domain import sweep
from invoicing.domain.errors import ConflictError, DomainValidationError, NotFoundError
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import ist_date
from invoicing.observability import logger
from invoicing.repository.invoices import InvoiceRepository
from invoicing.repository.records import SWEEP_SHARDS
from invoicing.services.invoices import printed_changed
from invoicing.services.ports import EventPublisher, RenderQueue

DEFAULT_FANOUT_THRESHOLD = 500
PAGE_SIZE = 500
MAX_REREADS = 3


# ------------------------------------------------------------------------------------------ ports
@dataclass(frozen=True)
class Reminder:
    """An overdue notice or reminder to e-mail to the invoice's customer."""

    invoice: Invoice
    today: date
    first_notice: bool

    @property
    def days_past_due(self) -> int:
        return sweep.days_past_due(self.invoice, self.today)


class ReminderMailer(Protocol):
    def send_reminder(self, reminder: Reminder) -> None:
        """E-mail ``reminder`` to the invoice's customer (HTML and plain text)."""


class SweepWorkQueue(Protocol):
    def enqueue(self, works: Sequence[SweepWork]) -> None:
        """Queue the works for the sweep function's SQS event; all or raise."""


class Counter(Protocol):
    def count(self, name: str) -> None:
        """Add one to the business metric ``name``."""


# ------------------------------------------------------------------------------------- messages
class SweepWork(BaseModel):
    """One shard's due invoices through ``through``, as of the run's ``now``; resumable.

    On the queue as JSON: ``{"kind": "sweep-shard", "shard": 3, "through": "2026-10-17",
    "now": "2026-10-17T00:30:00Z", "start_key": null | {...the index key to resume after...}}``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(default="sweep-shard", pattern="^sweep-shard$")
    shard: int = Field(ge=0, lt=SWEEP_SHARDS)
    through: date
    now: AwareDatetime
    start_key: dict[str, str] | None = None

    @classmethod
    def from_message(cls, body: Mapping[str, Any] | str) -> SweepWork:
        """A validated message; anything else is a ``DomainValidationError`` (a poisoned message)."""
        try:
            if isinstance(body, str):
                return cls.model_validate_json(body)
            return cls.model_validate(body)
        except ValidationError as exc:
            raise DomainValidationError(
                "Not a sweep work message.",
                [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False)],
            ) from None

    def to_message(self) -> str:
        return self.model_dump_json()


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

    repository: InvoiceRepository
    events: EventPublisher
    mailer: ReminderMailer
    queue: SweepWorkQueue
    renders: RenderQueue | None = None
    metrics: Counter | None = None
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
                return replace_start(work, start)
            page = self.repository.due_for_sweep(
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
                saved = self.repository.save(invoice, after)
            except ConflictError:
                self.report.conflicts += 1
                rereads += 1
                if rereads > MAX_REREADS:
                    logger.warning("sweep deferred an invoice", invoice_id=invoice.id, action=step.action)
                    self.report.deferred += 1
                    return
                logger.info("sweep lost a write; re-reading", invoice_id=invoice.id, action=step.action)
                try:
                    invoice = self.repository.get(invoice.id)
                except NotFoundError:
                    return
                continue
            changed = True
            self._after_commit(step, invoice, saved, today)
            invoice = saved
        if not changed:
            self.report.unchanged += 1

    def _after_commit(self, step: sweep.SweepStep, before: Invoice, after: Invoice, today: date) -> None:
        """The step's effects, by the one writer that committed it (at most once; see module doc)."""
        self._tally(step)
        try:
            if step.event:
                self.events.publish(step.event, after)
            if step.notify:
                first = step.action is sweep.SweepAction.MARK_OVERDUE
                self.mailer.send_reminder(Reminder(invoice=after, today=today, first_notice=first))
                self.report.reminders_sent += 1
                self._count("ReminderSent")
            if self.renders is not None and printed_changed(before, after):
                self.renders.enqueue(after)
        except Exception:
            logger.exception("sweep effect failed after commit", invoice_id=after.id, action=step.action)
            self._count("SweepEffectFailed")
            raise

    def _tally(self, step: sweep.SweepStep) -> None:
        action = step.action
        if action is sweep.SweepAction.MARK_OVERDUE:
            self.report.overdue += 1
        elif action is sweep.SweepAction.RECORD_REMINDER and not step.notify:
            self.report.reminders_skipped += 1
        elif action is sweep.SweepAction.REQUEST_SUSPENSION:
            self.report.suspensions_requested += 1
        elif action is sweep.SweepAction.EXPIRE:
            self.report.expired += 1
        if step.event:
            self._count(step.event)

    def _count(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.count(name)


def replace_start(work: SweepWork, start_key: dict[str, Any] | None) -> SweepWork:
    """``work`` resuming after ``start_key`` (index keys are strings)."""
    return work.model_copy(update={"start_key": start_key})


__all__ = [
    "Counter",
    "OverdueSweep",
    "Reminder",
    "ReminderMailer",
    "SweepReport",
    "SweepWork",
    "SweepWorkQueue",
]
