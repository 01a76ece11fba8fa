"""Billing profiles, the rate card, usage and billing runs in DynamoDB: reads, and the writers of
their changes (``domain.billing``), registered with ``repository.commit``.

Item shapes (the invoices table, ``pk``/``sk``):

- billing profile: ``ACCOUNT#{account}`` / ``PROFILE``, guarded by ``version``;
- period claim: ``ACCOUNT#{account}`` / ``INVOICE_PERIOD#{yyyy-mm}``: the account's one invoice for
  the month; in ``UnbilledIndex`` while a run still has to issue it;
- price version: ``RATECARD`` / ``PRICE#{sku}#{effective_from}`` (the rate card is one partition:
  reading it is one ``Query``);
- usage record marker: ``USAGE_RECORD#{account}#{id}`` / ``RECORD`` (its own partition: ids are
  checked with ``BatchGetItem``);
- usage period: ``USAGE#{account}`` / ``PERIOD#{yyyy-mm}``: open generation, counts, what billed the
  earlier generations; in the sparse ``UnbilledIndex`` (``unbilled_pk=UNBILLED#{shard}``,
  ``unbilled_sk={yyyy-mm}#{account}#USAGE``) while it has unbilled records;
- line total: ``USAGE#{account}`` / ``LINE#{yyyy-mm}#{generation:04d}#{line_key}``: one item per
  invoice line, so billing a month reads one ``Query`` of its lines, never its records;
- billing run: ``RUN#{id}`` / ``RUN``; one account's outcome: ``RUN#{id}`` / ``ACCOUNT#{account}``.

Quantities and rates are stored as decimal strings (exact), timestamps as ISO text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from invoicing.domain.billing import (
    MAX_OUTCOMES_LISTED,
    AccountOutcome,
    BillingProfile,
    BillingRun,
    ClaimPeriod,
    FinishRun,
    KeepUsageRecord,
    LineTotal,
    OutcomeListFullError,
    PeriodClaim,
    PeriodClaimedError,
    PlanRun,
    Price,
    RateCard,
    RecordOutcome,
    SaveLineTotal,
    SavePrice,
    SaveProfile,
    SaveUsagePeriod,
    SettleClaim,
    StartRun,
    StoredRecord,
    Unbilled,
    UsagePeriod,
    shard_of,
)
from invoicing.domain.errors import ConflictError, DuplicateError, NotFoundError, RetryableError
from invoicing.repository.commit import Plan, writes
from invoicing.repository.table import Table, deserialize, serialize

_HIGH = "\uffff"
BATCH_GET_KEYS = 100
BATCH_GET_ATTEMPTS = 5
UNBILLED_INDEX = "UnbilledIndex"


# ------------------------------------------------------------------------------------------ keys
def profile_key(account_id: str) -> dict[str, str]:
    return {"pk": f"ACCOUNT#{account_id}", "sk": "PROFILE"}


def claim_key(account_id: str, period: str) -> dict[str, str]:
    return {"pk": f"ACCOUNT#{account_id}", "sk": f"INVOICE_PERIOD#{period}"}


def price_key(sku: str, effective_from: str) -> dict[str, str]:
    return {"pk": "RATECARD", "sk": f"PRICE#{sku}#{effective_from}"}


def record_key(account_id: str, record_id: str) -> dict[str, str]:
    return {"pk": f"USAGE_RECORD#{account_id}#{record_id}", "sk": "RECORD"}


def usage_partition(account_id: str) -> str:
    return f"USAGE#{account_id}"


def period_key(account_id: str, period: str) -> dict[str, str]:
    return {"pk": usage_partition(account_id), "sk": f"PERIOD#{period}"}


def line_prefix(period: str, generation: int | None = None) -> str:
    return f"LINE#{period}#" if generation is None else f"LINE#{period}#{generation:04d}#"


def line_total_key(account_id: str, period: str, generation: int, key: str) -> dict[str, str]:
    return {"pk": usage_partition(account_id), "sk": f"{line_prefix(period, generation)}{key}"}


def run_key(run_id: str) -> dict[str, str]:
    return {"pk": f"RUN#{run_id}", "sk": "RUN"}


def outcome_key(run_id: str, account_id: str) -> dict[str, str]:
    return {"pk": f"RUN#{run_id}", "sk": f"ACCOUNT#{account_id}"}


def unbilled_partition(shard: int) -> str:
    return f"UNBILLED#{shard:02d}"


def _unbilled(account_id: str, period: str, kind: str) -> dict[str, str]:
    return {
        "unbilled_pk": unbilled_partition(shard_of(account_id)),
        "unbilled_sk": f"{period}#{account_id}#{kind}",
    }


# ---------------------------------------------------------------------------------- item shapes
_KEYS = frozenset({"pk", "sk", "entity", "unbilled_pk", "unbilled_sk"})


def _domain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _KEYS}


def profile_to_item(profile: BillingProfile) -> dict[str, Any]:
    return {**profile_key(profile.account_id), "entity": "billing_profile", **profile.model_dump(mode="json")}


def price_to_item(price: Price) -> dict[str, Any]:
    return {
        **price_key(price.sku, price.effective_from.isoformat()),
        "entity": "price",
        **price.model_dump(mode="json"),
    }


def period_to_item(usage: UsagePeriod) -> dict[str, Any]:
    item = {
        **period_key(usage.account_id, usage.period),
        "entity": "usage_period",
        **usage.model_dump(mode="json"),
    }
    if usage.unbilled:
        item |= _unbilled(usage.account_id, usage.period, "USAGE")
    return item


def line_to_item(total: LineTotal) -> dict[str, Any]:
    return {
        **line_total_key(total.account_id, total.period, total.generation, total.line_key),
        "entity": "line_total",
        **total.model_dump(mode="json"),
    }


def claim_to_item(claim: PeriodClaim) -> dict[str, Any]:
    item = {
        **claim_key(claim.account_id, claim.period),
        "entity": "period_claim",
        **claim.model_dump(mode="json"),
    }
    if claim.pending:
        item |= _unbilled(claim.account_id, claim.period, "CLAIM")
    return item


def run_to_item(run: BillingRun) -> dict[str, Any]:
    item = {**run_key(run.id), "entity": "billing_run", **run.model_dump(mode="json")}
    return {k: v for k, v in item.items() if v is not None}


def _version_guard(before_version: int | None) -> dict[str, Any]:
    if before_version is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "#version = :version",
        "ExpressionAttributeNames": {"#version": "version"},
        "ExpressionAttributeValues": serialize({":version": before_version}),
    }


# -------------------------------------------------------------------------------------- writers
@writes(SaveProfile)
def _save_profile(plan: Plan, change: SaveProfile) -> None:
    account = change.after.account_id
    plan.put(
        profile_to_item(change.after),
        lambda: ConflictError(f"The billing profile of {account} was changed meanwhile; read it again."),
        **_version_guard(change.before.version if change.before else None),
    )


@writes(SavePrice)
def _save_price(plan: Plan, change: SavePrice) -> None:
    plan.put(price_to_item(change.price), lambda: ConflictError("The price could not be written."))


@writes(KeepUsageRecord)
def _keep_record(plan: Plan, change: KeepUsageRecord) -> None:
    record = change.record
    plan.put(
        {
            **record_key(record.account_id, record.id),
            "entity": "usage_record",
            **record.model_dump(mode="json"),
        },
        lambda: ConflictError(f"Usage record {record.id} was accepted meanwhile."),
        ConditionExpression="attribute_not_exists(pk)",
    )


@writes(SaveLineTotal)
def _save_line(plan: Plan, change: SaveLineTotal) -> None:
    key = change.after.line_key
    plan.put(
        line_to_item(change.after),
        lambda: ConflictError(f"Line {key} changed meanwhile."),
        **_version_guard(change.before.version if change.before else None),
    )


@writes(SaveUsagePeriod)
def _save_period(plan: Plan, change: SaveUsagePeriod) -> None:
    after = change.after
    plan.put(
        period_to_item(after),
        lambda: ConflictError(f"The usage of {after.account_id} for {after.period} changed meanwhile."),
        **_version_guard(change.before.version if change.before else None),
    )


@writes(ClaimPeriod)
def _claim(plan: Plan, change: ClaimPeriod) -> None:
    claim = change.claim
    plan.put(
        claim_to_item(claim),
        lambda: PeriodClaimedError(f"{claim.account_id} already has its invoice for {claim.period}."),
        ConditionExpression="attribute_not_exists(pk)",
    )


@writes(SettleClaim)
def _settle_claim(plan: Plan, change: SettleClaim) -> None:
    plan.update(
        claim_key(change.account_id, change.period),
        lambda: NotFoundError(f"{change.account_id} has no invoice for {change.period}."),
        UpdateExpression="SET pending = :false REMOVE unbilled_pk, unbilled_sk",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues=serialize({":false": False}),
    )


@writes(StartRun)
def _start_run(plan: Plan, change: StartRun) -> None:
    run_id = change.run.id
    plan.put(
        run_to_item(change.run),
        lambda: DuplicateError(f"Billing run {run_id} already exists."),
        ConditionExpression="attribute_not_exists(pk)",
    )


@writes(PlanRun)
def _plan_run(plan: Plan, change: PlanRun) -> None:
    plan.update(
        run_key(change.run_id),
        lambda: DuplicateError(f"Billing run {change.run_id} is already planned."),
        UpdateExpression="SET accounts = :n, planned = :true",
        ConditionExpression="attribute_exists(pk) AND planned = :false",
        ExpressionAttributeValues=serialize({":n": change.accounts, ":true": True, ":false": False}),
    )


_COUNTERS = {"created": "invoices_created", "skipped": "skipped_count", "failed": "failed_count"}


@writes(RecordOutcome)
def _record_outcome(plan: Plan, change: RecordOutcome) -> None:
    outcome = change.outcome
    plan.put(
        {
            **outcome_key(change.run_id, outcome.account_id),
            "entity": "run_outcome",
            **outcome.model_dump(mode="json"),
        },
        lambda: DuplicateError(f"The outcome of {outcome.account_id} is already recorded."),
        ConditionExpression="attribute_not_exists(pk)",
    )
    names = {"#done": "done", "#counter": _COUNTERS[outcome.kind]}
    values: dict[str, Any] = {":one": 1}
    expression = "ADD #done :one, #counter :one"
    condition = "attribute_exists(pk)"
    if change.listed and outcome.kind != "created":
        entry = (
            {"account_id": outcome.account_id, "reason": outcome.reason}
            if outcome.kind == "skipped"
            else {"account_id": outcome.account_id, "message": outcome.message or ""}
        )
        names["#list"] = outcome.kind
        values |= {":entry": [entry], ":empty": [], ":cap": MAX_OUTCOMES_LISTED}
        expression = "SET #list = list_append(if_not_exists(#list, :empty), :entry) " + expression
        condition += " AND (attribute_not_exists(#list) OR size(#list) < :cap)"
    plan.update(
        run_key(change.run_id),
        lambda: OutcomeListFullError(f"The {outcome.kind} list of run {change.run_id} is full."),
        UpdateExpression=expression,
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=serialize(values),
    )


@writes(FinishRun)
def _finish_run(plan: Plan, change: FinishRun) -> None:
    from invoicing.repository.table import ts

    plan.update(
        run_key(change.run_id),
        lambda: DuplicateError(f"Billing run {change.run_id} has already finished."),
        UpdateExpression="SET #status = :status, finished_at = :at",
        ConditionExpression="#status = :running",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=serialize(
            {":status": change.status.value, ":at": ts(change.finished_at), ":running": "running"}
        ),
    )


# ---------------------------------------------------------------------------------------- reads
def batch_get(table: Table, keys: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """Every item that exists among ``keys`` (100 per ``BatchGetItem``; unprocessed keys asked again)."""
    found: list[dict[str, Any]] = []
    unique = list({(k["pk"], k["sk"]): k for k in keys}.values())
    for start in range(0, len(unique), BATCH_GET_KEYS):
        request: dict[str, Any] = {
            table.name: {
                "Keys": [serialize(k) for k in unique[start : start + BATCH_GET_KEYS]],
                "ConsistentRead": True,
            }
        }
        for _ in range(BATCH_GET_ATTEMPTS):
            response = table.call("batch_get_item", RequestItems=request)
            found += [deserialize(raw) for raw in response.get("Responses", {}).get(table.name, [])]
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RetryableError("DynamoDB left keys unprocessed; retry.")
    return found


@dataclass(frozen=True)
class UnbilledPage:
    entries: list[Unbilled]
    last_key: dict[str, Any] | None


class DynamoBillingStore:
    """``services.ports.BillingStore`` on the invoices table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    # profiles and prices
    def profile(self, account_id: str) -> BillingProfile | None:
        item = self._table.get(profile_key(account_id))
        return BillingProfile.model_validate(_domain(item)) if item else None

    def rate_card(self) -> RateCard:
        """One ``Query`` (a page per MB) of the rate card partition."""
        items = self._table.query_all(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=serialize({":pk": "RATECARD"}),
        )
        return RateCard(prices=tuple(Price.model_validate(_domain(item)) for item in items))

    # usage
    def records(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredRecord]:
        items = batch_get(self._table, [record_key(a, r) for a, r in keys])
        stored = [StoredRecord.model_validate(_domain(item)) for item in items]
        return {(s.account_id, s.id): s for s in stored}

    def periods(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UsagePeriod]:
        items = batch_get(self._table, [period_key(a, p) for a, p in keys])
        periods = [UsagePeriod.model_validate(_domain(item)) for item in items]
        return {(p.account_id, p.period): p for p in periods}

    def line_totals(
        self, refs: Sequence[tuple[str, str, int, str]]
    ) -> dict[tuple[str, str, int, str], LineTotal]:
        items = batch_get(self._table, [line_total_key(*ref) for ref in refs])
        totals = [LineTotal.model_validate(_domain(item)) for item in items]
        return {(t.account_id, t.period, t.generation, t.line_key): t for t in totals}

    def period(self, account_id: str, period: str) -> UsagePeriod | None:
        item = self._table.get(period_key(account_id, period))
        return UsagePeriod.model_validate(_domain(item)) if item else None

    def open_periods(self, account_id: str, through: str) -> list[UsagePeriod]:
        """The account's months up to ``through`` with unbilled records: one ``Query`` of its period
        items (one small item per month of history)."""
        items = self._table.query_all(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            FilterExpression="#records > :zero",
            ExpressionAttributeNames={"#records": "records"},
            ExpressionAttributeValues=serialize(
                {":pk": usage_partition(account_id), ":lo": "PERIOD#", ":hi": f"PERIOD#{through}", ":zero": 0}
            ),
        )
        return [UsagePeriod.model_validate(_domain(item)) for item in items]

    def lines(self, account_id: str, period: str, generation: int | None = None) -> list[LineTotal]:
        """The line totals of a month (one generation, or all): one ``Query`` (a page per MB)."""
        items = self._table.query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialize(
                {":pk": usage_partition(account_id), ":prefix": line_prefix(period, generation)}
            ),
        )
        return [LineTotal.model_validate(_domain(item)) for item in items]

    def claim(self, account_id: str, period: str) -> PeriodClaim | None:
        item = self._table.get(claim_key(account_id, period))
        return PeriodClaim.model_validate(_domain(item)) if item else None

    def unbilled(
        self, shard: int, through: str, *, start_key: dict[str, Any] | None = None, limit: int = 1000
    ) -> UnbilledPage:
        """One ``Query`` page of the sparse ``UnbilledIndex``: months up to ``through`` with unbilled
        usage or an invoice still to issue, in one shard. Reads grow with that work only."""
        params: dict[str, Any] = {
            "IndexName": UNBILLED_INDEX,
            "KeyConditionExpression": "unbilled_pk = :pk AND unbilled_sk <= :hi",
            "ExpressionAttributeValues": serialize(
                {":pk": unbilled_partition(shard), ":hi": f"{through}#{_HIGH}"}
            ),
            "Limit": limit,
        }
        if start_key:
            params["ExclusiveStartKey"] = serialize(start_key)
        response = self._table.query(**params)
        entries = []
        for raw in response.get("Items", []):
            period, account, kind = deserialize(raw)["unbilled_sk"].rsplit("#", 2)
            entries.append(Unbilled(account_id=account, period=period, kind=kind.lower()))
        last = response.get("LastEvaluatedKey")
        return UnbilledPage(entries=entries, last_key=deserialize(last) if last else None)

    def unbilled_entries(self, shards: int, through: str) -> Iterator[Unbilled]:
        for shard in range(shards):
            start: dict[str, Any] | None = None
            while True:
                page = self.unbilled(shard, through, start_key=start)
                yield from page.entries
                if page.last_key is None:
                    break
                start = page.last_key

    # runs
    def run(self, run_id: str) -> BillingRun:
        item = self._table.get(run_key(run_id))
        if item is None:
            raise NotFoundError(f"No billing run {run_id}.")
        return BillingRun.model_validate(_domain(item))

    def outcome(self, run_id: str, account_id: str) -> AccountOutcome | None:
        item = self._table.get(outcome_key(run_id, account_id))
        return AccountOutcome.model_validate(_domain(item)) if item else None
