"""Demo data for the local stack: the demo account with an invoice in every status, and a prepaid
account with two paid top-ups and a month settled from them.

Everything goes through the real code: ``InvoiceService`` (create, issue) and ``CreditNoteService``
(cancel, by a credit note) — which talk to the Razorpay stand-in through the real adapter — on a
clock set back to each step's moment and, for what
only webhooks or the sweep would do, the domain's own transitions (``apply_payment``,
``mark_overdue``, ``expire``) committed with the same side effects (domain event, render job)
through the outbox. Payments are also recorded at the stand-in, so its hosted page and our invoice
agree. No item is written by hand.

Issues are back-dated and made oldest first, so invoice numbers follow the dates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from infra.demo import (
    DEMO_ACCOUNT,
    DEMO_PREPAID_ACCOUNT,
    DEMO_PRICES,
    PRICES_EFFECTIVE_FROM,
    demo_customer,
    demo_usage,
    draft_fields,
    prepaid_usage,
)
from infra.local.razorpay_standin import RazorpayError, RazorpayStandIn, new_id
from invoicing.adapters.razorpay_webhooks import parse_notice
from invoicing.config import InvoiceSettings, RegistrarSettings
from invoicing.domain.access import Caller
from invoicing.domain.billing import AccountWork, UsageRecord, previous_period
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.invoice import Invoice, InvoiceStatus, Payment
from invoicing.domain.numbering import ist_date
from invoicing.repository.reviews import DynamoReviewStore
from invoicing.services.billing import BillingRunService, BillingService
from invoicing.services.credit_notes import CreditNoteService
from invoicing.services.einvoicing import EInvoicePolicy, EInvoiceRegistrar, IrnCancellation
from invoicing.services.invoices import InvoiceService
from invoicing.services.retry import Backoff
from invoicing.services.wallet import AdvanceSettlementService, TopUpPaymentService, WalletService
from invoicing.wiring import billing, common, wallet

log = logging.getLogger("infra.local")


class SeedClock:
    """The seeder's clock: set to each step's (back-dated) moment."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _go_on() -> None:
    pass


@dataclass
class Seeder:
    service: InvoiceService
    credits: CreditNoteService
    standin: RazorpayStandIn
    clock: SeedClock
    now: datetime
    registrar: EInvoiceRegistrar
    checkpoint: Callable[[], None] = _go_on  # called before each step; raises to stop seeding

    @classmethod
    def build(
        cls,
        standin: RazorpayStandIn,
        razorpay_base_url: str,
        now: datetime | None = None,
        checkpoint: Callable[[], None] = _go_on,
    ) -> Seeder:
        settings = common.settings(InvoiceSettings)
        clock = SeedClock(now or datetime.now(UTC))
        payments = common.payments(settings.model_copy(update={"razorpay_base_url": razorpay_base_url}))
        service = InvoiceService(
            invoices=common.invoice_store(settings.invoices_table),
            transactions=common.transactions(settings.invoices_table),
            payments=payments,
            policy=common.policy(settings),
            clock=clock,
        )
        registrar = einvoice_registrar(clock)
        credits = CreditNoteService(
            invoices=common.invoice_store(settings.invoices_table),
            credit_notes=common.credit_note_store(settings.invoices_table),
            transactions=common.transactions(settings.invoices_table),
            payments=payments,
            clock=clock,
            backoff=Backoff(),
            e_invoices=IrnCancellation(irp=common.irp(settings), clock=clock),
            einvoicing=settings.einvoicing,
        )
        return cls(
            service=service,
            credits=credits,
            standin=standin,
            clock=clock,
            now=clock.now,
            registrar=registrar,
            checkpoint=checkpoint,
        )

    # --------------------------------------------------------------------------------- steps
    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def draft(self, created: datetime, *, intra_state: bool, lines: int = 3, **extra: object) -> Invoice:
        self.checkpoint()
        start = _month_start(created - timedelta(days=28))
        fields = draft_fields(start, intra_state=intra_state, lines=lines, **extra)
        self.clock.now = created
        return self.service.create(account_id=DEMO_ACCOUNT, fields=fields)

    def issued(self, days_ago: float, *, intra_state: bool, lines: int = 3, **extra: object) -> Invoice:
        created = self.ago(days_ago)
        invoice = self.draft(created, intra_state=intra_state, lines=lines, **extra)
        self.clock.now = created + timedelta(minutes=30)
        issued = self.service.issue(invoice.id)
        if issued.e_invoice is not None and issued.e_invoice.awaiting:
            # registered as it would have been then (a minute after the issue), not by today's rules
            self.clock.now += timedelta(minutes=1)
            self.registrar.register("invoice", issued.id, issued.e_invoice.attempts)
            issued = self.service.invoices.get(issued.id)
        return issued

    def pay(self, invoice: Invoice, amount: int, at: datetime, method: str) -> Invoice:
        payment_id = new_id("pay")
        if invoice.razorpay_invoice_id:
            try:
                deliveries = self.standin.pay(invoice.razorpay_invoice_id, amount, method)
                payment_id = deliveries[0].payload["payload"]["payment"]["entity"]["id"]
            except RazorpayError as error:
                log.warning("stand-in refused the demo payment on %s: %s", invoice.id, error.description)
        payment = Payment(id=payment_id, amount=amount, method=method, paid_at=at)
        after = invoice.apply_payment(payment, at)
        event = "InvoicePaid" if after.status is InvoiceStatus.PAID else "InvoicePartiallyPaid"
        return self._save(invoice, after, event)

    def overdue(self, invoice: Invoice) -> Invoice:
        return self._save(invoice, invoice.mark_overdue(ist_date(self.now), self.now), "InvoiceOverdue")

    def expire(self, invoice: Invoice) -> Invoice:
        if invoice.razorpay_invoice_id:
            try:
                self.standin.expire(invoice.razorpay_invoice_id)
            except RazorpayError as error:
                log.warning("stand-in refused to expire %s: %s", invoice.id, error.description)
        return self._save(invoice, invoice.expire(self.now), "InvoiceExpired")

    def _save(self, before: Invoice, after: Invoice, event: str) -> Invoice:
        self.checkpoint()
        effects = invoice_effects(before, after, [event])
        self.service.transactions.commit(
            [SaveInvoice(before, after), *emit(after.account_id, effects, after.updated_at)]
        )
        return after

    # ---------------------------------------------------------------------------------- plan
    def run(self) -> dict[str, Invoice]:
        """One invoice per status, intra- and inter-state customers; returns them by status."""
        seeded: dict[str, Invoice] = {}

        paid = self.issued(62, intra_state=True, lines=4)
        seeded["paid"] = self.pay(paid, paid.amount_due, self.ago(55), "upi")

        expiring = self.issued(
            50, intra_state=False, expire_by=self.ago(20), notes="Pay by the link's expiry."
        )
        seeded["expired"] = self.expire(expiring)

        late = self.issued(40, intra_state=False, lines=5)
        seeded["overdue"] = self.overdue(late)

        to_cancel = self.issued(10, intra_state=True, lines=2)
        self.clock.now = self.ago(9)
        seeded["cancelled"] = self.credits.cancel(to_cancel.id)

        partial = self.issued(5, intra_state=True, partial_payment=True)
        seeded["partially_paid"] = self.pay(
            partial, partial.amount_due * 40 // 100, self.ago(2), "netbanking"
        )

        seeded["issued"] = self.issued(1, intra_state=False, lines=3)
        seeded["draft"] = self.draft(self.now, intra_state=True, lines=2)
        return seeded


def _month_start(moment: datetime) -> date:
    return moment.date().replace(day=1)


def seed_billing(now: datetime | None = None) -> str:
    """The rate card, a postpaid billing profile for the demo account and its usage of the month
    before last and of last month (IST), all through ``BillingService``. The month before last is
    invoiced by the demo's back-dated billing run (``seed_prepaid``); last month is left for
    ``POST /_local/schedules/billing-run``."""
    settings = common.settings(InvoiceSettings)
    clock = SeedClock(now or datetime.now(UTC))
    service = BillingService(
        store=billing.store(settings.invoices_table),
        transactions=common.transactions(settings.invoices_table),
        clock=clock,
    )
    for sku, fields in DEMO_PRICES.items():
        service.put_price(sku, {**fields, "effective_from": PRICES_EFFECTIVE_FROM})
    operator = Caller(account_id=None, is_operator=True)
    service.put_profile(
        operator,
        DEMO_ACCOUNT,
        demo_customer(intra_state=True),
        {"billing_model": "postpaid", "payment_terms_days": 15},
    )
    period = previous_period(clock.now)
    for month in (_month_before(period), period):
        records = [UsageRecord.model_validate(r) for r in demo_usage(DEMO_ACCOUNT, month)]
        for start in range(0, len(records), 500):
            service.ingest(records[start : start + 500])
        log.info("demo usage for %s: %d records in %s (postpaid)", DEMO_ACCOUNT, len(records), month)
    return period


def _month_before(period: str) -> str:
    """``"2026-11"`` → ``"2026-10"``: the IST month before a billing period."""
    return previous_period(datetime.fromisoformat(f"{period}-01T12:00:00+05:30"))


class _Works:
    """The billing queue of the demo's back-dated run: its messages are billed right here."""

    def __init__(self) -> None:
        self.works: list[AccountWork] = []

    def plan(self, run_id: str) -> None:
        pass

    def bill(self, run_id: str, period: str, works: object) -> None:
        self.works += list(works)  # type: ignore[call-overload]


class _NoMetrics:
    def count(self, name: str) -> None:
        pass


def einvoice_registrar(clock: SeedClock) -> EInvoiceRegistrar:
    """The registrar, on the seed's clock: back-dated documents are registered as of their issue."""
    settings = common.settings(RegistrarSettings)
    return EInvoiceRegistrar(
        invoices=common.invoice_store(settings.invoices_table),
        credit_notes=common.credit_note_store(settings.invoices_table),
        transactions=common.transactions(settings.invoices_table),
        irp=common.irp(settings),
        jobs=common.einvoice_jobs(settings.einvoice_queue_url),
        policy=EInvoicePolicy(mode=settings.einvoicing, aato_above_10_crore=settings.aato_above_10_crore),
        clock=clock,
        backoff=Backoff(),
    )


def seed_prepaid(standin: RazorpayStandIn, razorpay_base_url: str, now: datetime | None = None) -> str:
    """The prepaid demo account: a prepaid billing profile, two top-ups paid through their payment
    links (signed webhooks, through the webhook's own use case), the month before last billed and
    settled from them by a (back-dated) billing run — the run that also invoices the postpaid demo
    account's usage of that month — and last month's usage left for the next run.
    Everything through the services, on a clock set back to each step's moment."""
    settings = common.settings(InvoiceSettings)
    table = settings.invoices_table
    clock = SeedClock(now or datetime.now(UTC))
    today = clock.now
    payments = common.payments(settings.model_copy(update={"razorpay_base_url": razorpay_base_url}))
    operator = Caller(account_id=None, is_operator=True)
    service = BillingService(store=billing.store(table), transactions=common.transactions(table), clock=clock)
    service.put_profile(
        operator, DEMO_PREPAID_ACCOUNT, demo_customer(intra_state=False), {"billing_model": "prepaid"}
    )
    wallets = wallet.store(table)
    top_ups = WalletService(
        wallets=wallets,
        profiles=billing.store(table),
        transactions=common.transactions(table),
        links=payments,
        supplier=settings.supplier_json,
        clock=clock,
    )
    webhook = TopUpPaymentService(
        wallets=wallets,
        transactions=common.transactions(table),
        reviews=DynamoReviewStore(common.table(table)),
        clock=clock,
        backoff=Backoff(),
    )
    last = previous_period(today)
    settled = _month_before(last)
    start = datetime.fromisoformat(f"{settled}-01T10:00:00+05:30")
    standin.set_clock(lambda: clock.now.timestamp())
    try:
        for days, amount in ((2, 10_000_00), (11, 5_000_00)):  # ₹10,000 and ₹5,000 of credit
            clock.now = start + timedelta(days=days)
            made = top_ups.top_up(operator, DEMO_PREPAID_ACCOUNT, amount)
            clock.now += timedelta(minutes=7)
            for delivery in standin.pay_link(made.razorpay_payment_link_id, "upi"):
                webhook.handle(parse_notice(delivery.body, delivery.event_id))
        for period, hours in ((settled, 40), (last, 30)):
            records = prepaid_usage(DEMO_PREPAID_ACCOUNT, period, gpu_hours=hours)
            service.ingest([UsageRecord.model_validate(r) for r in records])
        clock.now = datetime.fromisoformat(f"{last}-01T03:00:00+05:30")  # the month's schedule
        queue = _Works()
        invoices = InvoiceService(
            invoices=common.invoice_store(table),
            transactions=common.transactions(table),
            payments=payments,
            policy=common.policy(settings),
            clock=clock,
        )
        runs = BillingRunService(
            store=billing.store(table),
            transactions=common.transactions(table),
            invoices=invoices,
            advances=AdvanceSettlementService(
                invoices=common.invoice_store(table),
                wallets=wallets,
                transactions=common.transactions(table),
                clock=clock,
                backoff=Backoff(),
            ),
            queue=queue,
            metrics=_NoMetrics(),
            clock=clock,
        )
        run = runs.request(settled, [DEMO_PREPAID_ACCOUNT, DEMO_ACCOUNT])  # both demo accounts' month
        runs.plan(run.id)
        registrar = einvoice_registrar(clock)
        for work in queue.works:
            outcome = runs.bill(run.id, settled, work.account_id, finish=work.finish)
            log.info("demo month %s for %s: %s", settled, work.account_id, outcome.kind)
            issued = invoices.invoices.get(outcome.invoice_id) if outcome.invoice_id else None
            if issued is not None and issued.e_invoice is not None and issued.e_invoice.awaiting:
                # a B2B invoice is registered as it would have been then (a minute after the run)
                clock.now += timedelta(minutes=1)
                registrar.register("invoice", issued.id, issued.e_invoice.attempts)
    finally:
        standin.set_clock(time.time)
    log.info(
        "demo prepaid account %s: 2 top-ups paid, %s settled from them, %s usage unbilled; balance %d paise",
        DEMO_PREPAID_ACCOUNT,
        settled,
        last,
        wallets.balance(DEMO_PREPAID_ACCOUNT),
    )
    return settled


def seed(
    standin: RazorpayStandIn,
    razorpay_base_url: str,
    *,
    now: datetime | None = None,
    checkpoint: Callable[[], None] = _go_on,
) -> dict[str, Invoice]:
    seeded = Seeder.build(standin, razorpay_base_url, now, checkpoint).run()
    seed_billing(now)
    checkpoint()
    seed_prepaid(standin, razorpay_base_url, now)
    listed = ", ".join(f"{i.status.value} {i.invoice_number or i.id}" for i in seeded.values())
    log.info("demo data for %s: %s", DEMO_ACCOUNT, listed)
    return seeded
