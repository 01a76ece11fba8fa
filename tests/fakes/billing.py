"""The billing store (profiles, rate card, usage, runs) over an :class:`InMemoryStore`, and the fake
handlers of the billing changes: the same conditions, and the same errors, as repository.billing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from invoicing.domain.billing import (
    MAX_OUTCOMES_LISTED,
    AccountOutcome,
    AccountWork,
    BillingProfile,
    BillingRun,
    ClaimPeriod,
    Failed,
    FinishRun,
    KeepUsageRecord,
    LineTotal,
    OutcomeListFullError,
    PeriodClaim,
    PeriodClaimedError,
    PlanRun,
    RateCard,
    RecordOutcome,
    SaveLineTotal,
    SavePrice,
    SaveProfile,
    SaveUsagePeriod,
    SettleClaim,
    Skipped,
    StartRun,
    StoredRecord,
    Unbilled,
    UsagePeriod,
)
from invoicing.domain.errors import ConflictError, DuplicateError, NotFoundError
from tests.fakes.store import InMemoryStore, handles

PROFILES, PRICES, RECORDS, PERIODS, LINES, CLAIMS, RUNS, OUTCOMES = (
    "profiles",
    "prices",
    "records",
    "periods",
    "lines",
    "claims",
    "runs",
    "outcomes",
)


class FakeBillingStore:
    """``services.ports.BillingStore`` over an :class:`InMemoryStore`; ``reads`` counts calls."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.reads: list[str] = []

    def _c(self, name: str) -> dict[Any, Any]:
        return self.store.collection(name)

    def profile(self, account_id: str) -> BillingProfile | None:
        self.reads.append("profile")
        return self._c(PROFILES).get(account_id)

    def rate_card(self) -> RateCard:
        self.reads.append("rate_card")
        return RateCard(prices=tuple(self._c(PRICES).values()))

    def records(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredRecord]:
        self.reads.append("records")
        return {key: self._c(RECORDS)[key] for key in keys if key in self._c(RECORDS)}

    def periods(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UsagePeriod]:
        self.reads.append("periods")
        return {key: self._c(PERIODS)[key] for key in keys if key in self._c(PERIODS)}

    def line_totals(
        self, refs: Sequence[tuple[str, str, int, str]]
    ) -> dict[tuple[str, str, int, str], LineTotal]:
        self.reads.append("line_totals")
        return {ref: self._c(LINES)[ref] for ref in refs if ref in self._c(LINES)}

    def period(self, account_id: str, period: str) -> UsagePeriod | None:
        self.reads.append("period")
        return self._c(PERIODS).get((account_id, period))

    def open_periods(self, account_id: str, through: str) -> list[UsagePeriod]:
        self.reads.append("open_periods")
        return sorted(
            (p for (a, m), p in self._c(PERIODS).items() if a == account_id and m <= through and p.unbilled),
            key=lambda p: p.period,
        )

    def lines(self, account_id: str, period: str, generation: int | None = None) -> list[LineTotal]:
        self.reads.append("lines")
        return [
            t
            for (a, m, g, _), t in sorted(self._c(LINES).items())
            if a == account_id and m == period and (generation is None or g == generation)
        ]

    def claim(self, account_id: str, period: str) -> PeriodClaim | None:
        self.reads.append("claim")
        return self._c(CLAIMS).get((account_id, period))

    def unbilled_entries(self, shards: int, through: str) -> Iterator[Unbilled]:
        self.reads.append("unbilled")
        for (account, period), usage in sorted(self._c(PERIODS).items()):
            if usage.unbilled and period <= through:
                yield Unbilled(account, period, "usage")
        for (account, period), claim in sorted(self._c(CLAIMS).items()):
            if claim.pending and period <= through:
                yield Unbilled(account, period, "claim")

    def run(self, run_id: str) -> BillingRun:
        self.reads.append("run")
        run = self._c(RUNS).get(run_id)
        if run is None:
            raise NotFoundError(f"No billing run {run_id}.")
        return run

    def outcome(self, run_id: str, account_id: str) -> AccountOutcome | None:
        return self._c(OUTCOMES).get((run_id, account_id))


def _versioned(collection: str, key: Any, before: Any, what: str) -> Any:
    def check(store: InMemoryStore, change: Any) -> None:
        stored = store.collection(collection).get(key(change))
        expected = getattr(change, "before")  # noqa: B009
        if (expected is None and stored is not None) or (
            expected is not None and (stored is None or stored.version != expected.version)
        ):
            raise ConflictError(f"{what} changed meanwhile.")

    return check


@handles(SaveProfile, _versioned(PROFILES, lambda c: c.after.account_id, None, "The billing profile"))
def _profile(store: InMemoryStore, change: SaveProfile) -> None:
    store.collection(PROFILES)[change.after.account_id] = change.after


@handles(SavePrice, lambda store, change: None)
def _price(store: InMemoryStore, change: SavePrice) -> None:
    store.collection(PRICES)[(change.price.sku, change.price.effective_from)] = change.price


def _check_record(store: InMemoryStore, change: KeepUsageRecord) -> None:
    if (change.record.account_id, change.record.id) in store.collection(RECORDS):
        raise ConflictError(f"Usage record {change.record.id} was accepted meanwhile.")


@handles(KeepUsageRecord, _check_record)
def _record(store: InMemoryStore, change: KeepUsageRecord) -> None:
    store.collection(RECORDS)[(change.record.account_id, change.record.id)] = change.record


def _line_ref(change: SaveLineTotal) -> tuple[str, str, int, str]:
    t = change.after
    return (t.account_id, t.period, t.generation, t.line_key)


@handles(SaveLineTotal, _versioned(LINES, _line_ref, None, "A line total"))
def _line(store: InMemoryStore, change: SaveLineTotal) -> None:
    store.collection(LINES)[_line_ref(change)] = change.after


@handles(
    SaveUsagePeriod,
    _versioned(PERIODS, lambda c: (c.after.account_id, c.after.period), None, "The month's usage"),
)
def _period(store: InMemoryStore, change: SaveUsagePeriod) -> None:
    store.collection(PERIODS)[(change.after.account_id, change.after.period)] = change.after


def _check_claim(store: InMemoryStore, change: ClaimPeriod) -> None:
    if (change.claim.account_id, change.claim.period) in store.collection(CLAIMS):
        raise PeriodClaimedError(
            f"{change.claim.account_id} already has its invoice for {change.claim.period}."
        )


@handles(ClaimPeriod, _check_claim)
def _claim(store: InMemoryStore, change: ClaimPeriod) -> None:
    store.collection(CLAIMS)[(change.claim.account_id, change.claim.period)] = change.claim


def _check_settle(store: InMemoryStore, change: SettleClaim) -> None:
    if (change.account_id, change.period) not in store.collection(CLAIMS):
        raise NotFoundError(f"{change.account_id} has no invoice for {change.period}.")


@handles(SettleClaim, _check_settle)
def _settle(store: InMemoryStore, change: SettleClaim) -> None:
    key = (change.account_id, change.period)
    store.collection(CLAIMS)[key] = store.collection(CLAIMS)[key].model_copy(update={"pending": False})


def _check_start(store: InMemoryStore, change: StartRun) -> None:
    if change.run.id in store.collection(RUNS):
        raise DuplicateError(f"Billing run {change.run.id} already exists.")


@handles(StartRun, _check_start)
def _start(store: InMemoryStore, change: StartRun) -> None:
    store.collection(RUNS)[change.run.id] = change.run


def _check_plan(store: InMemoryStore, change: PlanRun) -> None:
    run = store.collection(RUNS).get(change.run_id)
    if run is None or run.planned:
        raise DuplicateError(f"Billing run {change.run_id} is already planned.")


@handles(PlanRun, _check_plan)
def _plan(store: InMemoryStore, change: PlanRun) -> None:
    runs = store.collection(RUNS)
    runs[change.run_id] = runs[change.run_id].model_copy(
        update={"accounts": change.accounts, "planned": True}
    )


def _check_outcome(store: InMemoryStore, change: RecordOutcome) -> None:
    if (change.run_id, change.outcome.account_id) in store.collection(OUTCOMES):
        raise DuplicateError(f"The outcome of {change.outcome.account_id} is already recorded.")
    run = store.collection(RUNS)[change.run_id]
    kind = change.outcome.kind
    if change.listed and kind != "created" and len(getattr(run, kind)) >= MAX_OUTCOMES_LISTED:
        raise OutcomeListFullError(f"The {kind} list of run {change.run_id} is full.")


@handles(RecordOutcome, _check_outcome)
def _outcome(store: InMemoryStore, change: RecordOutcome) -> None:
    outcome = change.outcome
    store.collection(OUTCOMES)[(change.run_id, outcome.account_id)] = outcome
    runs = store.collection(RUNS)
    run = runs[change.run_id]
    update: dict[str, Any] = {"done": run.done + 1}
    if outcome.kind == "created":
        update["invoices_created"] = run.invoices_created + 1
    elif outcome.kind == "skipped":
        update["skipped_count"] = run.skipped_count + 1
        if change.listed:
            assert outcome.reason is not None
            update["skipped"] = (*run.skipped, Skipped(account_id=outcome.account_id, reason=outcome.reason))
    else:
        update["failed_count"] = run.failed_count + 1
        if change.listed:
            update["failed"] = (
                *run.failed,
                Failed(account_id=outcome.account_id, message=outcome.message or ""),
            )
    runs[change.run_id] = run.model_copy(update=update)


def _check_finish(store: InMemoryStore, change: FinishRun) -> None:
    if store.collection(RUNS)[change.run_id].finished:
        raise DuplicateError(f"Billing run {change.run_id} has already finished.")


@handles(FinishRun, _check_finish)
def _finish(store: InMemoryStore, change: FinishRun) -> None:
    runs = store.collection(RUNS)
    runs[change.run_id] = runs[change.run_id].model_copy(
        update={"status": change.status, "finished_at": change.finished_at}
    )


class RecordingBillingQueue:
    """``services.ports.BillingQueue`` that keeps the messages for the test to deliver."""

    def __init__(self) -> None:
        self.plans: list[str] = []
        self.bills: list[tuple[str, str, str, tuple[str, ...]]] = []

    def plan(self, run_id: str) -> None:
        self.plans.append(run_id)

    def bill(self, run_id: str, period: str, works: Sequence[AccountWork]) -> None:
        self.bills += [(run_id, period, work.account_id, work.finish) for work in works]
