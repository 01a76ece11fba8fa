"""Billing services over the in-memory fakes, with Razorpay as the local stand-in behind the real
adapter. ``world`` builds one of everything; its helpers put prices, profiles and usage, and
deliver the queue's messages the way the billing function would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from invoicing.adapters.razorpay import RazorpayPaymentProvider
from invoicing.adapters.secrets import RazorpayCredentials
from invoicing.domain.access import Caller
from invoicing.domain.billing import BillingRun, UsageRecord
from invoicing.domain.einvoice import Mode
from invoicing.domain.errors import PaymentProviderError
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import IST
from invoicing.services.billing import BillingRunService, BillingService, IngestResult
from invoicing.services.invoices import InvoicePolicy, InvoiceService
from invoicing.services.retry import NO_WAIT
from invoicing.services.wallet import AdvanceSettlementService
from tests.fakes.billing import FakeBillingStore, RecordingBillingQueue
from tests.fakes.messaging import FixedClock, RecordingCounter
from tests.fakes.store import InMemoryStore
from tests.fakes.wallet import InMemoryWallets
from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, standin_responses
from tests.unit.factories import customer, supplier

OPERATOR = Caller(account_id=None, is_operator=True)
METERING = Caller(account_id=None, can_write_usage=True)
NOVEMBER = datetime(2026, 11, 1, tzinfo=IST)
RUN_AT = datetime(2026, 12, 1, 3, 0, tzinfo=IST)  # the monthly schedule's moment for November


class FlakyPayments:
    """The real Razorpay adapter, which can be taken down for chosen accounts."""

    def __init__(self, inner: RazorpayPaymentProvider) -> None:
        self.inner = inner
        self.down_for: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            invoice = next((a for a in args if isinstance(a, Invoice)), None)
            if invoice is not None and invoice.account_id in self.down_for:
                raise PaymentProviderError("Razorpay did not answer (injected).")
            return method(*args, **kwargs)

        return call


@dataclass
class World:
    clock: FixedClock
    store: InMemoryStore
    billing: FakeBillingStore
    service: BillingService
    runs: BillingRunService
    invoices: InvoiceService
    queue: RecordingBillingQueue
    payments: FlakyPayments
    metrics: RecordingCounter
    wallets: InMemoryWallets
    standin: Any  # the Razorpay stand-in behind the real adapter
    delivered: list[Any] = field(default_factory=list)

    # ------------------------------------------------------------------ set-up
    def price(
        self, sku: str = "gpu.h100.hour", rate: str = "245.50", since: date = date(2026, 1, 1), **kw: Any
    ):
        fields = {
            "description": kw.pop("description", "NVIDIA H100 GPU"),
            "resource_type": kw.pop("resource_type", "pod"),
            "unit": kw.pop("unit", "GPU-hour"),
            "unit_rate": rate,
            "effective_from": since,
            **kw,
        }
        return self.service.put_price(sku, fields)

    def profile(self, account: str = "acc_1", **fields: Any):
        fields = {"billing_model": "postpaid", **fields}
        cust = fields.pop("customer", customer())
        return self.service.put_profile(OPERATOR, account, cust, fields)

    def post(self, *records: UsageRecord) -> IngestResult:
        return self.service.ingest(list(records))

    # --------------------------------------------------------------------- runs
    def run(self, period: str = "2026-11", account_ids: list[str] | None = None) -> BillingRun:
        """An operator's run, planned and every message delivered."""
        run = self.runs._start(period, "operator", tuple(account_ids) if account_ids else None, new_id("run"))
        self.runs.plan(run.id)
        self.deliver()
        return self.billing.run(run.id)

    def deliver(self) -> None:
        while self.queue.bills:
            run_id, period, account, finish = self.queue.bills.pop(0)
            self.delivered.append(self.runs.bill(run_id, period, account, finish=finish))

    def invoices_of(self, account: str) -> list[Invoice]:
        return sorted(
            (i for i in self.store.invoices.values() if i.account_id == account), key=lambda i: i.created_at
        )


def record(
    id: str,
    account: str = "acc_1",
    *,
    sku: str = "gpu.h100.hour",
    resource: str = "pod-1",
    name: str = "train-llama-8b",
    quantity: str = "1",
    start: datetime = NOVEMBER,
    hours: float = 1,
) -> UsageRecord:
    return UsageRecord(
        id=id,
        account_id=account,
        sku=sku,
        resource_id=resource,
        resource_name=name,
        quantity=quantity,
        start=start,
        end=start + timedelta(hours=hours),
    )


def hourly(
    account: str, resource: str, hours: int, *, start: datetime = NOVEMBER, **kw: Any
) -> list[UsageRecord]:
    return [
        record(f"{resource}-{h}", account, resource=resource, start=start + timedelta(hours=h), **kw)
        for h in range(hours)
    ]


@pytest.fixture
def world() -> Iterator[World]:
    with make_world() as made:
        yield made


@contextmanager
def make_world(*, einvoicing: Mode = "off") -> Iterator[World]:
    """One of everything, fresh (a hypothesis example makes its own); ``einvoicing`` is the invoice
    policy's e-invoicing mode (einvoice.md)."""
    clock = FixedClock(RUN_AT.astimezone(UTC), tick=True)
    store = InMemoryStore(clock=clock)
    billing = FakeBillingStore(store)
    with standin_responses(clock=lambda: clock().timestamp()) as standin:  # payments on the world's time
        provider = RazorpayPaymentProvider(
            lambda: RazorpayCredentials(KEY_ID, KEY_SECRET, WEBHOOK_SECRET), timeout_seconds=2
        )
        payments = FlakyPayments(provider)
        invoices = InvoiceService(
            invoices=store,
            transactions=store,
            payments=payments,  # type: ignore[arg-type]
            policy=InvoicePolicy(prefix="INV", supplier=supplier(), einvoicing=einvoicing),
            clock=clock,
        )
        queue = RecordingBillingQueue()
        metrics = RecordingCounter()
        service = BillingService(store=billing, transactions=store, clock=clock, backoff=NO_WAIT)
        wallets = InMemoryWallets(store)
        advances = AdvanceSettlementService(
            invoices=store, wallets=wallets, transactions=store, clock=clock, backoff=NO_WAIT
        )
        runs = BillingRunService(
            store=billing,
            transactions=store,
            invoices=invoices,
            advances=advances,
            queue=queue,
            metrics=metrics,
            clock=clock,
            backoff=NO_WAIT,
        )
        yield World(
            clock, store, billing, service, runs, invoices, queue, payments, metrics, wallets, standin
        )
