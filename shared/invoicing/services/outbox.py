"""The outbox dispatcher: performs the side effects committed with each state change.

Two drivers call it, with the same code path:

- in AWS, the table's DynamoDB stream delivers every new outbox message at once
  (``dispatch``), and a schedule sweeps up what is still waiting a while later (``drain``), for
  instance after the stream gave up on a batch;
- in the local stack and the tests (moto has no streams), a poller calls ``drain``, which reads
  the outbox's partitions of the table (``repository.outbox``).

A message is removed only after every effect in it has been performed; a failure leaves it where
it waits with its next attempt moved later (exponential backoff, capped), so nothing is lost and a
failing effect never blocks the others' messages. Effects are performed in order and the whole
message is retried, so consumers must (and do) tolerate a repeat: events carry a stable
``event_id``, renders are keyed by version, refunds by our refund id, e-invoice jobs by the
attempt they are for, and a relink converges on the invoice's balance whatever was done before. A
reminder is sent only if the invoice is still overdue and undisputed when the message is dispatched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from invoicing.domain.errors import NotFoundError
from invoicing.domain.invoice import InvoiceStatus
from invoicing.domain.outbox import (
    Effect,
    OutboxMessage,
    PublishEvent,
    RegisterEInvoice,
    Relink,
    RenderDocument,
    RequestRefund,
    SendReminder,
)
from invoicing.domain.sweep import Reminder
from invoicing.observability import logger
from invoicing.services.ports import (
    Clock,
    Counter,
    EInvoiceJobs,
    EventPublisher,
    InvoiceStore,
    Mailer,
    Outbox,
    PaymentLinks,
    PaymentProvider,
    RenderJobs,
)

FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(hours=1)


@dataclass
class DispatchReport:
    dispatched: int = 0
    failed: int = 0
    effects: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"dispatched": self.dispatched, "failed": self.failed, "effects": self.effects}


@dataclass
class OutboxDispatcher:
    outbox: Outbox
    invoices: InvoiceStore
    events: EventPublisher
    renders: RenderJobs
    mailer: Mailer
    payments: PaymentProvider
    links: PaymentLinks
    metrics: Counter
    clock: Clock
    einvoices: EInvoiceJobs  # the e-invoice queue (registrations with the IRP)
    report: DispatchReport = field(default_factory=DispatchReport)

    def drain(self, *, older_than: timedelta = timedelta(0), limit: int = 100) -> DispatchReport:
        """Dispatch the messages due by now (minus ``older_than``: the stream's grace period)."""
        for message in self.outbox.due(self.clock() - older_than, limit):
            self.dispatch(message)
        return self.report

    def dispatch(self, message: OutboxMessage) -> bool:
        """Perform every effect of ``message``, then remove it; ``False`` if it must be tried later."""
        try:
            for index, effect in enumerate(message.effects):
                self._perform(message, index, effect)
                self.report.effects += 1
        except Exception as exc:
            delay = min(LAST_RETRY, FIRST_RETRY * 2 ** min(message.attempts, 20))
            logger.exception(
                "Outbox effect failed; it will be tried again",
                extra={
                    "message_id": message.id,
                    "attempts": message.attempts + 1,
                    "retry_in_s": delay.seconds,
                },
            )
            self.outbox.retry_later(message, self.clock() + delay, f"{type(exc).__name__}: {exc}")
            self.metrics.count("OutboxEffectFailed")
            self.report.failed += 1
            return False
        self.outbox.done(message)
        self.report.dispatched += 1
        return True

    # ------------------------------------------------------------------ effects
    def _perform(self, message: OutboxMessage, index: int, effect: Effect) -> None:
        if isinstance(effect, PublishEvent):
            self.events.publish(effect.detail_type, effect.detail, event_id=message.event_id(index))
        elif isinstance(effect, RenderDocument):
            self.renders.enqueue(effect.document, effect.document_id, effect.version)
        elif isinstance(effect, SendReminder):
            self._remind(effect)
        elif isinstance(effect, RequestRefund):
            notes = {"refund_id": effect.refund_id, "account_id": message.account_id}
            if effect.invoice_id:
                notes["invoice_id"] = effect.invoice_id
            refund = self.payments.refund(
                effect.payment_id, effect.amount, refund_id=effect.refund_id, notes=notes
            )
            logger.info(
                "Refund requested",
                extra={"refund_id": effect.refund_id, "provider_refund_id": refund.provider_refund_id},
            )
        elif isinstance(effect, Relink):
            try:
                self.links.relink(effect.invoice_id)
            except NotFoundError:
                logger.info("Relink dropped: no such invoice", extra={"invoice_id": effect.invoice_id})
        elif isinstance(effect, RegisterEInvoice):
            self.einvoices.enqueue(
                effect.document, effect.document_id, effect.attempt, delay_seconds=effect.delay_seconds
            )
        else:  # pragma: no cover - the effect union is exhaustive
            raise TypeError(f"unknown effect {type(effect).__name__}")

    def _remind(self, effect: SendReminder) -> None:
        try:
            invoice = self.invoices.get(effect.invoice_id)
        except NotFoundError:
            return
        if invoice.status is not InvoiceStatus.OVERDUE or invoice.disputed:
            logger.info(
                "Reminder dropped: the invoice is no longer overdue", extra={"invoice_id": invoice.id}
            )
            return
        self.mailer.send_reminder(
            Reminder(invoice=invoice, today=effect.today, first_notice=effect.first_notice)
        )
        self.metrics.count("ReminderSent")
