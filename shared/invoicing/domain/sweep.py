"""What the daily sweep does to one invoice on one day: a pure plan of domain transitions.

``plan(invoice, today, now)`` lists the transitions due, in the order they must be applied. Each
step is one ``Invoice`` transition (one version), so the service commits them one conditional write
at a time and re-plans from the stored invoice whenever a write loses a race. The plan is *stable*:
planning again after the first step has been applied gives the remaining steps unchanged, which is
what makes "re-read and re-plan" safe when two sweeps (or a sweep and a payment) interleave.

Rules (api.md "Status", the issue text and the customer help page):

- ``expire_by`` at or before ``now`` on an unpaid invoice: expire it, and nothing else.
- Pending (``issued``/``partially_paid``) past its due date: mark it ``overdue``.
- Reminder days (snapshotted at issue) on or before today's days past due and not yet sent: record
  each. **Catch-up rule**: a run that finds several reminders due (the sweep missed days, or a
  dispute held them) records all of them but e-mails the customer **once**, with the latest; the
  overdue notice itself is only e-mailed when no reminder is due with it. So one run sends at most
  one e-mail per invoice, never a burst of every missed reminder.
- The grace period reached and no suspension requested yet: request it (once).
- While a dispute is open: no reminder is recorded or e-mailed and no suspension is requested;
  the invoice still becomes ``overdue`` (a fact about dates) and still expires.

After a full plan has been applied, ``next_sweep_on`` is ``None`` or later than ``today``: the
invoice leaves today's window of the sweep index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from invoicing.domain.errors import DomainValidationError
from invoicing.domain.invoice import PAYABLE_STATUSES, PENDING_STATUSES, Invoice

SWEEP_SHARDS = 16  # the sweep index's partitions: one day's invoices spread over them


class SweepAction(StrEnum):
    EXPIRE = "expire"
    MARK_OVERDUE = "mark_overdue"
    RECORD_REMINDER = "record_reminder"
    REQUEST_SUSPENSION = "request_suspension"


# The domain event each action publishes once it has committed (api.md "Domain events").
EVENTS: dict[SweepAction, str] = {
    SweepAction.EXPIRE: "InvoiceExpired",
    SweepAction.MARK_OVERDUE: "InvoiceOverdue",
    SweepAction.REQUEST_SUSPENSION: "ServiceSuspensionRequested",
}


@dataclass(frozen=True)
class SweepStep:
    """One transition of the plan. ``notify``: e-mail the customer once it has committed."""

    action: SweepAction
    reminder_day: int | None = None
    notify: bool = False

    @property
    def event(self) -> str | None:
        return EVENTS.get(self.action)

    def apply(self, invoice: Invoice, today: date, now: datetime) -> Invoice:
        """The invoice after this step; the domain refuses anything illegal."""
        if self.action is SweepAction.EXPIRE:
            return invoice.expire(now)
        if self.action is SweepAction.MARK_OVERDUE:
            return invoice.mark_overdue(today, now)
        if self.action is SweepAction.RECORD_REMINDER:
            assert self.reminder_day is not None
            return invoice.record_reminder(self.reminder_day, now)
        return invoice.request_suspension(now)


def days_past_due(invoice: Invoice, today: date) -> int:
    """Whole days since the due date (0 on the due date, negative before it)."""
    assert invoice.due_date is not None
    return (today - invoice.due_date).days


def plan(invoice: Invoice, today: date, now: datetime) -> tuple[SweepStep, ...]:
    """The transitions due for ``invoice`` on ``today`` (the IST date of ``now``), in order."""
    if invoice.status not in PAYABLE_STATUSES or invoice.due_date is None:
        return ()
    if invoice.expire_by is not None and invoice.expire_by <= now:
        return (SweepStep(SweepAction.EXPIRE),)
    late = days_past_due(invoice, today)
    if late < 1:
        return ()
    steps: list[SweepStep] = []
    reminders = (
        []
        if invoice.disputed
        else sorted(d for d in invoice.reminder_days if d <= late and d not in invoice.reminders_sent)
    )
    if invoice.status in PENDING_STATUSES:
        steps.append(SweepStep(SweepAction.MARK_OVERDUE, notify=not invoice.disputed and not reminders))
    steps += [
        SweepStep(SweepAction.RECORD_REMINDER, reminder_day=day, notify=day == reminders[-1])
        for day in reminders
    ]
    if (
        not invoice.disputed
        and invoice.grace_period_days is not None
        and invoice.suspension_requested_at is None
        and late >= invoice.grace_period_days
    ):
        steps.append(SweepStep(SweepAction.REQUEST_SUSPENSION))
    return tuple(steps)


@dataclass(frozen=True)
class Reminder:
    """An overdue notice or reminder to e-mail to the invoice's customer."""

    invoice: Invoice
    today: date
    first_notice: bool

    @property
    def days_past_due(self) -> int:
        return days_past_due(self.invoice, self.today)


class SweepWork(BaseModel):
    """One shard's due invoices through ``through``, as of the run's ``now``; resumable.

    On the queue as JSON: ``{"kind": "sweep-shard", "shard": 3, "through": "2026-10-17",
    "now": "2026-10-17T00:30:00Z", "start_key": null | {...the index key to resume after...}}``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

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

    def resume_after(self, start_key: dict[str, Any] | None) -> SweepWork:
        return self.model_copy(update={"start_key": start_key})
