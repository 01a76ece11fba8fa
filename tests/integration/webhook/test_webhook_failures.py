"""Transient failures answer 5xx and leave no record, races are retried, side effects follow commits.

Failures are injected by wrapping the DynamoDB client the webhook's repository uses (moto is not
thread-safe under concurrent transactions, so a race is staged by writing between read and write).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from invoicing.domain.invoice import InvoiceStatus, Payment
from invoicing.services.retry import NO_WAIT, Backoff
from tests.integration.webhook.conftest import (
    Issue,
    Published,
    Records,
    RenderJobs,
    Webhooks,
    idempotency_key,
)
from tests.support.functions import WEBHOOK, Functions
from tests.support.stack import Invoices
from tests.support.webhook_payloads import invoice_paid, payment_captured
from tests.unit.factories import NOW

MONTH = NOW.strftime("%Y-%m")


class FlakyClient:
    """The real client, except that ``transact_write_items`` runs ``before`` first (which may raise)."""

    def __init__(self, real: Any, before: Callable[[int], None]) -> None:
        self._real = real
        self._before = before
        self.transactions = 0

    def transact_write_items(self, **params: Any) -> Any:
        self.transactions += 1
        self._before(self.transactions)
        return self._real.transact_write_items(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


Inject = Callable[[Callable[[int], None]], FlakyClient]


@pytest.fixture
def inject(wiring: Any, resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Inject:
    """Route the functions' invoice-table calls through a ``FlakyClient`` running ``before``."""
    from invoicing.wiring import common

    def install(before: Callable[[int], None]) -> FlakyClient:
        table = common.table(resources["INVOICES_TABLE"])
        flaky = FlakyClient(table.client, before)
        monkeypatch.setattr(table, "client", flaky)
        return flaky

    return install


def throttled(operation: str = "TransactWriteItems") -> ClientError:
    return ClientError(
        {
            "Error": {
                "Code": "ThrottlingException",
                "Message": "Rate of requests exceeds the allowed throughput.",
            }
        },
        operation,
    )


def test_a_throttled_transaction_answers_503_and_razorpays_retry_succeeds(
    webhooks: Webhooks,
    issue: Issue,
    repository: Invoices,
    inject: Inject,
    idempotency_records: Records,
    published: Published,
    render_jobs: RenderJobs,
) -> None:
    invoice = issue()

    def throttle_once(attempt: int) -> None:
        if attempt == 1:
            raise throttled()

    flaky = inject(throttle_once)
    document = invoice_paid(invoice, "pay_Throttled00001", invoice.amount)

    failed = webhooks.deliver(document)

    assert failed.status == 503
    assert failed.body["error"]["code"] == "service_unavailable"
    assert idempotency_records(failed.event_id) is None
    assert repository.get(invoice.id) == invoice
    assert repository.summary(invoice.account_id).total_paid == 0
    assert published() == [] and render_jobs() == []

    retried = webhooks.deliver(document, event_id=failed.event_id)

    assert (retried.status, retried.body) == (200, {"status": "processed"})
    assert flaky.transactions == 2
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    assert [p.id for p in stored.payments] == ["pay_Throttled00001"]
    assert repository.summary(invoice.account_id).total_paid == invoice.amount
    record = idempotency_records(failed.event_id)
    assert record is not None and record["status"]["S"] == "COMPLETED"
    assert [t for t, _ in published()] == ["InvoicePaid"]


def test_a_competing_write_between_read_and_write_is_retried_without_losing_it(
    webhooks: Webhooks, issue: Issue, repository: Invoices, inject: Inject, published: Published
) -> None:
    invoice = issue(partial_payment=True)
    theirs = Payment(id="pay_Competing00001", amount=20000, method="card", paid_at=NOW)

    def competing_payment_first(attempt: int) -> None:
        if attempt == 1:  # another writer commits after our read and before our write
            current = repository.get(invoice.id)
            repository.save(current, current.apply_payment(theirs, NOW))

    flaky = inject(competing_payment_first)

    answer = webhooks.deliver(payment_captured(invoice, "pay_Ours0000000001", invoice.amount - 20000))

    assert (answer.status, answer.body) == (200, {"status": "processed"})
    assert flaky.transactions == 2
    stored = repository.get(invoice.id)
    assert {p.id for p in stored.payments} == {"pay_Competing00001", "pay_Ours0000000001"}
    assert stored.amount_paid == invoice.amount
    assert stored.status is InvoiceStatus.PAID
    assert stored.version == invoice.version + 2
    summary = repository.summary(invoice.account_id)
    assert (summary.total_paid, summary.count_paid, summary.total_pending) == (invoice.amount, 1, 0)
    assert [t for t, _ in published()] == ["InvoicePaid"]


def test_a_competing_write_that_already_recorded_the_payment_makes_ours_a_duplicate(
    webhooks: Webhooks, issue: Issue, repository: Invoices, inject: Inject
) -> None:
    invoice = issue()
    same = Payment(id="pay_SameRace000001", amount=invoice.amount, method="upi", paid_at=NOW)

    def same_payment_first(attempt: int) -> None:
        if attempt == 1:
            current = repository.get(invoice.id)
            repository.save(current, current.apply_payment(same, NOW))

    inject(same_payment_first)

    answer = webhooks.deliver(payment_captured(invoice, "pay_SameRace000001", invoice.amount))

    assert answer.body == {"status": "duplicate"}
    stored = repository.get(invoice.id)
    assert [p.id for p in stored.payments] == ["pay_SameRace000001"]
    assert repository.summary(invoice.account_id).total_paid == invoice.amount


def test_an_invoice_that_keeps_changing_answers_503_and_keeps_no_record(
    webhooks: Webhooks,
    issue: Issue,
    repository: Invoices,
    inject: Inject,
    idempotency_records: Records,
    wiring: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every attempt, without the jittered waits between them (up to ~1 s; a race above waits once)
    monkeypatch.setattr(wiring, "Backoff", lambda: NO_WAIT)
    invoice = issue()

    def always_first(attempt: int) -> None:
        current = repository.get(invoice.id)
        repository.save(current, current.revise({"notes": f"edit {attempt}"}, NOW))

    flaky = inject(always_first)

    answer = webhooks.deliver(payment_captured(invoice, "pay_Starved0000001", invoice.amount))

    assert answer.status == 503
    attempts = Backoff().attempts
    assert flaky.transactions == attempts
    assert idempotency_records(answer.event_id) is None
    stored = repository.get(invoice.id)
    assert (stored.status, stored.amount_paid, stored.notes) == (InvoiceStatus.ISSUED, 0, f"edit {attempts}")


def test_a_failing_idempotency_store_answers_503_and_changes_nothing(
    webhooks: Webhooks, issue: Issue, repository: Invoices, wiring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = issue()
    real = boto3.client("dynamodb")

    class IdempotencyDown:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def put_item(self, **params: Any) -> Any:
            raise throttled("PutItem")

    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    original = DynamoDBPersistenceLayer.__init__

    def patched(self: DynamoDBPersistenceLayer, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.client = IdempotencyDown()

    monkeypatch.setattr(DynamoDBPersistenceLayer, "__init__", patched)
    wiring._receiver.cache_clear()

    answer = webhooks.deliver(payment_captured(invoice, "pay_IdemDown000001", invoice.amount))

    assert answer.status == 503
    assert repository.get(invoice.id) == invoice


@pytest.fixture
def in_progress(resources: dict[str, str]) -> Callable[[str, int], None]:
    """Leave an event's in-progress record, as an invocation does while it runs (or when it timed out):
    its in-progress mark lasts until ``until`` (epoch seconds)."""

    def put(event_id: str, until: int) -> None:
        boto3.client("dynamodb").put_item(
            TableName=resources["IDEMPOTENCY_TABLE"],
            Item={
                "id": {"S": idempotency_key(event_id)},
                "status": {"S": "INPROGRESS"},
                "expiration": {"N": str(int(time.time()) + 3600)},
                "in_progress_expiration": {"N": str(until * 1000)},
            },
        )

    return put


def test_the_same_event_in_flight_elsewhere_answers_409_so_razorpay_retries(
    webhooks: Webhooks,
    issue: Issue,
    repository: Invoices,
    in_progress: Callable[[str, int], None],
    idempotency_records: Records,
) -> None:
    invoice = issue()
    event_id = webhooks.next_event_id()
    in_progress(event_id, int(time.time()) + 60)

    answer = webhooks.deliver(
        payment_captured(invoice, "pay_InFlight000001", invoice.amount), event_id=event_id
    )

    assert answer.status == 409
    assert answer.body["error"]["code"] == "conflict"
    assert repository.get(invoice.id) == invoice
    record = idempotency_records(event_id)
    assert record is not None and record["status"]["S"] == "INPROGRESS"


def test_an_attempt_that_timed_out_does_not_block_the_retry(
    webhooks: Webhooks, issue: Issue, repository: Invoices, in_progress: Callable[[str, int], None]
) -> None:
    invoice = issue()
    event_id = webhooks.next_event_id()
    in_progress(event_id, int(time.time()) - 60)  # left by an invocation that hit its 5 s timeout

    answer = webhooks.deliver(
        payment_captured(invoice, "pay_AfterTimeout01", invoice.amount), event_id=event_id
    )

    assert answer.body == {"status": "processed"}
    assert repository.get(invoice.id).status is InvoiceStatus.PAID


def test_the_in_progress_record_expires_with_the_invocation(
    webhooks: Webhooks, issue: Issue, idempotency_records: Records, functions: Functions
) -> None:
    invoice = issue()
    before = int(time.time() * 1000)

    answer = webhooks.deliver(payment_captured(invoice, "pay_Expiry00000001", invoice.amount))

    record = idempotency_records(answer.event_id)
    assert record is not None
    in_progress_until = int(record["in_progress_expiration"]["N"])
    timeout_ms = functions.function(WEBHOOK).spec.timeout_seconds * 1000
    assert before < in_progress_until <= int(time.time() * 1000) + timeout_ms  # the invocation's
    kept_until = int(record["expiration"]["N"])
    assert kept_until - time.time() > 29 * 24 * 3600  # 30 days
