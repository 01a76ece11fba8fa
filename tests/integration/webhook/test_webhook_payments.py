"""The webhook end to end under moto: a payment, its duplicates and replays, what is kept for review,
and what a delivery costs in DynamoDB calls.

Every test asserts what is stored (the invoice, its summary, review items, failed payments), not
only the answer. Which state, events, refunds and reviews each kind of delivery results in, in any
order, is the service's: tests/services/test_webhook_notices.py and tests/services/test_payments.py
(the same payloads, read by the same ``parse_notice``, against the in-memory stores).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3

from invoicing.domain.invoice import InvoiceStatus
from invoicing.repository.reviews import DynamoReviewStore
from tests.conftest import AwsCalls
from tests.integration.webhook.conftest import Answer, Issue, Published, Records, RenderJobs, Webhooks
from tests.support.stack import Invoices
from tests.support.webhook_payloads import (
    EVENT_CREATED_AT,
    invoice_expired,
    invoice_paid,
    payment_captured,
    payment_failed,
    sample,
)
from tests.unit.factories import NOW

PROCESSED, DUPLICATE, IGNORED = ({"status": s} for s in ("processed", "duplicate", "ignored"))
MONTH = NOW.strftime("%Y-%m")


def answers(*deliveries: Answer) -> list[dict[str, Any]]:
    return [d.body for d in deliveries]


def event_types(published: Published) -> list[str]:
    return [detail_type for detail_type, _ in published()]


# ------------------------------------------------------------------------------------ the happy path
def test_a_captured_payment_pays_the_invoice_once(
    webhooks: Webhooks, issue: Issue, repository: Invoices, published: Published, render_jobs: RenderJobs
) -> None:
    invoice = issue()

    answer = webhooks.deliver(payment_captured(invoice, "pay_Full0000000001", invoice.amount, method="card"))

    assert (answer.status, answer.body) == (200, PROCESSED)
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    assert stored.amount_paid == invoice.amount and stored.amount_due == 0
    assert [(p.id, p.amount, p.method) for p in stored.payments] == [
        ("pay_Full0000000001", invoice.amount, "card")
    ]
    assert stored.paid_at is not None and int(stored.paid_at.timestamp()) == EVENT_CREATED_AT
    assert stored.version == invoice.version + 1
    summary = repository.summary(invoice.account_id)
    assert (summary.total_paid, summary.count_paid, summary.total_pending, summary.count_pending) == (
        invoice.amount,
        1,
        0,
        0,
    )
    [(detail_type, detail)] = published()
    assert detail_type == "InvoicePaid"
    assert detail | {"version": None, "event_id": None} == {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "invoice_number": invoice.invoice_number,
        "status": "paid",
        "amount_due": 0,
        "version": None,
        "event_id": None,  # stable across the outbox's repeats
    }
    assert render_jobs() == [{"kind": "invoice", "document_id": invoice.id, "version": stored.version}]


def test_the_payment_method_is_recorded_as_razorpay_names_it(
    webhooks: Webhooks, issue: Issue, repository: Invoices
) -> None:
    # one of Razorpay's seven methods; the service tests record every one
    invoice = issue()

    webhooks.deliver(invoice_paid(invoice, "pay_Method00000001", invoice.amount, method="netbanking"))

    assert [p.method for p in repository.get(invoice.id).payments] == ["netbanking"]


def test_the_same_event_twice_answers_duplicate_and_changes_nothing(
    webhooks: Webhooks,
    issue: Issue,
    repository: Invoices,
    published: Published,
    render_jobs: RenderJobs,
    idempotency_records: Records,
) -> None:
    invoice = issue()
    document = invoice_paid(invoice, "pay_Twice000000001", invoice.amount)
    first = webhooks.deliver(document)
    after_first = repository.get(invoice.id)

    again = webhooks.deliver(document, event_id=first.event_id)

    assert answers(first, again) == [PROCESSED, DUPLICATE]
    assert repository.get(invoice.id) == after_first
    assert len(after_first.payments) == 1
    assert event_types(published) == ["InvoicePaid"]
    assert len(render_jobs()) == 1
    record = idempotency_records(first.event_id)
    assert record is not None and record["status"]["S"] == "COMPLETED"


def test_a_replay_after_the_idempotency_record_expired_still_changes_nothing(
    webhooks: Webhooks,
    issue: Issue,
    repository: Invoices,
    resources: dict[str, str],
    idempotency_records: Records,
) -> None:
    invoice = issue()
    document = invoice_paid(invoice, "pay_Replay00000001", invoice.amount)
    first = webhooks.deliver(document)
    after_first = repository.get(invoice.id)
    # The record has expired (TTL deletion lags, so it may still be there, just out of date).
    record = idempotency_records(first.event_id)
    assert record is not None
    boto3.client("dynamodb").update_item(
        TableName=resources["IDEMPOTENCY_TABLE"],
        Key={"id": record["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )

    replay = webhooks.deliver(document, event_id=first.event_id)

    assert answers(first, replay) == [PROCESSED, DUPLICATE]
    assert repository.get(invoice.id) == after_first


# ---------------------------------------------------------------------------- kept for review
def test_an_unknown_invoice_is_ignored_and_kept_for_review(
    webhooks: Webhooks, issue: Issue, repository: Invoices, reviews: DynamoReviewStore
) -> None:
    invoice = issue()
    stranger = invoice.model_copy(update={"razorpay_invoice_id": "inv_RzpNotOurs00001"})

    answer = webhooks.deliver(payment_captured(stranger, "pay_Stranger000001", 5000))

    assert (answer.status, answer.body) == (200, IGNORED)
    assert repository.get(invoice.id) == invoice
    [item] = reviews.in_month(MONTH)
    assert item.reason == "unknown_invoice"
    assert (item.event_id, item.event_type, item.razorpay_invoice_id, item.payment_id, item.amount) == (
        answer.event_id,
        "payment.captured",
        "inv_RzpNotOurs00001",
        "pay_Stranger000001",
        5000,
    )
    assert item.invoice_id is None


def test_a_payment_link_not_ours_goes_to_the_wallet_which_keeps_it_for_review(
    webhooks: Webhooks, reviews: DynamoReviewStore
) -> None:
    # an unhandled event type is kept the same way: test_webhook_signature's SDK fixture event
    document = sample("payment-link-paid")

    answer = webhooks.deliver(document)

    assert (answer.status, answer.body) == (200, IGNORED)
    [item] = reviews.in_month(_month_of(document["created_at"]))
    assert (item.reason, item.event_type, item.event_id) == (
        "unknown_link",
        "payment_link.paid",
        answer.event_id,
    )


# ------------------------------------------------------------------------------- failed payments
def test_a_failed_payment_is_recorded_without_a_state_change(
    webhooks: Webhooks, issue: Issue, repository: Invoices, reviews: DynamoReviewStore, published: Published
) -> None:
    invoice = issue()

    results = [
        webhooks.deliver(payment_failed(invoice, "pay_Failed00000001", 10000)),
        webhooks.deliver(payment_failed(invoice, "pay_Failed00000001", 10000)),
    ]

    assert answers(*results) == [PROCESSED, DUPLICATE]
    assert repository.get(invoice.id) == invoice
    assert published() == []
    [attempt] = reviews.failed_payments(invoice.id)
    assert (attempt.payment_id, attempt.amount, attempt.method, attempt.error_code, attempt.error_reason) == (
        "pay_Failed00000001",
        10000,
        "wallet",
        "BAD_REQUEST_ERROR",
        "payment_failed",
    )
    assert attempt.event_id == results[0].event_id
    assert reviews.in_month(MONTH) == []


# ---------------------------------------------------------------------------------- the call budget
def test_a_new_payment_costs_the_idempotency_calls_one_transaction_and_two_reads(
    webhooks: Webhooks, issue: Issue, aws_calls: AwsCalls
) -> None:
    invoice, warm_up = issue(), issue()
    webhooks.deliver(invoice_expired(warm_up))  # secrets fetched, clients built
    aws_calls.clear()

    webhooks.deliver(payment_captured(invoice, "pay_Budget00000001", invoice.amount))

    assert aws_calls.of("dynamodb") == [
        "PutItem",  # idempotency record, in progress
        "GetItem",  # Razorpay invoice id -> our invoice id (pointer)
        "GetItem",  # the invoice
        "GetItem",  # the account's ledger head (the payment is booked after it)
        "TransactWriteItems",  # invoice, summary, ledger entry and head, outbox; conditional
        "UpdateItem",  # idempotency record, completed
    ]


def test_with_our_invoice_id_in_the_notes_the_pointer_read_is_skipped(
    webhooks: Webhooks, issue: Issue, aws_calls: AwsCalls
) -> None:
    invoice, warm_up = issue(), issue()
    webhooks.deliver(invoice_expired(warm_up))
    aws_calls.clear()

    webhooks.deliver(invoice_paid(invoice, "pay_Budget00000002", invoice.amount))

    assert aws_calls.of("dynamodb") == ["PutItem", "GetItem", "GetItem", "TransactWriteItems", "UpdateItem"]


def _month_of(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m")
