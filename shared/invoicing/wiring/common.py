"""The one place adapters are built: one cached factory per adapter, keyed by what configures it.

Every function's wiring module (``api``, ``webhook``, ``sweep``, ``pdf``, ``outbox``) composes its
services from these, so an adapter is built the same way wherever it is used, once per container.
Nothing runs at import time, and each factory imports what it builds when it first builds it: a
function (or an API route) loads the adapters it uses, not every adapter any function uses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Protocol

from invoicing import snapstart
from invoicing.adapters.aws import client

if TYPE_CHECKING:
    from invoicing.adapters.einvoice_queue import SqsEInvoiceQueue
    from invoicing.adapters.email import SesReminderMailer
    from invoicing.adapters.events import EventBridgePublisher
    from invoicing.adapters.gsp_irp import GspIrpClient
    from invoicing.adapters.razorpay import RazorpayPaymentProvider
    from invoicing.adapters.render_queue import SqsRenderQueue
    from invoicing.adapters.storage import DocumentStorage
    from invoicing.config import EInvoiceSettings, InvoiceSettings, RazorpaySettings, S
    from invoicing.repository.commit import DynamoTransactions
    from invoicing.repository.credit_notes import DynamoCreditNoteStore
    from invoicing.repository.documents import DynamoRenderRequests
    from invoicing.repository.invoices import DynamoInvoiceStore
    from invoicing.repository.table import Table
    from invoicing.services.invoices import InvoicePolicy


class SystemClock:
    """``services.ports.Clock``: the wall clock, in UTC. ``set`` replaces it (tests, replays)."""

    def __init__(self) -> None:
        self._now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __call__(self) -> datetime:
        return self._now()

    def set(self, now: Callable[[], datetime]) -> None:
        self._now = now


class PowertoolsCounter:
    """``services.ports.Counter`` onto the function's Powertools metrics (flushed per invocation)."""

    def count(self, name: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        from invoicing.observability import metrics

        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


class _CachedSettings(Protocol):
    """``settings`` as typed for its callers (``functools.cache`` forgets its type variable)."""

    def __call__(self, model: type[S]) -> S: ...

    def cache_clear(self) -> None: ...


def _settings(model: type[S]) -> S:
    """The function's validated settings (``config``), read from the environment once."""
    from invoicing.config import load

    return load(model)


settings: _CachedSettings = cache(_settings)


@cache
def clock() -> SystemClock:
    return SystemClock()


@cache
def counter() -> PowertoolsCounter:
    return PowertoolsCounter()


@cache
def table(name: str) -> Table:
    from invoicing.config import IndexSettings
    from invoicing.repository.table import Table

    return Table(name, client("dynamodb"), list_index=settings(IndexSettings).list_index)


@cache
def transactions(table_name: str) -> DynamoTransactions:
    """Commits on the services' clock: an outbox message is due at the commit's time as the
    dispatcher reads it, so a replayed (``SystemClock.set``) clock still sees its messages due."""
    from invoicing.repository.commit import DynamoTransactions

    return DynamoTransactions(table(table_name), clock=lambda: clock()().timestamp())


@cache
def invoice_store(table_name: str, cursor_secret_name: str | None = None) -> DynamoInvoiceStore:
    """The invoices; with a cursor secret it can list (the key signs page cursors)."""
    from invoicing.adapters import secrets
    from invoicing.repository.invoices import DynamoInvoiceStore

    key = secrets.signing_key(cursor_secret_name) if cursor_secret_name else None
    return DynamoInvoiceStore(table(table_name), cursor_key=key)


@cache
def credit_note_store(table_name: str, cursor_secret_name: str | None = None) -> DynamoCreditNoteStore:
    """The credit notes; with a cursor secret it can list them."""
    from invoicing.adapters import secrets
    from invoicing.repository.credit_notes import DynamoCreditNoteStore

    key = secrets.signing_key(cursor_secret_name) if cursor_secret_name else None
    return DynamoCreditNoteStore(table(table_name), cursor_key=key)


@cache
def events(bus_name: str) -> EventBridgePublisher:
    from invoicing.adapters.events import EventBridgePublisher

    return EventBridgePublisher(bus_name, client("events"))


@cache
def render_jobs(queue_url: str) -> SqsRenderQueue:
    from invoicing.adapters.render_queue import SqsRenderQueue

    return SqsRenderQueue(queue_url, client("sqs"))


@cache
def render_requests(table_name: str) -> DynamoRenderRequests:
    """Which versions of credit notes' and receipt vouchers' PDFs a ``GET …/pdf`` queued."""
    from invoicing.repository.documents import DynamoRenderRequests

    return DynamoRenderRequests(table(table_name))


@cache
def storage(bucket: str) -> DocumentStorage:
    from invoicing.adapters.storage import DocumentStorage

    return DocumentStorage(bucket, client("s3"))


@cache
def mailer(sender: str) -> SesReminderMailer:
    from invoicing.adapters.email import SesReminderMailer

    return SesReminderMailer(sender, client("sesv2"))


def payments(config: RazorpaySettings) -> RazorpayPaymentProvider:
    return _payments(config.razorpay_secret_name, config.razorpay_base_url, config.razorpay_timeout_seconds)


@cache
def _payments(secret_name: str, base_url: str | None, timeout: float) -> RazorpayPaymentProvider:
    from invoicing.adapters import secrets
    from invoicing.adapters.razorpay import RazorpayPaymentProvider

    return RazorpayPaymentProvider(
        lambda: secrets.razorpay_credentials(secret_name), base_url=base_url, timeout_seconds=timeout
    )


@cache
def einvoice_jobs(queue_url: str) -> SqsEInvoiceQueue:
    from invoicing.adapters.einvoice_queue import SqsEInvoiceQueue

    return SqsEInvoiceQueue(queue_url, client("sqs"))


def irp(config: EInvoiceSettings) -> GspIrpClient:
    """The IRP through the GSP; its credentials are read (and cached) from Secrets Manager on use."""
    from invoicing.config import ConfigurationError

    if config.einvoicing != "off" and not (config.gsp_secret_name and config.gsp_base_url):
        raise ConfigurationError("EINVOICING is on: GSP_SECRET_NAME and GSP_BASE_URL must be set")
    return _irp(config.gsp_secret_name or "", config.gsp_base_url, config.gsp_timeout_seconds)


@cache
def _irp(secret_name: str, base_url: str, timeout: float) -> GspIrpClient:
    from invoicing.adapters import secrets
    from invoicing.adapters.gsp_irp import GspIrpClient

    return GspIrpClient(
        lambda: secrets.gsp_credentials(secret_name), base_url=base_url, timeout_seconds=timeout
    )


def policy(config: InvoiceSettings | None = None) -> InvoicePolicy:
    from invoicing.config import InvoiceSettings
    from invoicing.services.invoices import InvoicePolicy

    config = config or settings(InvoiceSettings)
    return InvoicePolicy(
        prefix=config.invoice_number_prefix,
        supplier=config.supplier_json,
        payment_terms_days=config.payment_terms_days,
        reminder_days=config.reminder_days_past_due,
        grace_period_days=config.grace_period_days,
        einvoicing=config.einvoicing,
    )


def reset() -> None:
    """Forget the settings, secrets and everything built from them (tests that change the
    environment between cases). The boto3 clients stay: they depend only on the endpoint, region
    and credentials, which nothing changes in a running container; a SnapStart restore, which
    does, drops them itself (``snapstart.forget_connections_and_secrets``). A client costs ~10 ms
    to build; the test suite rewires often."""
    from invoicing.adapters import secrets

    for factory in (
        settings,
        table,
        transactions,
        invoice_store,
        credit_note_store,
        events,
        render_jobs,
        render_requests,
        storage,
        mailer,
        _payments,
        einvoice_jobs,
        _irp,
    ):
        factory.cache_clear()
    secrets.reset()


# Every function's wiring imports this module: with SnapStart, the runtime hooks that keep clients,
# connections, secrets and random state out of shared snapshots are registered here (a no-op
# outside Lambda's runtime).
snapstart.register()
