"""Automatic invoices (billing.md): billing profiles, the rate card, usage and billing runs.

Pure rules, no I/O. The one rule that turns usage into invoice lines lives here and nowhere else:
:meth:`LineTotal.add` folds a priced record into its line's running total (at ingestion, one line
per ``(resource_id, sku, unit_rate)``), and :func:`usage_lines` turns totals into the lines that
``GET /usage/summary`` shows and the billing run bills.

Periods are IST calendar months written ``"YYYY-MM"``. A record belongs to the month its ``start``
falls in (IST); its ``end`` may be at most the next month's first IST midnight.

Exactly once, by construction:

- every record is stored once under its id (``KeepUsageRecord``, conditional on absence);
- a period's usage is counted in *generations*: records go to the period's open generation; the
  commit that creates an invoice bills every open generation it reads and opens the next one
  (``UsagePeriod.bill``), conditional on the period's ``version`` — which every ingestion commit
  moves too. So a record committed before the invoice is on it, one committed after goes to the
  next generation (the next invoice): never both, never neither;
- an account's invoice for a period is claimed once (``ClaimPeriod``, conditional on absence) in
  the same commit as the draft: a retry, a second run or a concurrent one finds the claim and
  finishes that invoice instead of making another.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from invoicing.domain import gst
from invoicing.domain.changes import Change
from invoicing.domain.errors import ConflictError, DomainValidationError
from invoicing.domain.invoice import MAX_LINES, BillingPeriod, Customer, LineItem, ResourceType
from invoicing.domain.limits import MAX_AMOUNT_PAISE, MAX_QUANTITY, MAX_UNIT_RATE, Day, Timestamp
from invoicing.domain.numbering import IST

SKU_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
RECORD_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
MAX_RECORDS_PER_BATCH = 500
MAX_OUTCOMES_LISTED = 1000  # skipped/failed entries kept on a run item (the counts are always exact)
UNBILLED_SHARDS = 16  # partitions of the index of accounts with unbilled usage


class PeriodClaimedError(ConflictError):
    """Another commit already made the account's invoice for the month."""


class OutcomeListFullError(ConflictError):
    """The run's skipped/failed list is at its cap; record the outcome without listing it."""


# ------------------------------------------------------------------------------------- periods
def period_of(moment: datetime) -> str:
    """The IST month of a timestamp: ``"2026-11"``."""
    return moment.astimezone(IST).strftime("%Y-%m")


def validate_period(period: str, field: str = "period") -> str:
    if not isinstance(period, str) or not re.fullmatch(PERIOD_PATTERN, period):
        raise DomainValidationError(
            f'{field} must be a month written YYYY-MM, such as "2026-11".',
            [{"loc": [field], "msg": "must be YYYY-MM"}],
        )
    if not 2000 <= int(period[:4]) <= 2100:
        raise DomainValidationError(
            f"{field} must be between 2000 and 2100.",
            [{"loc": [field], "msg": "must be a month of 2000-2100"}],
        )
    return period


def period_days(period: str) -> tuple[date, date]:
    """First and last IST date of the month."""
    year, month = int(period[:4]), int(period[5:])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """The month as instants: its first IST midnight and the next month's (exclusive)."""
    first, last = period_days(period)
    start = datetime(first.year, first.month, 1, tzinfo=IST)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=IST)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_period(moment: datetime) -> str:
    """The IST month before the one ``moment`` falls in (what the monthly schedule bills)."""
    first = moment.astimezone(IST).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def period_label(period: str) -> str:
    """``"November 2026"``."""
    first, _ = period_days(period)
    return first.strftime("%B %Y")


def invoice_description(period: str) -> str:
    return f"GPU cloud usage — {period_label(period)}"


def has_ended(period: str, now: datetime) -> bool:
    """Whether the IST month is over at ``now``."""
    return period_bounds(period)[1] <= now


# ------------------------------------------------------------------------------------- models
class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


def _decimal(value: object, field: str, *, positive: bool) -> Decimal:
    if isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str):
        raise ValueError(f'{field} must be a decimal string such as "0.5"')
    try:
        parsed = gst.parse_decimal(value, field=field, max_places=6, positive=positive)
    except DomainValidationError as exc:
        raise ValueError(exc.message) from None
    if parsed < 0:
        raise ValueError(f"{field} must not be negative")
    return parsed


def plain(value: Decimal) -> str:
    """A decimal as the API writes it: no exponent, no trailing zeros (``"720"``, ``"0.5"``)."""
    return format(value.normalize(), "f")


class BillingModel(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


OPERATOR_PROFILE_FIELDS = ("billing_model", "payment_terms_days", "partial_payment", "auto_issue")


class BillingProfile(_Frozen):
    """Who an account's invoices are addressed to, and on which terms. ``version`` guards writes."""

    account_id: str
    customer: Customer
    billing_model: BillingModel = BillingModel.PREPAID
    payment_terms_days: int = Field(default=15, ge=0, le=365)
    partial_payment: bool = False
    auto_issue: bool = True
    version: int = 1
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def create(
        cls, account_id: str, customer: Customer | None, fields: dict[str, object], now: datetime
    ) -> BillingProfile:
        if customer is None:
            raise DomainValidationError(
                "A new billing profile needs its customer.",
                [{"loc": ["body", "customer"], "msg": "required to create a billing profile"}],
            )
        return cls(account_id=account_id, customer=customer, created_at=now, updated_at=now, **fields)

    def revise(self, customer: Customer | None, fields: dict[str, object], now: datetime) -> BillingProfile:
        """The fields sent replace the stored ones; the others keep their values."""
        changes: dict[str, object] = dict(fields)
        if customer is not None:
            changes["customer"] = customer
        data = self.model_dump() | changes | {"version": self.version + 1, "updated_at": now}
        data["customer"] = changes.get("customer", self.customer)
        return type(self).model_validate(data)


class Price(_Frozen):
    """One version of a sku's price, in effect from ``effective_from`` (an IST date)."""

    sku: str = Field(pattern=SKU_PATTERN)
    description: str = Field(min_length=1, max_length=200)
    resource_type: ResourceType
    unit: str = Field(min_length=1, max_length=32)
    unit_rate: Decimal
    sac_code: str = Field(default=gst.DEFAULT_SAC, pattern=gst.SAC_PATTERN)
    effective_from: Day
    updated_at: Timestamp

    @field_validator("unit_rate", mode="before")
    @classmethod
    def _rate(cls, value: object) -> Decimal:
        rate = _decimal(value, "unit_rate", positive=False)
        if rate > MAX_UNIT_RATE:
            raise ValueError(f"unit_rate must not exceed {MAX_UNIT_RATE:,} rupees")
        return rate


@dataclass(frozen=True)
class RateCard:
    """Every price version, by sku and date."""

    prices: tuple[Price, ...]

    def price_at(self, sku: str, day: date) -> Price | None:
        """The version of ``sku`` in effect on ``day``: the latest ``effective_from`` on or before it."""
        candidates = [p for p in self.prices if p.sku == sku and p.effective_from <= day]
        return max(candidates, key=lambda p: p.effective_from, default=None)

    def ordered(self) -> list[Price]:
        return sorted(self.prices, key=lambda p: (p.sku, p.effective_from))


class UsageRecord(_Frozen):
    """What the platform metered (the metering service's own id, unique per account forever)."""

    id: str = Field(pattern=RECORD_ID_PATTERN)
    account_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    sku: str = Field(pattern=SKU_PATTERN)
    resource_id: str = Field(min_length=1, max_length=128)
    resource_name: str = Field(min_length=1, max_length=200)
    quantity: Decimal
    start: Timestamp
    end: Timestamp

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: object) -> Decimal:
        quantity = _decimal(value, "quantity", positive=False)
        if quantity > MAX_QUANTITY:
            raise ValueError(f"quantity must not exceed {MAX_QUANTITY:,}")
        return quantity

    @model_validator(mode="after")
    def _one_month(self) -> UsageRecord:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if self.end > period_bounds(self.period)[1]:
            raise ValueError(
                f"start and end must fall in one IST calendar month (start is in {self.period}); "
                "split the record at the month boundary"
            )
        return self

    @property
    def period(self) -> str:
        return period_of(self.start)

    @property
    def start_day(self) -> date:
        return self.start.astimezone(IST).date()

    def fingerprint(self) -> str:
        """A digest of the content: the same id with the same fingerprint is a duplicate."""
        content = {
            "account_id": self.account_id,
            "sku": self.sku,
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
            "quantity": plain(self.quantity),
            "start": _instant(self.start),
            "end": _instant(self.end),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _instant(moment: datetime) -> str:
    """Fixed-width UTC text that sorts in time order (microseconds always written)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line_key(resource_id: str, sku: str, unit_rate: Decimal) -> str:
    """The identity of an invoice line: ``(resource_id, sku, unit_rate)``, as a fixed-size key."""
    raw = "\x00".join((resource_id, sku, plain(unit_rate)))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class StoredRecord(_Frozen):
    """The marker of an accepted record: its content's digest and which line total holds it."""

    account_id: str
    id: str
    fingerprint: str
    period: str
    generation: int
    line_key: str
    accepted_at: Timestamp


class LineTotal(_Frozen):
    """The running total of one invoice line, kept at ingestion (one item per line, not per record)."""

    account_id: str
    period: str
    generation: int
    line_key: str
    resource_id: str
    sku: str
    unit_rate: Decimal
    quantity: Decimal
    usage_start: Timestamp
    usage_end: Timestamp
    resource_name: str
    name_rank: str  # which record named the line: the latest (end, start, id)
    resource_type: ResourceType
    description: str
    unit: str
    sac_code: str
    records: int = 0
    version: int = 0

    @classmethod
    def open(cls, record: UsageRecord, price: Price, generation: int) -> LineTotal:
        return cls(
            account_id=record.account_id,
            period=record.period,
            generation=generation,
            line_key=line_key(record.resource_id, record.sku, price.unit_rate),
            resource_id=record.resource_id,
            sku=record.sku,
            unit_rate=price.unit_rate,
            quantity=Decimal(0),
            usage_start=record.start,
            usage_end=record.end,
            resource_name=record.resource_name,
            name_rank="",
            resource_type=price.resource_type,
            description=price.description,
            unit=price.unit,
            sac_code=price.sac_code,
        )

    def add(self, record: UsageRecord, price: Price) -> LineTotal:
        """The total with ``record`` in it: quantity summed, earliest start, latest end; the name and
        the price's texts of the latest record (by end, then start, then id). Order-independent."""
        if line_key(record.resource_id, record.sku, price.unit_rate) != self.line_key:
            raise ValueError("the record belongs to another line")
        quantity = self.quantity + record.quantity
        if quantity > MAX_QUANTITY or gst.line_amount(quantity, self.unit_rate) > MAX_AMOUNT_PAISE:
            raise DomainValidationError(
                f"Record {record.id} would make its line exceed the largest quantity or amount of a line.",
                [{"loc": ["quantity"], "msg": "the line's total would be too large"}],
            )
        rank = f"{_instant(record.end)}|{_instant(record.start)}|{record.id}"
        named = rank > self.name_rank
        changes: dict[str, object] = {
            "quantity": quantity,
            "usage_start": min(self.usage_start, record.start),
            "usage_end": max(self.usage_end, record.end),
            "records": self.records + 1,
            "version": self.version + 1,
        }
        if named:
            changes |= {
                "resource_name": record.resource_name,
                "name_rank": rank,
                "resource_type": price.resource_type,
                "description": price.description,
                "unit": price.unit,
                "sac_code": price.sac_code,
            }
        return self.model_copy(update=changes)


class UsageLine(_Frozen):
    """A line of the usage summary: exactly a line the billing run bills."""

    sku: str
    resource_type: ResourceType
    resource_id: str
    resource_name: str
    description: str
    usage_start: Timestamp
    usage_end: Timestamp
    quantity: Decimal
    unit: str
    unit_rate: Decimal
    sac_code: str
    amount: int

    def to_line_item(self) -> LineItem:
        return LineItem(  # type: ignore[call-arg]  # amount: derived by LineItem's before-validator
            resource_type=self.resource_type,
            resource_name=self.resource_name,
            description=self.description,
            usage_start=self.usage_start,
            usage_end=self.usage_end,
            quantity=format(self.quantity, "f"),
            unit=self.unit,
            unit_rate=format(self.unit_rate, "f"),
            sac_code=self.sac_code,
        )


def usage_lines(totals: Iterable[LineTotal]) -> list[UsageLine]:
    """THE rule from line totals to invoice lines (summary and run alike): one line per total with
    something in it (a zero quantity bills nothing), by resource, sku and rate."""
    lines = [
        UsageLine(
            sku=t.sku,
            resource_type=t.resource_type,
            resource_id=t.resource_id,
            resource_name=t.resource_name,
            description=t.description,
            usage_start=t.usage_start,
            usage_end=t.usage_end,
            quantity=Decimal(plain(t.quantity)),
            unit=t.unit,
            unit_rate=t.unit_rate,
            sac_code=t.sac_code,
            amount=gst.line_amount(t.quantity, t.unit_rate),
        )
        for t in totals
        if t.quantity > 0
    ]
    return sorted(
        lines, key=lambda line: (line.usage_start.astimezone(UTC), line.resource_id, line.sku, line.unit_rate)
    )


def aggregate(records: Iterable[tuple[UsageRecord, Price]], generation: int = 0) -> list[LineTotal]:
    """Fold priced records into line totals (what ingestion does one commit at a time)."""
    totals: dict[str, LineTotal] = {}
    for record, price in records:
        key = line_key(record.resource_id, record.sku, price.unit_rate)
        total = totals.get(key) or LineTotal.open(record, price, generation)
        totals[key] = total.add(record, price)
    return list(totals.values())


class BilledGeneration(_Frozen):
    generation: int
    invoice_id: str


class UsagePeriod(_Frozen):
    """An account's usage of one month: its open generation and what billed the earlier ones.

    Every ingestion and every invoice commit moves ``version``: that is what serialises them.
    """

    account_id: str
    period: str
    generation: int = 0
    lines: int = 0  # line totals in the open generation
    records: int = 0  # records in the open generation
    total_records: int = 0  # every record of the month, every generation
    billed: tuple[BilledGeneration, ...] = ()
    version: int = 0

    @property
    def unbilled(self) -> bool:
        return self.records > 0

    @property
    def invoice_id(self) -> str | None:
        """The invoice that billed this month's usage first (late records go on later ones)."""
        return self.billed[0].invoice_id if self.billed else None

    def accept(self, records: int, new_lines: int, first_record_id: str) -> UsagePeriod:
        lines = self.lines + new_lines
        if lines > MAX_LINES:
            raise DomainValidationError(
                f"Record {first_record_id} would make {self.period} of account {self.account_id} bill more "
                f"than {MAX_LINES} lines (resource, sku, rate); an invoice carries at most {MAX_LINES}.",
                [{"loc": ["resource_id"], "msg": f"more than {MAX_LINES} lines in the month"}],
            )
        return self.model_copy(
            update={
                "lines": lines,
                "records": self.records + records,
                "total_records": self.total_records + records,
                "version": self.version + 1,
            }
        )

    def bill(self, invoice_id: str) -> UsagePeriod:
        """The open generation is on ``invoice_id``; later records open the next one."""
        return self.model_copy(
            update={
                "generation": self.generation + 1,
                "lines": 0,
                "records": 0,
                "billed": (*self.billed, BilledGeneration(generation=self.generation, invoice_id=invoice_id)),
                "version": self.version + 1,
            }
        )


class PeriodClaim(_Frozen):
    """The one invoice of an account for a month. ``pending`` while a run still has to issue it."""

    account_id: str
    period: str
    invoice_id: str
    run_id: str
    pending: bool
    created_at: Timestamp


# ----------------------------------------------------------------------------------- billing runs
class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"


SkipReason = Literal["no_profile", "no_usage", "already_invoiced"]


class AccountOutcome(_Frozen):
    """What a run did for one account."""

    account_id: str
    kind: Literal["created", "skipped", "failed"]
    reason: SkipReason | None = None
    message: str | None = None
    invoice_id: str | None = None

    @classmethod
    def created(cls, account_id: str, invoice_id: str) -> AccountOutcome:
        return cls(account_id=account_id, kind="created", invoice_id=invoice_id)

    @classmethod
    def skipped(cls, account_id: str, reason: SkipReason, invoice_id: str | None = None) -> AccountOutcome:
        return cls(account_id=account_id, kind="skipped", reason=reason, invoice_id=invoice_id)

    @classmethod
    def failed(cls, account_id: str, message: str, invoice_id: str | None = None) -> AccountOutcome:
        return cls(account_id=account_id, kind="failed", message=message[:500], invoice_id=invoice_id)


class Skipped(_Frozen):
    account_id: str
    reason: SkipReason


class Failed(_Frozen):
    account_id: str
    message: str


class BillingRun(_Frozen):
    id: str
    period: str
    status: RunStatus = RunStatus.RUNNING
    trigger: Literal["schedule", "operator"] = "schedule"
    account_ids: tuple[str, ...] | None = None  # an operator's run over named accounts
    planned: bool = False
    accounts: int = 0
    done: int = 0
    invoices_created: int = 0
    skipped: tuple[Skipped, ...] = ()
    failed: tuple[Failed, ...] = ()
    skipped_count: int = 0
    failed_count: int = 0
    started_at: Timestamp
    finished_at: Timestamp | None = None

    @property
    def finished(self) -> bool:
        return self.status is not RunStatus.RUNNING

    @property
    def all_done(self) -> bool:
        return self.planned and self.done >= self.accounts

    @property
    def final_status(self) -> RunStatus:
        return RunStatus.COMPLETED_WITH_ERRORS if self.failed_count else RunStatus.COMPLETED


@dataclass(frozen=True)
class Unbilled:
    """An entry of the index of unbilled work: an account's month with unbilled usage (``usage``) or
    whose invoice a run still has to issue (``claim``)."""

    account_id: str
    period: str
    kind: Literal["usage", "claim"]


@dataclass(frozen=True)
class AccountWork:
    """One account of a run: bill its month, after finishing the invoices of earlier months that a
    run left to issue (``finish``: their periods)."""

    account_id: str
    finish: tuple[str, ...] = ()


def plan_work(entries: Iterable[Unbilled], period: str) -> list[AccountWork]:
    """One piece of work per account, oldest unfinished invoices first."""
    finish: dict[str, set[str]] = {}
    for entry in entries:
        todo = finish.setdefault(entry.account_id, set())
        if entry.kind == "claim" and entry.period < period:
            todo.add(entry.period)
    return [AccountWork(account, tuple(sorted(periods))) for account, periods in sorted(finish.items())]


def shard_of(account_id: str) -> int:
    import zlib

    return zlib.crc32(account_id.encode()) % UNBILLED_SHARDS


def billing_period(period: str) -> BillingPeriod:
    first, last = period_days(period)
    return BillingPeriod(start=first, end=last)


def pack(
    lines_by_period: Sequence[tuple[UsagePeriod, list[UsageLine]]],
) -> list[tuple[UsagePeriod, list[UsageLine]]]:
    """Whole periods, oldest first, while the invoice stays within ``MAX_LINES`` (a month never
    exceeds it on its own: ingestion refuses its 501st line). What does not fit waits for the next
    invoice."""
    chosen: list[tuple[UsagePeriod, list[UsageLine]]] = []
    count = 0
    for usage, lines in sorted(lines_by_period, key=lambda pair: pair[0].period):
        if chosen and count + len(lines) > MAX_LINES:
            break
        chosen.append((usage, lines))
        count += len(lines)
    return chosen


# ----------------------------------------------------------------------------------------- changes
@dataclass(frozen=True)
class SaveProfile(Change):
    """Create (``before`` is None: the account has none) or replace (still at ``before.version``)."""

    before: BillingProfile | None
    after: BillingProfile


@dataclass(frozen=True)
class SavePrice(Change):
    """Add a price version, or replace the one with the same ``effective_from``."""

    price: Price


@dataclass(frozen=True)
class KeepUsageRecord(Change):
    """An accepted record's marker (conditional on its id being new for the account)."""

    record: StoredRecord


@dataclass(frozen=True)
class SaveLineTotal(Change):
    """A line total, still at ``before.version`` (or new when ``before`` is None)."""

    before: LineTotal | None
    after: LineTotal


@dataclass(frozen=True)
class SaveUsagePeriod(Change):
    """A month's usage state, still at ``before.version`` (or new when ``before`` is None). While it
    has unbilled records it sits in the index the billing run plans from."""

    before: UsagePeriod | None
    after: UsagePeriod


@dataclass(frozen=True)
class ClaimPeriod(Change):
    """The account's one invoice for the month (conditional on there being none)."""

    claim: PeriodClaim


@dataclass(frozen=True)
class SettleClaim(Change):
    """The claimed invoice needs no more work from a run (issued, or left as a draft for review)."""

    account_id: str
    period: str


@dataclass(frozen=True)
class StartRun(Change):
    run: BillingRun


@dataclass(frozen=True)
class PlanRun(Change):
    """The run's account count, once (conditional on the run not being planned yet)."""

    run_id: str
    accounts: int


@dataclass(frozen=True)
class RecordOutcome(Change):
    """One account's outcome, counted once (conditional on it not being recorded yet); ``listed``:
    also appended to the run's ``skipped``/``failed`` list (while under ``MAX_OUTCOMES_LISTED``)."""

    run_id: str
    outcome: AccountOutcome
    listed: bool = True


@dataclass(frozen=True)
class FinishRun(Change):
    """running → completed | completed_with_errors (conditional on it still running)."""

    run_id: str
    status: RunStatus
    finished_at: datetime
