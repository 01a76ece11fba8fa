"""Demo data for the local stack: the demo account with an invoice in every status.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from infra.demo import (
    DEMO_ACCOUNT,
    DEMO_PRICES,
    PRICES_EFFECTIVE_FROM,
    demo_customer,
    demo_usage,
    draft_fields,
)
from infra.local.razorpay_standin import RazorpayError, RazorpayStandIn, new_id
from invoicing.config import InvoiceSettings, RegistrarSettings
from invoicing.domain.access import Caller
from invoicing.domain.billing import UsageRecord, previous_period
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.invoice import Invoice, InvoiceStatus, Payment
from invoicing.domain.numbering import ist_date
from invoicing.services.billing import BillingService
from invoicing.services.credit_notes import CreditNoteService
from invoicing.services.einvoicing import EInvoicePolicy, EInvoiceRegistrar, IrnCancellation
from invoicing.services.invoices import InvoiceService
from invoicing.services.retry import Backoff
from invoicing.wiring import billing, common

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
        registrar_settings = common.settings(RegistrarSettings)
        registrar = EInvoiceRegistrar(
            invoices=service.invoices,
            credit_notes=common.credit_note_store(settings.invoices_table),
            transactions=service.transactions,
            irp=common.irp(registrar_settings),
            jobs=common.einvoice_jobs(registrar_settings.einvoice_queue_url),
            policy=EInvoicePolicy(
                mode=registrar_settings.einvoicing, aato_above_10_crore=registrar_settings.aato_above_10_crore
            ),
            clock=clock,
            backoff=Backoff(),
        )
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
    """The rate card, a postpaid billing profile for the demo account and its usage of last month
    (IST), all through ``BillingService``: ``POST /_local/schedules/billing-run`` then invoices it."""
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
    records = [UsageRecord.model_validate(r) for r in demo_usage(DEMO_ACCOUNT, period)]
    for start in range(0, len(records), 500):
        service.ingest(records[start : start + 500])
    log.info("demo usage for %s: %d records in %s (postpaid)", DEMO_ACCOUNT, len(records), period)
    return period


def seed(
    standin: RazorpayStandIn,
    razorpay_base_url: str,
    *,
    now: datetime | None = None,
    checkpoint: Callable[[], None] = _go_on,
) -> dict[str, Invoice]:
    seeded = Seeder.build(standin, razorpay_base_url, now, checkpoint).run()
    seed_billing(now)
    listed = ", ".join(f"{i.status.value} {i.invoice_number or i.id}" for i in seeded.values())
    log.info("demo data for %s: %s", DEMO_ACCOUNT, listed)
    return seeded
