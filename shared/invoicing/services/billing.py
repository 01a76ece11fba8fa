"""Automatic invoices: billing profiles, the rate card, usage ingestion, the usage summary
(``BillingService``) and billing runs (``BillingRunService``). billing.md is the contract.

Usage ingestion
    A batch is validated whole first (shape, months, a price in effect at each record's start, the
    500-line cap of a month): one refusal and nothing is stored. Then each record's id is looked up
    (``BatchGetItem``): the same content again is a ``duplicate``, other content a ``conflict``.
    New records are priced and folded into their line totals (``domain.billing.LineTotal.add``) and
    committed — record markers, line totals and the month's usage item — in transactions of at most
    100 items, each conditional on what was read. A lost condition (a concurrent batch, a billing
    run) re-reads and re-applies what is left.

Billing one account (``BillingRunService.bill_account``)
    The claim of (account, month) is read first: if there is one, its invoice is finished (issued
    when the run left it a draft) and no other is made. Otherwise the open generations of every
    month up to the period are read — one ``Query`` of the account's month items, one ``Query`` of
    line totals per open month — and turned into lines by the same code as the usage summary. One
    transaction writes the draft, the claim and every billed month's next generation; a month that
    changed meanwhile (a record accepted) or a claim taken meanwhile (another run) fails it, and
    the account is read again.
"""

from __future__ import annotations

import hashlib
import string
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from invoicing.domain.access import Caller
from invoicing.domain.billing import (
    OPERATOR_PROFILE_FIELDS,
    UNBILLED_SHARDS,
    AccountOutcome,
    AccountWork,
    BillingModel,
    BillingProfile,
    BillingRun,
    ClaimPeriod,
    FinishRun,
    KeepUsageRecord,
    LineTotal,
    OutcomeListFullError,
    PeriodClaim,
    PlanRun,
    Price,
    RecordOutcome,
    SaveLineTotal,
    SavePrice,
    SaveProfile,
    SaveUsagePeriod,
    SettleClaim,
    StartRun,
    StoredRecord,
    UsageLine,
    UsagePeriod,
    UsageRecord,
    billing_period,
    has_ended,
    invoice_description,
    line_key,
    pack,
    plan_work,
    previous_period,
    usage_lines,
    validate_period,
)
from invoicing.domain.changes import Change, SaveInvoice
from invoicing.domain.effects import emit
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    DuplicateError,
    ForbiddenError,
    InvalidTransitionError,
    InvoicingError,
    NotFoundError,
    PaymentProviderError,
    RetryableError,
)
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import PAYABLE_STATUSES, Customer, Invoice, InvoiceStatus
from invoicing.domain.outbox import PublishEvent
from invoicing.observability import logger
from invoicing.services.invoices import InvoiceService
from invoicing.services.ports import AdvanceSettler, BillingQueue, BillingStore, Clock, Counter, Transactions
from invoicing.services.retry import Backoff

MAX_TRANSACTION_ITEMS = 100
# A stored invoice must fit DynamoDB's 400 KB item, with room for payments, refunds, credit notes.
MAX_INVOICE_JSON_BYTES = 360_000

RecordStatus = Literal["accepted", "duplicate", "conflict"]


@dataclass(frozen=True)
class IngestResult:
    items: list[tuple[str, RecordStatus]]

    def count(self, status: RecordStatus) -> int:
        return sum(1 for _, s in self.items if s == status)


@dataclass(frozen=True)
class UsageSummary:
    account_id: str
    period: str
    lines: list[UsageLine]
    records: int
    invoice_id: str | None
    currency: str = "INR"

    @property
    def taxable_amount(self) -> int:
        return sum(line.amount for line in self.lines)


def period_lines(
    store: BillingStore, account_id: str, period: str, generation: int | None
) -> list[UsageLine]:
    """THE lines of a month (one generation or all, each generation its own lines): what the usage
    summary shows and what the billing run bills, through one path."""
    totals = store.lines(account_id, period, generation)
    by_generation: dict[int, list[LineTotal]] = defaultdict(list)
    for total in totals:
        by_generation[total.generation].append(total)
    return [line for g in sorted(by_generation) for line in usage_lines(by_generation[g])]


# ------------------------------------------------------------------------------------------------
# Profiles, prices, usage
# ------------------------------------------------------------------------------------------------
@dataclass
class BillingService:
    store: BillingStore
    transactions: Transactions
    clock: Clock
    backoff: Backoff = field(default_factory=Backoff)

    # -------------------------------------------------------------------------- profiles
    def profile(self, caller: Caller, account_id: str) -> BillingProfile:
        self._own(caller, account_id)
        profile = self.store.profile(account_id)
        if profile is None:
            raise NotFoundError(f"Account {account_id} has no billing profile.")
        return profile

    def put_profile(
        self, caller: Caller, account_id: str, customer: Customer | None, fields: dict[str, Any]
    ) -> BillingProfile:
        """Create or replace. A customer may change only its ``customer`` (GST details)."""
        self._own(caller, account_id)
        if not caller.is_operator:
            refused = sorted(set(fields) & set(OPERATOR_PROFILE_FIELDS))
            if refused:
                raise ForbiddenError(f"Only billing staff may change {', '.join(refused)}.")
        for _ in self.backoff.tries():
            before = self.store.profile(account_id)
            now = self.clock()
            after = (
                BillingProfile.create(account_id, customer, fields, now)
                if before is None
                else before.revise(customer, fields, now)
            )
            try:
                self.transactions.commit([SaveProfile(before, after)])
            except ConflictError:
                continue
            return after
        raise RetryableError("The billing profile kept changing meanwhile; retry.")

    @staticmethod
    def _own(caller: Caller, account_id: str) -> None:
        if not caller.owns(account_id):
            raise ForbiddenError("You can only act on your own account.")

    # ---------------------------------------------------------------------------- prices
    def put_price(self, sku: str, fields: dict[str, Any]) -> Price:
        price = Price(sku=sku, updated_at=self.clock(), **fields)
        self.transactions.commit([SavePrice(price)])
        return price

    def prices(self) -> list[Price]:
        return self.store.rate_card().ordered()

    # ----------------------------------------------------------------------------- usage
    def ingest(self, records: Sequence[UsageRecord]) -> IngestResult:
        """Accept a batch (billing.md, ``POST /usage``): validated whole, stored once per id."""
        card = self.store.rate_card()
        prices: list[Price] = []
        problems = []
        for index, record in enumerate(records):
            price = card.price_at(record.sku, record.start_day)
            if price is None:
                problems.append(
                    {
                        "loc": ["records", index, "sku"],
                        "msg": f"record {record.id}: {record.sku} has no price on {record.start_day}",
                    }
                )
            prices.append(price)  # type: ignore[arg-type]
        _refuse(problems)

        statuses: list[RecordStatus | None] = [None] * len(records)
        first: dict[tuple[str, str], int] = {}
        for index, record in enumerate(records):  # the same id twice in one batch
            key = (record.account_id, record.id)
            if key in first:
                same = records[first[key]].fingerprint() == record.fingerprint()
                statuses[index] = "duplicate" if same else "conflict"
            else:
                first[key] = index

        for _ in self.backoff.tries():
            pending = [i for i, status in enumerate(statuses) if status is None]
            if not pending:
                break
            try:
                self._store(records, prices, pending, statuses)
            except ConflictError:
                logger.info("Usage batch lost a race; reading again", extra={"pending": len(pending)})
                continue
        else:
            raise RetryableError("Usage kept changing meanwhile; retry the batch (it is idempotent).")
        return IngestResult(items=[(r.id, s or "accepted") for r, s in zip(records, statuses, strict=True)])

    def _store(
        self,
        records: Sequence[UsageRecord],
        prices: Sequence[Price],
        pending: list[int],
        statuses: list[RecordStatus | None],
    ) -> None:
        """Classify the pending records against what is stored, then commit the new ones."""
        stored = self.store.records([(records[i].account_id, records[i].id) for i in pending])
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i in pending:
            known = stored.get((records[i].account_id, records[i].id))
            if known is None:
                groups[(records[i].account_id, records[i].period)].append(i)
            else:
                statuses[i] = "duplicate" if known.fingerprint == records[i].fingerprint() else "conflict"
        if not groups:
            return
        months = self.store.periods(list(groups))
        generation = {key: months[key].generation if key in months else 0 for key in groups}
        refs = {
            (*key, generation[key], self._key(records[i], prices[i]))
            for key, indices in groups.items()
            for i in indices
        }
        totals = self.store.line_totals(sorted(refs))
        # Everything is computed (and so validated) before anything is written.
        plans = [
            plan
            for key, indices in groups.items()
            for plan in self._month_commits(key, indices, months.get(key), totals, records, prices)
        ]
        for chunk, changes in plans:
            self.transactions.commit(changes)
            for i in chunk:
                statuses[i] = "accepted"

    def _month_commits(
        self,
        month: tuple[str, str],
        indices: list[int],
        before: UsagePeriod | None,
        stored: dict[tuple[str, str, int, str], LineTotal],
        records: Sequence[UsageRecord],
        prices: Sequence[Price],
    ) -> list[tuple[list[int], list[Change]]]:
        """One month's new records as commits of at most 100 items, each chained on the previous."""
        account, period = month
        usage = before or UsagePeriod(account_id=account, period=period)
        g = usage.generation
        totals = {ref[3]: total for ref, total in stored.items() if ref[:3] == (account, period, g)}
        keys = {self._key(records[i], prices[i]) for i in indices}
        usage.accept(0, len(keys - totals.keys()), records[indices[0]].id)  # the 500-line cap, whole batch
        now = self.clock()
        commits: list[tuple[list[int], list[Change]]] = []
        for chunk in _chunks(indices, lambda i: self._key(records[i], prices[i])):
            touched: dict[str, LineTotal | None] = {}
            changes: list[Change] = []
            for i in chunk:
                record, price = records[i], prices[i]
                key = self._key(record, price)
                touched.setdefault(key, totals.get(key))
                current = totals.get(key) or LineTotal.open(record, price, g)
                try:
                    totals[key] = current.add(record, price)
                except DomainValidationError as exc:
                    _refuse([{"loc": ["records", i, "quantity"], "msg": exc.message}])
                stored_record = StoredRecord(
                    account_id=account,
                    id=record.id,
                    fingerprint=record.fingerprint(),
                    period=period,
                    generation=g,
                    line_key=key,
                    accepted_at=now,
                )
                changes.append(KeepUsageRecord(stored_record))
            opened = sum(1 for line in touched.values() if line is None)
            after = usage.accept(len(chunk), opened, records[chunk[0]].id)
            changes += [SaveLineTotal(touched[key], totals[key]) for key in touched]
            changes.append(SaveUsagePeriod(before, after))
            commits.append((chunk, changes))
            before = usage = after
        return commits

    @staticmethod
    def _key(record: UsageRecord, price: Price) -> str:
        return line_key(record.resource_id, record.sku, price.unit_rate)

    def summary(self, caller: Caller, period: str, account_id: str | None) -> UsageSummary:
        account = caller.account_for_listing(account_id)
        usage = self.store.period(account, period)
        return UsageSummary(
            account_id=account,
            period=period,
            lines=period_lines(self.store, account, period, None),
            records=usage.total_records if usage else 0,
            invoice_id=usage.invoice_id if usage else None,
        )


def _chunks(indices: list[int], key_of: Any) -> list[list[int]]:
    """Records in commits of at most 100 items: one marker each, one per line total, one month item."""
    chunks: list[list[int]] = []
    current: list[int] = []
    lines: set[str] = set()
    for i in indices:
        key = key_of(i)
        extra = 0 if key in lines else 1
        if current and (len(current) + 1) + (len(lines) + extra) + 1 > MAX_TRANSACTION_ITEMS:
            chunks.append(current)
            current, lines = [], set()
            extra = 1
        current.append(i)
        lines.add(key)
    if current:
        chunks.append(current)
    return chunks


def _refuse(problems: list[dict[str, Any]]) -> None:
    if problems:
        first = problems[0]
        where = "records[{}].{}".format(*first["loc"][1:])
        raise DomainValidationError(f"{where}: {first['msg']}.", problems)


# ------------------------------------------------------------------------------------------------
# Billing runs
# ------------------------------------------------------------------------------------------------
_ID_ALPHABET = string.ascii_letters + string.digits
_OUTCOME_METRICS = {
    "created": "RunInvoiceCreated",
    "skipped": "RunAccountSkipped",
    "failed": "RunAccountFailed",
}


def scheduled_run_id(event_id: str) -> str:
    """A scheduled run's id, derived from the schedule's event id: a retried delivery of the same
    event resumes the same run instead of starting another."""
    number = int.from_bytes(hashlib.sha256(event_id.encode()).digest(), "big")
    chars = []
    for _ in range(14):
        number, digit = divmod(number, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[digit])
    return "run_" + "".join(chars)


@dataclass
class BillingRunService:
    store: BillingStore
    transactions: Transactions
    invoices: InvoiceService
    advances: AdvanceSettler  # settles a prepaid account's invoice from its wallet, after its issue
    queue: BillingQueue
    metrics: Counter
    clock: Clock
    backoff: Backoff = field(default_factory=Backoff)

    # ----------------------------------------------------------------------------- starting
    def run_scheduled(self, time: Any, event_id: str) -> BillingRun:
        """The monthly schedule: bill the IST month before the event's ``time``, planned right here."""
        run = self._start(previous_period(time), "schedule", None, scheduled_run_id(event_id))
        return self.plan(run.id)

    def request(self, period: str, account_ids: Sequence[str] | None) -> BillingRun:
        """``POST /billing-runs``: the run is stored and its planning queued (202)."""
        validate_period(period)
        if not has_ended(period, self.clock()):
            raise DomainValidationError(
                f"{period} has not ended yet (IST); a run bills a month that is over.",
                [{"loc": ["body", "period"], "msg": "must be a month that has ended (IST)"}],
            )
        ids = tuple(dict.fromkeys(account_ids)) if account_ids else None
        run = self._start(period, "operator", ids, new_id("run"))
        self.queue.plan(run.id)
        return run

    def _start(
        self, period: str, trigger: Any, account_ids: tuple[str, ...] | None, run_id: str
    ) -> BillingRun:
        run = BillingRun(
            id=run_id, period=period, trigger=trigger, account_ids=account_ids, started_at=self.clock()
        )
        try:
            self.transactions.commit([StartRun(run)])
        except DuplicateError:
            return self.store.run(run_id)
        self.metrics.count("BillingRunStarted")
        logger.info("Billing run started", extra={"run_id": run.id, "period": period, "trigger": trigger})
        return run

    def plan(self, run_id: str) -> BillingRun:
        """Find the run's accounts (the index of unbilled usage, or the ones named), count them once,
        queue one message per account. Planning again re-queues what is still to do (harmless)."""
        run = self.store.run(run_id)
        if run.finished:
            return run
        works = (
            [AccountWork(account) for account in run.account_ids]
            if run.account_ids is not None
            else plan_work(self.store.unbilled_entries(UNBILLED_SHARDS, run.period), run.period)
        )
        try:
            self.transactions.commit([PlanRun(run.id, len(works))])
        except DuplicateError:
            works = [w for w in works if self.store.outcome(run.id, w.account_id) is None]
        self.queue.bill(run.id, run.period, works)
        logger.info("Billing run planned", extra={"run_id": run.id, "accounts": len(works)})
        return self.finish_if_done(run.id)

    def get(self, run_id: str) -> BillingRun:
        return self.store.run(run_id)

    # ------------------------------------------------------------------------ one account
    def bill(
        self,
        run_id: str,
        period: str,
        account_id: str,
        *,
        finish: tuple[str, ...] = (),
        last_attempt: bool = True,
    ) -> AccountOutcome:
        """One account of a run (the queue's message): finish the invoices earlier runs left to issue
        (``finish``), bill its month, count its outcome once, finish the run when it was the last. A
        failure that may pass (throttling, a crash) is raised for the queue to retry, and recorded as
        failed on the last attempt."""
        try:
            outcome = self._unfinished(run_id, account_id, finish) or self.bill_account(
                run_id, period, account_id
            )
        except Exception as exc:
            if not last_attempt:
                raise
            logger.exception("Billing an account failed for good", extra={"account_id": account_id})
            outcome = AccountOutcome.failed(account_id, f"{type(exc).__name__}: {exc}")
        self._record(run_id, outcome)
        self.finish_if_done(run_id)
        return outcome

    def _unfinished(self, run_id: str, account_id: str, periods: tuple[str, ...]) -> AccountOutcome | None:
        """Issue the drafts earlier runs left behind; the first failure is the account's outcome."""
        for earlier in periods:
            claim = self.store.claim(account_id, earlier)
            if claim is not None and claim.pending:
                outcome = self._finish(run_id, claim, created=False, profile=self.store.profile(account_id))
                if outcome.kind == "failed":
                    return outcome
        return None

    def bill_account(self, run_id: str, period: str, account_id: str) -> AccountOutcome:
        profile = self.store.profile(account_id)
        if profile is None:
            return AccountOutcome.skipped(account_id, "no_profile")
        for _ in self.backoff.tries():
            claim = self.store.claim(account_id, period)
            if claim is not None:
                return self._finish(run_id, claim, created=False, profile=profile)
            months = [
                (usage, period_lines(self.store, account_id, usage.period, usage.generation))
                for usage in self.store.open_periods(account_id, period)
            ]
            chosen = pack(months)
            lines = [line for _, month_lines in chosen for line in month_lines]
            now = self.clock()
            if sum(line.amount for line in lines) <= 0:
                if chosen and not self._close(chosen):
                    continue
                return AccountOutcome.skipped(account_id, "no_usage")
            draft = Invoice.create_draft(
                account_id=account_id,
                supplier=self.invoices.policy.supplier,
                customer=profile.customer,
                billing_period=billing_period(period),
                line_items=[line.to_line_item() for line in lines],
                now=now,
                description=invoice_description(period),
                payment_terms_days=profile.payment_terms_days,
                partial_payment=profile.partial_payment,
                origin="billing_run",
            )
            size = len(draft.model_dump_json())
            if size > MAX_INVOICE_JSON_BYTES:
                return AccountOutcome.failed(
                    account_id,
                    f"The invoice would be {size} bytes, over the {MAX_INVOICE_JSON_BYTES} stored.",
                )
            claim = PeriodClaim(
                account_id=account_id,
                period=period,
                invoice_id=draft.id,
                run_id=run_id,
                pending=profile.auto_issue,
                created_at=now,
            )
            try:
                self.transactions.commit(
                    [
                        SaveInvoice(None, draft),
                        ClaimPeriod(claim),
                        *[SaveUsagePeriod(usage, usage.bill(draft.id)) for usage, _ in chosen],
                    ]
                )
            except ConflictError:
                logger.info(
                    "Billing lost a race; reading the account again", extra={"account_id": account_id}
                )
                continue
            self.metrics.count("UsageInvoiceCreated")
            return self._finish(run_id, claim, created=True, invoice=draft, profile=profile)
        raise RetryableError(f"The usage of {account_id} kept changing meanwhile.")

    def _close(self, chosen: list[tuple[UsagePeriod, list[UsageLine]]]) -> bool:
        """Usage worth nothing (zero quantities) is closed without an invoice (no ₹0 invoices)."""
        try:
            self.transactions.commit([SaveUsagePeriod(usage, usage.bill("")) for usage, _ in chosen])
        except ConflictError:
            return False
        return True

    def _finish(
        self,
        run_id: str,
        claim: PeriodClaim,
        *,
        created: bool,
        invoice: Invoice | None = None,
        profile: BillingProfile | None = None,
    ) -> AccountOutcome:
        """The claimed invoice, issued when the run must issue it (a retry resumes a draft); a
        prepaid account's is then settled from its advances, before the claim is settled, so a
        retry after a crash in between settles it (at most once: ``AdvanceSettler``)."""
        account = claim.account_id
        invoice = invoice or self.invoices.invoices.get(claim.invoice_id)
        issued_here = False
        if claim.pending and invoice.status is InvoiceStatus.DRAFT:
            try:
                invoice = self.invoices.issue(invoice.id)
                issued_here = True
            except PaymentProviderError as exc:
                logger.warning(
                    "Issuing a run's invoice failed", extra={"account_id": account, "invoice_id": invoice.id}
                )
                return AccountOutcome.failed(account, exc.message, invoice.id)
            except (InvalidTransitionError, ConflictError):
                invoice = self.invoices.invoices.get(claim.invoice_id)  # issued meanwhile by another run
                if invoice.status is InvoiceStatus.DRAFT:
                    raise
            except InvoicingError as exc:
                if isinstance(exc, RetryableError):
                    raise
                return AccountOutcome.failed(account, exc.message, invoice.id)
        prepaid = profile is not None and profile.billing_model is BillingModel.PREPAID
        if claim.pending and prepaid and invoice.status in PAYABLE_STATUSES:
            invoice = self.advances.settle(invoice.id)
        if claim.pending:
            self.transactions.commit([SettleClaim(account, claim.period)])
        if created or issued_here or claim.run_id == run_id:
            return AccountOutcome.created(account, invoice.id)
        return AccountOutcome.skipped(account, "already_invoiced", invoice.id)

    # ---------------------------------------------------------------------------- counting
    def _record(self, run_id: str, outcome: AccountOutcome) -> None:
        """Count the outcome once (a redelivered message counts nothing); list it while the run's
        list has room."""
        for listed in (True, False):
            try:
                self.transactions.commit([RecordOutcome(run_id, outcome, listed=listed)])
            except OutcomeListFullError:
                continue
            except DuplicateError:
                return
            self.metrics.count(
                {"created": "RunInvoiceCreated", "skipped": "RunAccountSkipped"}.get(
                    outcome.kind, "RunAccountFailed"
                )
            )
            return

    def finish_if_done(self, run_id: str) -> BillingRun:
        run = self.store.run(run_id)
        if run.finished or not run.all_done:
            return run
        now = self.clock()
        status = run.final_status
        event = PublishEvent(
            detail_type="BillingRunCompleted",
            detail={
                "run_id": run.id,
                "period": run.period,
                "invoices_created": run.invoices_created,
                "failed": run.failed_count,
            },
        )
        try:
            self.transactions.commit([FinishRun(run.id, status, now), *emit("billing-run", [event], now)])
        except DuplicateError:
            return self.store.run(run_id)
        self.metrics.count("BillingRunCompleted")
        logger.info("Billing run completed", extra={"run_id": run.id, "status": status.value})
        return run.model_copy(update={"status": status, "finished_at": now})
