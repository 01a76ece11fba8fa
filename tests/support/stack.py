"""The service under in-process moto, built once per test process and emptied between tests.

Creating every resource of template.yaml costs 1-2 s (boto3 clients, S3 bucket configuration), and
the functions' wiring builds its clients once per environment: paid per test, that was most of the
suite's time. So :class:`MotoStack` starts ``mock_aws`` once (per pytest-xdist worker), creates the
resources once, and between tests only empties them — table items, queue messages, bucket
objects, sent e-mails — through moto's backends, which costs milliseconds and no AWS call (the
``aws_calls`` recorder never sees it). Names, secrets and the functions' wiring stay as they are, so
a warm function keeps its clients like a warm Lambda container does. :meth:`MotoStack.wipe` forgets
everything (``aws``: a test that wants moto empty, without the template's resources).

What the functions did after their commit is read through the same object: :meth:`drain_outbox`
runs the outbox dispatcher (its scheduled path, as the local stack does) until nothing is due, and
:meth:`events`, :meth:`emails` and :meth:`render_jobs` drain it first; :meth:`register_e_invoices`
feeds the e-invoice registrar what the outbox queued for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from moto import mock_aws
from moto.core.base_backend import BackendDict

from infra.cfn import create_resources, load_template
from infra.local.aws import EventTap
from infra.local.stack import merged_function_environment
from invoicing.domain.changes import Change, LinkProvider, SaveInvoice, TakeNumber
from invoicing.domain.errors import NotFoundError
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import financial_year, format_invoice_number, ist_date, series_key
from invoicing.repository import records
from invoicing.repository.commit import DynamoTransactions
from invoicing.repository.invoices import DynamoInvoiceStore
from invoicing.repository.reviews import DynamoReviewStore
from invoicing.repository.table import Table, serialize
from tests.support import functions as lambdas
from tests.support.razorpay import KEY_ID, KEY_SECRET, PREVIOUS_WEBHOOK_SECRET, WEBHOOK_SECRET

CURSOR_KEY = b"tests-cursor-signing-key-0123456789"
RAZORPAY_SECRET = {
    "key_id": KEY_ID,
    "key_secret": KEY_SECRET,
    "webhook_secret": WEBHOOK_SECRET,
    "previous_webhook_secret": PREVIOUS_WEBHOOK_SECRET,
}
# Every SES v2 SendEmail request's parameters (both parts; moto keeps only one body), oldest first.
SENT_EMAILS: list[dict[str, Any]] = []


class MotoStack:
    def __init__(self) -> None:
        self._mock: Any = None
        self.env: dict[str, str] = {}
        self.generation = 0  # bumped whenever moto's resources are wiped or made again
        self._tap: EventTap | None = None
        self._events_seen = 0
        self._render_jobs: list[dict[str, Any]] = []

    # ------------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._mock is None:
            self._mock = mock_aws()
            self._mock.start()

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
            self.env = {}
            self.generation += 1

    def wipe(self) -> None:
        """moto without any resource (the next :meth:`ready` creates them again)."""
        self.start()
        BackendDict.reset()
        self.env, self._tap = {}, None
        self.generation += 1

    def ready(self) -> dict[str, str]:
        """The template's resources, empty, and the environment every function gets (merged)."""
        self.start()
        if not self.env:
            self._create()
        else:
            self._empty()
        return self.env

    def _create(self) -> None:
        self.generation += 1
        template = load_template()
        session = boto3.session.Session()
        base = create_resources(
            template,
            session=session,
            secret_values={
                "RazorpaySecret": json.dumps(RAZORPAY_SECRET),
                "CursorSigningSecret": CURSOR_KEY.decode(),
            },
        )
        session.client("ses").verify_email_identity(EmailAddress=base["SES_SENDER"])
        tap = EventTap(session, None, base["EVENT_BUS_NAME"])  # type: ignore[arg-type]
        tap.install()
        _detach_streams()
        env = merged_function_environment(template, base)
        env["OUTBOX_SWEEP_MIN_AGE_SECONDS"] = "0"  # no stream under moto: a drain takes all that is due
        self.env, self._tap = env, tap
        self._events_seen, self._render_jobs = 0, []
        SENT_EMAILS.clear()

    def _empty(self) -> None:
        from moto.dynamodb.models import dynamodb_backends
        from moto.s3.models import s3_backends
        from moto.ses.models import ses_backends
        from moto.sqs.models import sqs_backends

        for account in dynamodb_backends.values():
            for backend in account.values():
                for table in backend.tables.values():
                    table.items.clear()
        for account in sqs_backends.values():
            for backend in account.values():
                for queue in backend.queues.values():
                    queue._messages = []
                    queue._pending_messages = set()
                    queue.deleted_messages = set()
        for account in s3_backends.values():
            for backend in account.values():
                for bucket in backend.buckets.values():
                    bucket.keys.clear()
                    bucket.multiparts.clear()
        for account in ses_backends.values():
            for backend in account.values():
                backend.sent_messages.clear()
                backend.sent_message_count = 0
        assert self._tap is not None
        self._events_seen = len(self._tap.events())
        self._render_jobs = []
        SENT_EMAILS.clear()

    # ------------------------------------------------------------------------- after commits
    def drain_outbox(self, *, rounds: int = 20) -> dict[str, int]:
        """Run the outbox dispatcher until nothing is due; the totals of its reports. A message
        whose effect fails waits (its next attempt is later), so this always ends."""
        total = {"dispatched": 0, "failed": 0, "effects": 0}
        for _ in range(rounds):
            report = lambdas.functions().scheduled(lambdas.OUTBOX, datetime.now(UTC))
            for name in total:
                total[name] += report[name]
            if not report["dispatched"] and not report["failed"]:
                return total
        raise AssertionError(f"the outbox did not settle in {rounds} rounds: {total}")

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """Every domain event published on the bus in this test, oldest first: (detail-type, detail)."""
        self.drain_outbox()
        assert self._tap is not None
        return [(e["detail_type"], e["detail"]) for e in self._tap.events()[self._events_seen :]]

    def emails(self) -> list[dict[str, Any]]:
        """Every e-mail sent through SES v2 in this test (from, to, subject, text, html); moto's SES
        must have accepted each of them."""
        from moto.ses.models import ses_backends

        self.drain_outbox()
        accepted = sum(len(b.sent_messages) for account in ses_backends.values() for b in account.values())
        assert accepted == len(SENT_EMAILS), "an e-mail SES did not accept"
        return [
            {
                "from": params["FromEmailAddress"],
                "to": params["Destination"]["ToAddresses"],
                "subject": params["Content"]["Simple"]["Subject"]["Data"],
                "text": params["Content"]["Simple"]["Body"]["Text"]["Data"],
                "html": params["Content"]["Simple"]["Body"]["Html"]["Data"],
            }
            for params in SENT_EMAILS
        ]

    def render_jobs(self) -> list[dict[str, Any]]:
        """Every render job queued in this test (taken off the queue: nothing renders them)."""
        self.new_render_jobs()
        return list(self._render_jobs)

    def new_render_jobs(self) -> list[dict[str, Any]]:
        """The render jobs queued since the last look, taken off the queue."""
        self.drain_outbox()
        jobs = [json.loads(body) for body in self.take(self.env["RENDER_QUEUE_URL"])]
        self._render_jobs += jobs
        return jobs

    def render(self) -> list[dict[str, Any]]:
        """The PDF renderer fed from the render queue until it is empty; the jobs it did."""
        self.drain_outbox()
        bodies = lambdas.functions().feed(lambdas.RENDERER, self.env["RENDER_QUEUE_URL"])
        return [json.loads(body) for body in bodies]

    def register_e_invoices(self) -> list[dict[str, Any]]:
        """The e-invoice registrar fed from its queue (after the outbox queued the jobs) until the
        queue is empty, then the outbox again (the registrations' own effects); the jobs it did. A
        retry's job, queued with its delay, waits for a later call."""
        self.drain_outbox()
        bodies = lambdas.functions().feed(lambdas.EINVOICE, self.env["EINVOICE_QUEUE_URL"])
        self.drain_outbox()
        return [json.loads(body) for body in bodies]

    @staticmethod
    def take(queue_url: str) -> list[str]:
        """Every message body on a queue, deleting them."""
        sqs = _sqs()
        bodies = []
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies


def _detach_streams() -> None:
    """moto keeps every record of a table's stream (and copies them with the table on every
    transaction) though no test reads them: the tables keep their stream settings, without records."""
    from moto.dynamodb.models import dynamodb_backends

    for account in dynamodb_backends.values():
        for backend in account.values():
            for table in backend.tables.values():
                table.stream_shard = None


@cache
def _sqs() -> Any:
    return boto3.client("sqs")


_stack = MotoStack()


def stack() -> MotoStack:
    return _stack


@contextmanager
def session_stack() -> Iterator[MotoStack]:
    try:
        yield _stack
    finally:
        _stack.stop()


class Invoices(DynamoInvoiceStore):
    """The invoice store on the stack's table, with writes to arrange a test's state (committed
    straight, without side effects: an arrangement, not a use case) and the review items."""

    def __init__(self, table_name: str) -> None:
        table = Table(table_name, _dynamodb())
        super().__init__(table, cursor_key=CURSOR_KEY)
        self.table = table
        self.reviews = DynamoReviewStore(table)
        self._transactions = DynamoTransactions(table)

    def commit(self, *changes: Change) -> None:
        self._transactions.commit(list(changes))

    def put(self, invoice: Invoice) -> Invoice:
        """``invoice`` written as it is, in any status (no summary, counter or pointer follows)."""
        self.table.call("put_item", Item=serialize(records.invoice_to_item(invoice)))
        return invoice

    def create(self, invoice: Invoice) -> Invoice:
        self.commit(SaveInvoice(None, invoice))
        return invoice

    def save(self, before: Invoice, after: Invoice) -> Invoice:
        self.commit(SaveInvoice(before, after))
        return after

    def issue(self, draft: Invoice, *, now: datetime, prefix: str = "INV", **options: Any) -> Invoice:
        """``draft`` (stored here if it is not yet) issued at ``now`` with the next number of its
        series and a Razorpay invoice of its own (``razorpay_invoice_id=`` chooses its id), with the
        pointer from it. ``options`` go to ``Invoice.issue``."""
        try:
            self.get(draft.id)
        except NotFoundError:
            self.create(draft)
        today = ist_date(now)
        year = financial_year(today)
        series = series_key(prefix, year)
        sequence = self.next_sequence(series)
        provider_id = options.pop("razorpay_invoice_id", "inv_Rzp" + draft.id.removeprefix("inv_"))
        issued = draft.issue(
            invoice_number=format_invoice_number(prefix, year, sequence),
            today=today,
            now=now,
            razorpay_invoice_id=provider_id,
            payment_url=options.pop("payment_url", f"https://rzp.io/i/{provider_id}"),
            **options,
        )
        assert issued.invoice_number is not None
        self.commit(
            TakeNumber(series, sequence, issued.invoice_number, issued.id, issued.account_id),
            SaveInvoice(draft, issued),
            LinkProvider(provider_id, issued.id, issued.account_id),
        )
        return issued


@cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb")
