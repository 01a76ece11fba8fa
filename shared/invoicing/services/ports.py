"""Everything the use cases need from the outside world, as protocols, in one place.

Services depend on these and on the domain only; ``repository/`` and ``adapters/`` implement them,
and ``wiring/`` (the composition root) is the one place that knows both. Every collaborator a
service takes is required: a wiring mistake fails when the service is built, never by silently
skipping Razorpay or an event. Tests hand in the in-memory fakes of ``tests/fakes``, which pass the
same contract tests as the real implementations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any, Protocol

from invoicing.domain.changes import Change
from invoicing.domain.documents import Download, DownloadLink, DownloadStatus, InvoiceDocument, InvoiceOwner
from invoicing.domain.einvoice import RegisteredDocument, Registration
from invoicing.domain.invoice import Invoice
from invoicing.domain.outbox import OutboxMessage
from invoicing.domain.provider import ProviderInvoice, ProviderRefund
from invoicing.domain.queries import ListQuery, Page, SweepPage
from invoicing.domain.reviews import FailedPaymentRecord, ReviewItem
from invoicing.domain.summary import AccountSummary
from invoicing.domain.sweep import Reminder, SweepWork


class Clock(Protocol):
    def __call__(self) -> datetime:
        """Now, time-zone aware (UTC)."""


# ------------------------------------------------------------------------------------- storage
class Transactions(Protocol):
    def commit(self, changes: Sequence[Change]) -> None:
        """Write every change or none (``domain.changes`` says what each condition means)."""


class InvoiceStore(Protocol):
    def get(self, invoice_id: str) -> Invoice:
        """The invoice, read consistently; ``NotFoundError`` if there is none."""

    def summary(self, account_id: str) -> AccountSummary: ...

    def find_by_provider_invoice(self, razorpay_invoice_id: str) -> Invoice:
        """Our invoice collected by that Razorpay invoice; ``NotFoundError`` if none."""

    def next_sequence(self, series: str) -> int:
        """The number a series would hand out next (its counter + 1)."""

    def list_page(self, query: ListQuery) -> Page[Invoice]: ...

    def owners(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceOwner]:
        """Account and status of each invoice that exists (absent ones are left out)."""

    def due_for_sweep(
        self, shard: int, through: date, *, start_key: dict[str, Any] | None = None, limit: int = 500
    ) -> SweepPage:
        """One page of the invoices the sweep may act on by ``through``, in one shard."""

    def delete_draft(self, invoice: Invoice) -> None:
        """Delete a draft if it is still at its version (else ``ConflictError``)."""


class DocumentStore(Protocol):
    def get(self, invoice_id: str) -> InvoiceDocument: ...

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        """Record the PDF of ``version``; ``False`` when the invoice moved on (or it was recorded)."""


class DownloadStore(Protocol):
    def create(self, download: Download) -> Download: ...

    def get(self, download_id: str) -> Download: ...

    def finish(self, download_id: str, status: DownloadStatus, *, reason: str | None = None) -> bool: ...


class ReviewStore(Protocol):
    def add(self, item: ReviewItem) -> bool:
        """Keep a review item; ``False`` if this event's item was already kept."""

    def add_failed_payment(self, record: FailedPaymentRecord) -> bool: ...


class Outbox(Protocol):
    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Messages that may be tried at ``now``, oldest first."""

    def get(self, message_id: str) -> OutboxMessage | None: ...

    def done(self, message: OutboxMessage) -> None: ...

    def retry_later(self, message: OutboxMessage, at: datetime, error: str) -> None: ...


# -------------------------------------------------------------------------------- documents
class Links(Protocol):
    def download_link(self, key: str, *, filename: str, content_type: str, now: datetime) -> DownloadLink:
        """A presigned GET (at most 15 minutes) that saves the object as ``filename``."""


class DocumentStorage(Links, Protocol):
    def put(self, key: str, body: bytes, *, filename: str, content_type: str) -> None: ...

    def stream(self, key: str) -> Iterator[bytes]: ...

    def upload_stream(self, key: str, *, filename: str) -> IO[bytes]:
        """A write-only file object streamed to ``key`` (a context manager: exit completes it)."""


class Renderer(Protocol):
    def render(self, invoice: Invoice) -> bytes: ...


class RenderJobs(Protocol):
    def enqueue(self, document: str, document_id: str, version: int) -> None:
        """Ask for a document's PDF at ``version`` to be rendered."""

    def enqueue_download(self, download_id: str) -> None:
        """Ask for a stored bulk-download job's ZIP to be built."""


# ---------------------------------------------------------------------------- notifications
class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any], *, event_id: str) -> None:
        """Publish a domain event (at least once; ``event_id`` lets consumers drop repeats)."""


class Mailer(Protocol):
    def send_reminder(self, reminder: Reminder) -> None:
        """E-mail an overdue notice or reminder to the invoice's customer."""


class SweepQueue(Protocol):
    def enqueue(self, works: Sequence[SweepWork]) -> None:
        """Queue the works for the sweep function's SQS event; all or raise."""


class EInvoiceJobs(Protocol):
    def enqueue(self, document: str, document_id: str, attempt: int, *, delay_seconds: int = 0) -> None:
        """Queue a document's registration with the IRP (SQS delays at most 15 minutes)."""


class Counter(Protocol):
    def count(self, name: str) -> None:
        """Add one to the business metric ``name``."""


# ---------------------------------------------------------------------------------- payments
class PaymentProvider(Protocol):
    """Razorpay, seen from the services. Every method is safe to call again after a failure."""

    def create_draft(self, invoice: Invoice) -> ProviderInvoice:
        """A provider invoice in draft (not payable) for ``invoice``."""

    def publish(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        """Make the provider invoice match ``invoice`` (receipt = its number) and issue it."""

    def update(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        """Carry edits allowed after issue (partial_payment, expire_by) to the issued provider invoice."""

    def cancel(self, provider_id: str) -> None:
        """Cancel it at the provider; already cancelled is fine."""

    def withdraw(self, provider_id: str) -> None:
        """Make sure it can never collect: delete a draft, cancel an issued one (gone is fine).

        Refuses (``PaymentProviderError``) when the provider already took money for it."""

    def refund(
        self, payment_id: str, amount: int, *, refund_id: str, notes: dict[str, str]
    ) -> ProviderRefund:
        """Refund ``amount`` of a captured payment; ``refund_id`` makes a repeat return the first."""


# --------------------------------------------------------------------------------- e-invoicing
class IrpClient(Protocol):
    """The IRP through a GSP. Failures are ``domain.einvoice`` errors: ``IrpRejected`` (a validation
    error: do not resend), ``IrpUnavailable`` (transient, nothing registered), ``IrpTimeout`` (the
    outcome is unknown), ``IrpDuplicate`` (error 2150)."""

    def register(self, payload: dict[str, Any]) -> Registration:
        """Register an INV-01 payload: its IRN, ack number and date, signed QR."""

    def find(self, doc_type: str, number: str, document_date: date) -> RegisteredDocument | None:
        """The registration of a document by type, number and date, or ``None`` if the IRP has none."""

    def get(self, irn: str) -> RegisteredDocument:
        """The registration an IRN names."""

    def cancel(self, irn: str, reason_code: str, remark: str) -> datetime:
        """Cancel an IRN (within 24 hours of its ack date); when the IRP cancelled it."""


class EInvoiceCancellation(Protocol):
    def before_cancel(self, before: Invoice, after: Invoice) -> Invoice:
        """``after`` (the cancelled invoice) with its IRN cancelled at the IRP when that is due."""


class EInvoiceStore(Protocol):
    def e_invoice_page(self, status: str, limit: int, cursor: str | None) -> Page[Invoice]:
        """Documents whose e-invoice is in ``status`` (pending, retrying, failed), newest change first."""
