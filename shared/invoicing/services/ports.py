"""Everything the use cases need from the outside world, as protocols, in one place.

Services depend on these and on the domain only; ``repository/`` and ``adapters/`` implement them,
and ``wiring/`` (the composition root) is the one place that knows both. Every collaborator a
service takes is required: a wiring mistake fails when the service is built, never by silently
skipping Razorpay or an event. Tests hand in the in-memory fakes of ``tests/fakes``, which pass the
same contract tests as the real implementations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from invoicing.domain.billing import (
    AccountOutcome,
    AccountWork,
    BillingProfile,
    BillingRun,
    LineTotal,
    PeriodClaim,
    RateCard,
    StoredRecord,
    Unbilled,
    UsagePeriod,
)
from invoicing.domain.changes import Change
from invoicing.domain.credit_notes import CreditNote, CreditNoteDocument
from invoicing.domain.documents import Download, DownloadLink, DownloadStatus, InvoiceDocument, InvoiceOwner
from invoicing.domain.einvoice import EInvoice, EInvoiceEntry, RegisteredDocument, Registration
from invoicing.domain.invoice import Invoice, Refund
from invoicing.domain.ledger import LedgerEntry, LedgerHead
from invoicing.domain.outbox import OutboxMessage
from invoicing.domain.provider import ProviderInvoice, ProviderLink, ProviderRefund
from invoicing.domain.queries import InvoiceRow, ListQuery, Page, SweepPage
from invoicing.domain.reviews import FailedPaymentRecord, ReviewItem
from invoicing.domain.statements import Statement, StatementDocument, StatementFigures, StatementStatus
from invoicing.domain.summary import AccountSummary
from invoicing.domain.sweep import Reminder, SweepWork
from invoicing.domain.wallet import Advance, ReceiptDocument, ReceiptVoucher, SettlementRecord, TopUp


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

    def list_page(self, query: ListQuery) -> Page[InvoiceRow]: ...

    def owners(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceOwner]:
        """Account and status of each invoice that exists (absent ones are left out)."""

    def due_for_sweep(
        self, shard: int, through: date, *, start_key: dict[str, Any] | None = None, limit: int = 500
    ) -> SweepPage:
        """One page of the invoices the sweep may act on by ``through``, in one shard."""

    def delete_draft(self, invoice: Invoice) -> None:
        """Delete a draft if it is still at its version (else ``ConflictError``)."""


class BillingStore(Protocol):
    """Reads of billing profiles, the rate card, usage and billing runs (writes are commits)."""

    def profile(self, account_id: str) -> BillingProfile | None: ...

    def rate_card(self) -> RateCard:
        """Every price version."""

    def records(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredRecord]:
        """The accepted records among ``(account_id, record_id)`` keys."""

    def periods(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UsagePeriod]:
        """The usage months that exist among ``(account_id, period)`` keys."""

    def line_totals(
        self, refs: Sequence[tuple[str, str, int, str]]
    ) -> dict[tuple[str, str, int, str], LineTotal]:
        """The line totals that exist among ``(account_id, period, generation, line_key)``."""

    def period(self, account_id: str, period: str) -> UsagePeriod | None: ...

    def open_periods(self, account_id: str, through: str) -> list[UsagePeriod]:
        """The account's months up to ``through`` that have unbilled records."""

    def lines(self, account_id: str, period: str, generation: int | None = None) -> list[LineTotal]:
        """A month's line totals: one generation, or every one."""

    def claim(self, account_id: str, period: str) -> PeriodClaim | None: ...

    def unbilled_entries(self, shards: int, through: str) -> Iterator[Unbilled]:
        """Months up to ``through`` with unbilled usage or an invoice to issue, from the index of
        them (never the table); an account may come more than once."""

    def run(self, run_id: str) -> BillingRun:
        """The run; ``NotFoundError`` if there is none."""

    def outcome(self, run_id: str, account_id: str) -> AccountOutcome | None: ...


class BillingQueue(Protocol):
    def plan(self, run_id: str) -> None:
        """Ask the billing function to plan a run (find its accounts, fan out)."""

    def bill(self, run_id: str, period: str, works: Sequence[AccountWork]) -> None:
        """One message per account, ten to a call; all or raise."""


class CreditNoteStore(Protocol):
    def get(self, credit_note_id: str) -> CreditNote:
        """The credit note, read consistently; ``NotFoundError`` if there is none."""

    def document(self, credit_note_id: str) -> CreditNoteDocument:
        """The credit note with the version of it whose PDF is stored."""

    def list_page(self, account_id: str, *, limit: int, cursor: str | None) -> Page[CreditNote]:
        """One page of an account's credit notes, newest first (one ``Query``)."""

    def refunds_of(self, invoice_ids: Sequence[str]) -> dict[str, tuple[Refund, ...]]:
        """The refunds recorded on each invoice that exists (their status is settled there)."""

    def mark_rendered(self, credit_note_id: str, version: int) -> bool:
        """Record the PDF of ``version``; ``False`` when it was already recorded."""


class WalletStore(Protocol):
    """Prepaid wallets: top-ups, receipt vouchers, advances and balances (writes are commits)."""

    def top_up(self, top_up_id: str) -> TopUp:
        """The top-up, read consistently; ``NotFoundError`` if there is none."""

    def top_up_by_link(self, provider_link_id: str) -> TopUp:
        """The top-up a provider payment link collects; ``NotFoundError`` if none."""

    def list_top_ups(self, account_id: str, *, limit: int, cursor: str | None) -> Page[TopUp]:
        """One page of an account's top-ups, newest first (one ``Query``)."""

    def balance(self, account_id: str) -> int:
        """The advance balance (taxable value not yet adjusted): one read, never a sum."""

    def open_advances(self, account_id: str, *, covering: int, limit: int) -> list[Advance]:
        """The account's advances with something left, oldest first, read consistently until they
        cover ``covering`` paise of taxable value (or all of them, at most ``limit``)."""

    def settlement(self, account_id: str, invoice_id: str) -> SettlementRecord | None:
        """What the invoice's settlement from advances drew on (one read); ``None``: not settled."""

    def receipt(self, receipt_id: str) -> ReceiptDocument:
        """The receipt voucher with the version of it whose PDF is stored; ``NotFoundError``."""

    def mark_receipt_rendered(self, receipt_id: str, version: int) -> bool:
        """Record the PDF of ``version``; ``False`` when it was already recorded."""

    def next_sequence(self, series: str) -> int:
        """The number a series would hand out next (its counter + 1)."""


class DocumentStore(Protocol):
    def get(self, invoice_id: str) -> InvoiceDocument: ...

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        """Record the PDF of ``version``; ``False`` when it (or a later version) was recorded."""

    def mark_failed(self, invoice_id: str, version: int, reason: str) -> bool:
        """Record that rendering ``version`` failed for good; ``False`` when it (or a later version)
        was rendered or marked failed already."""

    def request_render(self, invoice_id: str, version: int, now: datetime, *, again_after: timedelta) -> bool:
        """``True`` for the one caller that should queue the render of ``version`` (none requested
        yet, or the last request is older than ``again_after``)."""


class RenderRequests(Protocol):
    """Who queues the render of a credit note's or receipt voucher's PDF while a client polls, and
    which version's render failed for good."""

    def request_render(
        self, document: str, document_id: str, version: int, now: datetime, *, again_after: timedelta
    ) -> bool:
        """``True`` for the one caller that should queue the render of ``version`` of that document
        (none requested yet, or the last request is older than ``again_after``)."""

    def mark_failed(self, document: str, document_id: str, version: int, reason: str) -> bool:
        """Record that rendering ``version`` failed for good; ``False`` (and nothing changed) when
        that version or a later one was marked already."""

    def failed(self, document: str, document_id: str, version: int) -> bool:
        """Whether the render of ``version`` failed for good."""


class DownloadStore(Protocol):
    def create(self, download: Download) -> Download: ...

    def get(self, download_id: str) -> Download: ...

    def finish(self, download_id: str, status: DownloadStatus, *, reason: str | None = None) -> bool: ...


class ReviewStore(Protocol):
    def add(self, item: ReviewItem) -> bool:
        """Keep a review item; ``False`` if this event's item was already kept."""

    def add_failed_payment(self, record: FailedPaymentRecord) -> bool: ...


class Ledger(Protocol):
    """An account's ledger (``domain.ledger``): booked by commits, read by statements."""

    def head(self, account_id: str) -> LedgerHead:
        """Where the ledger stands; ``complete`` is False while a backfill is owed."""

    def balance_before(self, account_id: str, day: date, *, generation: str = "") -> int:
        """The running balance at the start of ``day`` (0 before the first entry)."""

    def entries(
        self,
        account_id: str,
        start: date,
        end: date,
        *,
        cursor: str | None = None,
        limit: int = 500,
        generation: str = "",
    ) -> Page[LedgerEntry]:
        """Entries dated ``start``…``end`` in booking order, one page (``next_cursor``: more)."""


class LedgerHistory(Protocol):
    """What rebuilding an account's ledger reads and writes (``services.ledger_backfill``)."""

    def head(self, account_id: str) -> LedgerHead: ...

    def invoices(self, account_id: str) -> Iterator[Invoice]:
        """Every issued invoice of the account, from the account's index (never a Scan)."""

    def booked(self, account_id: str, generation: str) -> Iterator[LedgerEntry]:
        """Every entry of one generation of the account's ledger, in booking order."""

    def replace(
        self, account_id: str, expected: LedgerHead, entries: Sequence[LedgerEntry], head: LedgerHead
    ) -> bool:
        """Make ``entries`` (of ``head.generation``) the account's ledger if its head is still
        ``expected``; ``False`` (and nothing visible changed) when another commit moved it first."""


class StatementStore(Protocol):
    def create(self, statement: Statement) -> Statement: ...

    def get(self, statement_id: str) -> Statement:
        """``NotFoundError`` when there is none."""

    def finish(
        self,
        statement_id: str,
        status: StatementStatus,
        *,
        figures: StatementFigures | None = None,
        reason: str | None = None,
    ) -> bool:
        """Move a pending statement to ``ready`` (with its figures) or ``failed``; ``False`` when
        it was no longer pending (a repeated job)."""


class Outbox(Protocol):
    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Messages that may be tried at ``now``, oldest first."""

    def get(self, message: OutboxMessage) -> OutboxMessage | None:
        """The message as it waits now (attempts counted), or ``None`` once done."""

    def done(self, message: OutboxMessage) -> None: ...

    def retry_later(self, message: OutboxMessage, at: datetime, error: str) -> None: ...


# -------------------------------------------------------------------------------- documents
class Links(Protocol):
    def download_link(self, key: str, *, filename: str, content_type: str, now: datetime) -> DownloadLink:
        """A presigned GET (at most 15 minutes) that saves the object as ``filename``."""


class UploadStream(Protocol):
    """A write-only binary file object (``zipfile.ZipFile`` writes to it) and a context manager."""

    def write(self, data: bytes, /) -> int: ...

    def tell(self) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> UploadStream: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class DocumentStorage(Links, Protocol):
    def put(self, key: str, body: bytes, *, filename: str, content_type: str) -> None: ...

    def stream(self, key: str) -> Iterator[bytes]: ...

    def upload_stream(self, key: str, *, filename: str, content_type: str = ...) -> UploadStream:
        """A write-only file object streamed to ``key`` (a context manager: exit completes it,
        an exception aborts it); ``content_type`` defaults to a ZIP's."""


class Renderer(Protocol):
    def render(self, invoice: Invoice) -> bytes: ...


class CreditNoteRenderer(Protocol):
    def render_credit_note(self, note: CreditNote) -> bytes: ...


class ReceiptRenderer(Protocol):
    def render_receipt(self, receipt: ReceiptVoucher) -> bytes: ...


class StatementRenderer(Protocol):
    """The statement's two documents: the PDF, and the CSV one line at a time."""

    def render(self, document: StatementDocument) -> bytes: ...

    def csv_header(self) -> str: ...

    def csv_row(self, entry: LedgerEntry) -> str: ...


class RenderJobs(Protocol):
    def enqueue(self, document: str, document_id: str, version: int) -> None:
        """Ask for a document's PDF at ``version`` to be rendered."""

    def enqueue_download(self, download_id: str) -> None:
        """Ask for a stored bulk-download job's ZIP to be built."""


class StatementJobs(Protocol):
    def enqueue_statement(self, statement_id: str) -> None:
        """Ask for a stored statement job's PDF and CSV to be built."""


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

    def fetch(self, provider_id: str) -> ProviderInvoice:
        """The provider invoice as it is now (status ``deleted`` when the provider has none)."""

    def draft_balance(self, invoice: Invoice) -> ProviderInvoice:
        """A provider invoice in draft (not payable) for ``invoice.amount_due``, under a receipt no
        collecting provider invoice holds (our number when it is free)."""

    def issue_draft(self, provider_id: str) -> ProviderInvoice:
        """Issue a draft made by ``draft_balance`` (already issued: returned as it is)."""


class TopUpLinks(Protocol):
    """Razorpay Payment Links, for wallet top-ups. Safe to call again after a failure."""

    def create_payment_link(self, top_up: TopUp) -> ProviderLink:
        """A payment link collecting ``top_up.total`` (``reference_id`` = the top-up's id); the
        existing one when a link with that reference was already made."""

    def cancel_payment_link(self, provider_id: str) -> None:
        """Make sure it collects nothing more (cancelled, paid or expired already is fine)."""


class AdvanceSettler(Protocol):
    def settle(self, invoice_id: str) -> Invoice:
        """Settle what a prepaid account's issued invoice owes from its advances (at most once)."""


class PaymentLinks(Protocol):
    def relink(self, invoice_id: str) -> Invoice:
        """Make the invoice's payment link collect exactly its ``amount_due`` (none when nothing is due)."""


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
    def cancel_young_irn(self, invoice: Invoice) -> EInvoice | None:
        """Cancel the invoice's IRN at the IRP if it is younger than 24 hours, and answer its
        e-invoice as cancelled; ``None`` when there is nothing to cancel there."""


class EInvoiceStore(Protocol):
    def e_invoice_page(self, status: str, limit: int, cursor: str | None) -> Page[EInvoiceEntry]:
        """Documents (invoices and credit notes) whose e-invoice is in ``status`` (pending, retrying,
        failed), newest change first."""
