"""Corrections' use cases against the in-memory store, with Razorpay = the local stand-in driven
through the real adapter (``tests/support/razorpay.py``), and the outbox dispatched by hand.

``world`` gives one consistent set: the invoice, credit-note, dispute, payment-link and payment
services, the dispatcher with recording messaging fakes, and helpers to pay at the stand-in,
deliver its webhooks to ``PaymentService.handle`` and settle its refunds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from infra.local.razorpay_standin import RazorpayStandIn, WebhookDelivery
from invoicing.adapters.razorpay import RazorpayPaymentProvider
from invoicing.adapters.razorpay_webhooks import parse_notice
from invoicing.adapters.secrets import RazorpayCredentials
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.credit_notes import CreditReason, CreditRequest
from invoicing.domain.invoice import Invoice
from invoicing.services.credit_notes import CreditNoteService
from invoicing.services.disputes import DisputeService
from invoicing.services.einvoicing import IrnCancellation
from invoicing.services.invoices import InvoicePolicy, InvoiceService
from invoicing.services.outbox import OutboxDispatcher
from invoicing.services.payment_links import PaymentLinkService
from invoicing.services.payments import Outcome, PaymentService
from invoicing.services.retry import NO_WAIT
from tests.fakes.credit_notes import InMemoryCreditNotes
from tests.fakes.einvoice import RecordingEInvoiceJobs
from tests.fakes.messaging import (
    FixedClock,
    RecordingCounter,
    RecordingEvents,
    RecordingMailer,
    RecordingRenderJobs,
)
from tests.fakes.store import InMemoryStore, OutboxView
from tests.support.irp import gsp_client
from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, standin_responses
from tests.unit.factories import NOW, billing_period, customer, line, supplier

CREDENTIALS = RazorpayCredentials(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET)


@dataclass
class World:
    clock: FixedClock
    store: InMemoryStore
    credit_notes: InMemoryCreditNotes
    standin: RazorpayStandIn
    provider: RazorpayPaymentProvider
    invoices: InvoiceService
    credits: CreditNoteService
    disputes: DisputeService
    links: PaymentLinkService
    payments: PaymentService
    events: RecordingEvents
    renders: RecordingRenderJobs
    dispatcher: OutboxDispatcher

    # ------------------------------------------------------------------ building state
    def issued(self, *, partial_payment: bool = False, intra_state: bool = True, **fields: Any) -> Invoice:
        """An issued invoice of ``acc_1``: two lines, ₹900.00 and ₹45.50 taxable."""
        draft = self.invoices.create(
            account_id="acc_1",
            fields={
                "customer": customer(intra_state=intra_state),
                "billing_period": billing_period(),
                "line_items": (
                    line(),
                    line(resource_name="disk-1", quantity="91", unit="GB", unit_rate="0.5"),
                ),
                "partial_payment": partial_payment,
                **fields,
            },
        )
        invoice = self.invoices.issue(draft.id)
        self.drain()
        return invoice

    def invoice(self, invoice_id: str) -> Invoice:
        return self.store.get(invoice_id)

    def save(self, invoice_id: str, transition: Callable[[Invoice], Invoice]) -> Invoice:
        """Apply one domain transition to the stored invoice (what a sweep or webhook would)."""
        before = self.invoice(invoice_id)
        after = transition(before)
        self.store.commit([SaveInvoice(before, after)])
        return after

    # ------------------------------------------------------------------ Razorpay
    def pay(self, razorpay_invoice_id: str, amount: int | None = None) -> list[Outcome]:
        """Pay at the stand-in and deliver its webhooks; then perform the side effects."""
        outcomes = self.deliver(self.standin.pay(razorpay_invoice_id, amount, "upi"))
        self.drain()
        return outcomes

    def deliver(self, deliveries: list[WebhookDelivery]) -> list[Outcome]:
        return [self.payments.handle(parse_notice(d.body, d.event_id)) for d in deliveries]

    def settle_refunds(self) -> list[Outcome]:
        outcomes = self.deliver(self.standin.process_refunds())
        self.drain()
        return outcomes

    def drain(self) -> None:
        """Dispatch every outbox message (effects may queue more: dispatch those too)."""
        for _ in range(20):
            if not self.store.outbox:
                return
            for waiting in list(self.store.outbox.values()):
                self.dispatcher.dispatch(waiting.message)
            if any(o.last_error for o in self.store.outbox.values()):
                errors = [o.last_error for o in self.store.outbox.values()]
                raise AssertionError(f"outbox effects failed: {errors}")
        raise AssertionError("the outbox never drained")

    def razorpay(self, razorpay_invoice_id: str) -> dict[str, Any]:
        return self.standin.fetch_invoice(razorpay_invoice_id)


def request(*pairs: tuple[int, int], full: bool = False, reason: str = "excess_charged") -> CreditRequest:
    return CreditRequest(
        reason=CreditReason(reason),
        description="Hours billed while the VM was stopped.",
        lines=pairs,
        full=full,
    )


@pytest.fixture
def world() -> Iterator[World]:
    clock = FixedClock(NOW, tick=True)
    store = InMemoryStore(clock=clock)
    notes = InMemoryCreditNotes(store)
    with standin_responses(clock=lambda: clock().timestamp()) as standin:
        provider = RazorpayPaymentProvider(lambda: CREDENTIALS, timeout_seconds=3)
        credits = CreditNoteService(
            invoices=store,
            credit_notes=notes,
            transactions=store,
            payments=provider,
            clock=clock,
            backoff=NO_WAIT,
            e_invoices=IrnCancellation(irp=gsp_client(), clock=clock),
            einvoicing="off",  # e-invoicing of credit notes: tests/services/test_einvoice_credit_notes.py
        )
        links = PaymentLinkService(
            invoices=store, transactions=store, payments=provider, clock=clock, backoff=NO_WAIT
        )
        events = RecordingEvents()
        renders = RecordingRenderJobs()
        yield World(
            clock=clock,
            store=store,
            credit_notes=notes,
            standin=standin,
            provider=provider,
            invoices=InvoiceService(
                invoices=store,
                transactions=store,
                payments=provider,
                policy=InvoicePolicy(prefix="INV", supplier=supplier()),
                clock=clock,
            ),
            credits=credits,
            disputes=DisputeService(
                invoices=store, transactions=store, credits=credits, clock=clock, backoff=NO_WAIT
            ),
            links=links,
            payments=PaymentService(
                invoices=store, transactions=store, reviews=store, clock=clock, backoff=NO_WAIT
            ),
            events=events,
            renders=renders,
            dispatcher=OutboxDispatcher(
                outbox=OutboxView(store),
                invoices=store,
                events=events,
                renders=renders,
                mailer=RecordingMailer(),
                payments=provider,
                links=links,
                metrics=RecordingCounter(),
                clock=lambda: clock.now + timedelta(days=1),  # retries are due at once
                einvoices=RecordingEInvoiceJobs(),
            ),
        )


def invariant(invoice: Invoice) -> None:
    assert invoice.amount_paid - invoice.amount_refunded + invoice.amount_credited + invoice.amount_due == (
        invoice.amount
    )
