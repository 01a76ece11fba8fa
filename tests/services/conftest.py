"""The services wired to the fakes: one in-memory store, recorders for AWS, Razorpay's stand-in and
the IRP's.

``world`` is what the composition root builds in AWS, with every outside system replaced by the
fake that passes the same contract tests (``tests/contract``), and a clock the test moves by hand.
Nothing here touches the network or moto. E-invoicing is ``off`` unless a test sets
``world.einvoicing``; the IRP is the local stand-in behind the real GSP adapter, on the world's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
import responses

from infra.local.irp_standin import IrpStandIn
from infra.local.razorpay_standin import RazorpayStandIn
from invoicing.adapters.gsp_irp import GspIrpClient
from invoicing.adapters.razorpay_webhooks import parse_notice
from invoicing.domain.changes import Change
from invoicing.domain.einvoice import Mode
from invoicing.domain.invoice import Invoice
from invoicing.domain.notices import PaymentNotice
from invoicing.services.credit_note_documents import CreditNoteDocumentService, CreditNoteRenderService
from invoicing.services.credit_notes import CreditNoteService
from invoicing.services.disputes import DisputeService
from invoicing.services.documents import DocumentService
from invoicing.services.einvoicing import EInvoicePolicy, EInvoiceRegistrar, EInvoiceService, IrnCancellation
from invoicing.services.einvoicing import Outcome as RegistrarOutcome
from invoicing.services.invoices import InvoicePolicy, InvoiceService
from invoicing.services.outbox import OutboxDispatcher
from invoicing.services.payment_links import PaymentLinkService
from invoicing.services.payments import Outcome, PaymentService
from invoicing.services.rendering import ExportService, RenderService
from invoicing.services.retry import NO_WAIT
from invoicing.services.sweep import OverdueSweep
from tests.fakes.credit_notes import InMemoryCreditNotes
from tests.fakes.einvoice import InMemoryEInvoiceListing, RecordingEInvoiceJobs
from tests.fakes.messaging import (
    FixedClock,
    RecordingCounter,
    RecordingEvents,
    RecordingMailer,
    RecordingRenderJobs,
    RecordingSweepQueue,
)
from tests.fakes.payments import StandInProvider
from tests.fakes.storage import InMemoryStorage, RecordingRenderer
from tests.fakes.store import Documents, Downloads, InMemoryStore, OutboxView, RenderRequests
from tests.support.irp import gsp_client, irp_standin_responses, new_standin
from tests.support.razorpay import standin_responses
from tests.unit.factories import NOW, billing_period, customer, line, supplier

POLICY = InvoicePolicy(prefix="INV", supplier=supplier(), payment_terms_days=15, reminder_days=(3, 7))


# Registrations retry within seconds (2 s, doubling, at most 10 s) and give up after 4 attempts.
EINVOICE_POLICY = EInvoicePolicy(mode="sandbox", retry_base_seconds=2, retry_cap_seconds=10, max_attempts=4)


@dataclass
class World:
    clock: FixedClock
    store: InMemoryStore
    standin: RazorpayStandIn
    razorpay: StandInProvider
    irp_standin: IrpStandIn
    irp: GspIrpClient
    einvoicing: Mode = "off"
    einvoice_policy: EInvoicePolicy = EINVOICE_POLICY
    events: RecordingEvents = field(default_factory=RecordingEvents)
    render_jobs: RecordingRenderJobs = field(default_factory=RecordingRenderJobs)
    mailer: RecordingMailer = field(default_factory=RecordingMailer)
    sweep_queue: RecordingSweepQueue = field(default_factory=RecordingSweepQueue)
    metrics: RecordingCounter = field(default_factory=RecordingCounter)
    storage: InMemoryStorage = field(default_factory=InMemoryStorage)
    renderer: RecordingRenderer = field(default_factory=RecordingRenderer)
    einvoice_jobs: RecordingEInvoiceJobs = field(default_factory=RecordingEInvoiceJobs)

    # ----------------------------------------------------------------- services
    @property
    def invoices(self) -> InvoiceService:
        return InvoiceService(
            invoices=self.store,
            transactions=self.store,
            payments=self.razorpay,
            policy=replace(POLICY, einvoicing=self.einvoicing),
            clock=self.clock,
        )

    @property
    def payments(self) -> PaymentService:
        return PaymentService(
            invoices=self.store,
            transactions=self.store,
            reviews=self.store,
            clock=self.clock,
            backoff=NO_WAIT,
        )

    def sweep(self, **options: Any) -> OverdueSweep:
        """A sweep as one invocation builds it (its own budget)."""
        return OverdueSweep(
            invoices=self.store,
            transactions=self.store,
            queue=self.sweep_queue,
            metrics=self.metrics,
            **options,
        )

    @property
    def links(self) -> PaymentLinkService:
        return PaymentLinkService(
            invoices=self.store,
            transactions=self.store,
            payments=self.razorpay,
            clock=self.clock,
            backoff=NO_WAIT,
        )

    @property
    def credits(self) -> CreditNoteService:
        return CreditNoteService(
            invoices=self.store,
            credit_notes=InMemoryCreditNotes(self.store),
            transactions=self.store,
            payments=self.razorpay,
            clock=self.clock,
            backoff=NO_WAIT,
            e_invoices=IrnCancellation(irp=self.irp, clock=self.clock),
            einvoicing=self.einvoicing,
        )

    @property
    def disputes(self) -> DisputeService:
        return DisputeService(
            invoices=self.store,
            transactions=self.store,
            credits=self.credits,
            clock=self.clock,
            backoff=NO_WAIT,
        )

    @property
    def credit_notes(self) -> InMemoryCreditNotes:
        return InMemoryCreditNotes(self.store)

    @property
    def credit_note_documents(self) -> CreditNoteDocumentService:
        return CreditNoteDocumentService(
            credit_notes=self.credit_notes,
            links=self.storage,
            jobs=self.render_jobs,
            requests=RenderRequests(self.store),
            clock=self.clock,
        )

    @property
    def credit_note_renders(self) -> CreditNoteRenderService:
        return CreditNoteRenderService(
            credit_notes=self.credit_notes,
            renderer=self.renderer,
            storage=self.storage,
            requests=RenderRequests(self.store),
        )

    @property
    def registrar(self) -> EInvoiceRegistrar:
        return EInvoiceRegistrar(
            invoices=self.store,
            credit_notes=self.credit_notes,
            transactions=self.store,
            irp=self.irp,
            jobs=self.einvoice_jobs,
            policy=replace(self.einvoice_policy, mode=self.einvoicing),
            clock=self.clock,
            backoff=NO_WAIT,
        )

    @property
    def e_invoices(self) -> EInvoiceService:
        return EInvoiceService(
            invoices=self.store,
            credit_notes=self.credit_notes,
            transactions=self.store,
            listing=InMemoryEInvoiceListing(self.store),
            clock=self.clock,
        )

    @property
    def dispatcher(self) -> OutboxDispatcher:
        return OutboxDispatcher(
            outbox=OutboxView(self.store),
            invoices=self.store,
            events=self.events,
            renders=self.render_jobs,
            mailer=self.mailer,
            payments=self.razorpay,
            links=self.links,
            metrics=self.metrics,
            clock=self.clock,
            einvoices=self.einvoice_jobs,
        )

    @property
    def documents(self) -> DocumentService:
        return DocumentService(
            documents=Documents(self.store),
            invoices=self.store,
            downloads=Downloads(self.store),
            links=self.storage,
            jobs=self.render_jobs,
            clock=self.clock,
        )

    @property
    def renders(self) -> RenderService:
        return RenderService(documents=Documents(self.store), renderer=self.renderer, storage=self.storage)

    @property
    def exports(self) -> ExportService:
        return ExportService(renders=self.renders, downloads=Downloads(self.store), storage=self.storage)

    # ------------------------------------------------------------------ helpers
    def create(self, account_id: str = "acc_1", **fields: Any) -> Invoice:
        defaults: dict[str, Any] = {
            "customer": customer(),
            "billing_period": billing_period(),
            "line_items": [line()],
        }
        return self.invoices.create(account_id=account_id, fields=defaults | fields)

    def issued(self, account_id: str = "acc_1", **fields: Any) -> Invoice:
        return self.invoices.issue(self.create(account_id, **fields).id)

    def notices(self, deliveries: list[Any]) -> list[PaymentNotice]:
        return [parse_notice(d.body, d.event_id) for d in deliveries]

    def pay(self, invoice: Invoice, amount: int | None = None) -> list[Outcome]:
        """The customer pays on Razorpay's page; every webhook it sends is handled."""
        assert invoice.razorpay_invoice_id is not None
        deliveries = self.standin.pay(invoice.razorpay_invoice_id, amount)
        return [self.payments.handle(notice) for notice in self.notices(deliveries)]

    def drain(self) -> None:
        """The outbox poller: dispatch everything due now."""
        self.dispatcher.drain()

    def register_queued(self) -> list[RegistrarOutcome]:
        """The e-invoice queue's consumer: the outbox is dispatched, then every registration job it
        queued is handled (one round: a retry's job is left queued for the test to run)."""
        self.drain()
        jobs, self.einvoice_jobs.jobs[:] = list(self.einvoice_jobs.jobs), []
        outcomes = [
            self.registrar.register(document, doc_id, attempt) for document, doc_id, attempt, _ in jobs
        ]
        self.drain()
        return outcomes

    def get(self, invoice_id: str) -> Invoice:
        return self.store.get(invoice_id)

    def later(self, **delta: float) -> None:
        self.clock.set(self.clock.now + timedelta(**delta))

    def before_commit(self, action: Callable[[list[Change]], None], *, times: int = 1) -> list[list[Change]]:
        """Run ``action`` (a concurrent writer) just before each of the next ``times`` commits."""
        real = self.store.commit
        seen: list[list[Change]] = []
        busy = False

        def commit(changes: Any) -> None:
            nonlocal busy
            if len(seen) < times and not busy:  # the rival's own commits go straight through
                seen.append(list(changes))
                busy = True
                try:
                    action(list(changes))
                finally:
                    busy = False
            real(changes)

        self.store.commit = commit  # type: ignore[method-assign]
        return seen


@pytest.fixture
def world() -> Iterator[World]:
    clock = FixedClock(NOW)
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
        standin_responses(mock=mock, clock=lambda: clock().timestamp()) as standin,
        irp_standin_responses(new_standin(clock=clock), mock=mock) as irp_standin,
    ):
        yield World(
            clock=clock,
            store=InMemoryStore(clock=clock),
            standin=standin,
            razorpay=StandInProvider(standin),
            irp_standin=irp_standin,
            irp=gsp_client(clock=lambda: clock().timestamp()),
        )
