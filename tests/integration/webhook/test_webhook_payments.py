"""Payments and expiry take effect exactly once, in any order; what cannot apply is kept for review.

Every test asserts the stored invoice (and summary, events, render jobs), not only the answer.
"""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from invoicing.domain.invoice import InvoiceStatus
from tests.integration.webhook.conftest import (
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


def answers(*deliveries) -> list[dict]:
    return [d.body for d in deliveries]


def event_types(published) -> list[str]:
    return [detail_type for detail_type, _ in published()]


# ------------------------------------------------------------------------------------ the happy path
def test_a_captured_payment_pays_the_invoice_once(razorpay, issue, repository, published, render_jobs):
    invoice = issue()

    answer = razorpay.deliver(payment_captured(invoice, "pay_Full0000000001", invoice.amount, method="card"))

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
    assert detail | {"version": None} == {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "invoice_number": invoice.invoice_number,
        "status": "paid",
        "amount_due": 0,
        "version": None,
    }
    assert render_jobs() == [{"kind": "invoice", "invoice_id": invoice.id, "version": stored.version}]


@pytest.mark.parametrize("method", ["upi", "card", "netbanking", "wallet", "emi", "cardless_emi", "paylater"])
def test_the_payment_method_is_recorded_as_razorpay_names_it(razorpay, issue, repository, method):
    invoice = issue()

    razorpay.deliver(invoice_paid(invoice, "pay_Method00000001", invoice.amount, method=method))

    assert [p.method for p in repository.get(invoice.id).payments] == [method]


def test_the_same_event_twice_answers_duplicate_and_changes_nothing(
    razorpay, issue, repository, published, render_jobs, idempotency_records
):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Twice000000001", invoice.amount)
    first = razorpay.deliver(document)
    after_first = repository.get(invoice.id)

    again = razorpay.deliver(document, event_id=first.event_id)

    assert answers(first, again) == [PROCESSED, DUPLICATE]
    assert repository.get(invoice.id) == after_first
    assert len(after_first.payments) == 1
    assert event_types(published) == ["InvoicePaid"]
    assert len(render_jobs()) == 1
    assert idempotency_records(first.event_id)["status"]["S"] == "COMPLETED"


def test_a_replay_after_the_idempotency_record_expired_still_changes_nothing(
    razorpay, issue, repository, resources, idempotency_records
):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Replay00000001", invoice.amount)
    first = razorpay.deliver(document)
    after_first = repository.get(invoice.id)
    # The record has expired (TTL deletion lags, so it may still be there, just out of date).
    record = idempotency_records(first.event_id)
    boto3.client("dynamodb").update_item(
        TableName=resources["IDEMPOTENCY_TABLE"],
        Key={"id": record["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )

    replay = razorpay.deliver(document, event_id=first.event_id)

    assert answers(first, replay) == [PROCESSED, DUPLICATE]
    assert repository.get(invoice.id) == after_first


@pytest.mark.parametrize("captured_first", [True, False], ids=["captured-then-paid", "paid-then-captured"])
def test_one_payment_through_two_event_types_is_recorded_once(
    razorpay, issue, repository, published, captured_first
):
    invoice = issue()
    captured = payment_captured(invoice, "pay_TwoTypes000001", invoice.amount)
    paid = invoice_paid(invoice, "pay_TwoTypes000001", invoice.amount)
    first, second = (captured, paid) if captured_first else (paid, captured)

    results = [razorpay.deliver(first), razorpay.deliver(second)]

    assert answers(*results) == [PROCESSED, DUPLICATE]
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    assert [p.id for p in stored.payments] == ["pay_TwoTypes000001"]
    assert stored.amount_paid == invoice.amount
    assert event_types(published) == ["InvoicePaid"]


def test_an_invoice_is_found_through_razorpays_invoice_id_without_notes(razorpay, issue, repository):
    invoice = issue()

    answer = razorpay.deliver(invoice_paid(invoice, "pay_NoNotes0000001", invoice.amount, with_notes=False))

    assert answer.body == PROCESSED
    assert repository.get(invoice.id).status is InvoiceStatus.PAID


# ------------------------------------------------------------------------------------ partial payments
@pytest.fixture
def partial(issue):
    return issue(partial_payment=True)


def test_partial_payments_add_up_to_paid_with_the_summary_in_step(
    razorpay, partial, repository, published, render_jobs
):
    invoice = partial
    first, rest = 30000, partial.amount - 30000

    results = [
        razorpay.deliver(payment_captured(invoice, "pay_PartA00000001", first, method="upi")),
        razorpay.deliver(invoice_paid(invoice, "pay_PartA00000001", first, partially=True)),
    ]
    halfway = repository.get(invoice.id)
    halfway_summary = repository.summary(invoice.account_id)
    results += [
        razorpay.deliver(payment_captured(invoice, "pay_PartB00000001", rest, method="netbanking")),
        razorpay.deliver(invoice_paid(invoice, "pay_PartB00000001", rest)),
    ]

    assert answers(*results) == [PROCESSED, DUPLICATE, PROCESSED, DUPLICATE]
    assert halfway.status is InvoiceStatus.PARTIALLY_PAID
    assert (halfway.amount_paid, halfway.amount_due) == (first, rest)
    assert (halfway_summary.total_paid, halfway_summary.total_pending, halfway_summary.count_pending) == (
        first,
        rest,
        1,
    )
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    assert stored.amount_paid == sum(p.amount for p in stored.payments) == invoice.amount
    assert [(p.id, p.method) for p in stored.payments] == [
        ("pay_PartA00000001", "upi"),
        ("pay_PartB00000001", "netbanking"),
    ]
    summary = repository.summary(invoice.account_id)
    assert (summary.total_paid, summary.count_paid, summary.total_pending, summary.count_pending) == (
        invoice.amount,
        1,
        0,
        0,
    )
    assert event_types(published) == ["InvoicePartiallyPaid", "InvoicePaid"]
    assert [job["version"] for job in render_jobs()] == [halfway.version, stored.version]


def test_the_amount_paid_is_never_copied_from_the_event(razorpay, partial, repository):
    # invoice.paid says the Razorpay invoice is fully paid, but it carries one partial payment:
    # only that payment counts.
    document = invoice_paid(partial, "pay_OnlyPart000001", 40000)
    document["payload"]["invoice"]["entity"].update(amount_paid=partial.amount, amount_due=0, status="paid")

    answer = razorpay.deliver(document)

    assert answer.body == PROCESSED
    stored = repository.get(partial.id)
    assert stored.status is InvoiceStatus.PARTIALLY_PAID
    assert stored.amount_paid == 40000


def test_invoice_paid_before_the_earlier_partial_payment_ends_paid(razorpay, partial, repository, published):
    first, rest = 30000, partial.amount - 30000

    results = [
        razorpay.deliver(invoice_paid(partial, "pay_LateB00000001", rest)),
        razorpay.deliver(invoice_paid(partial, "pay_LateA00000001", first, partially=True)),
    ]

    assert answers(*results) == [PROCESSED, PROCESSED]
    stored = repository.get(partial.id)
    assert stored.status is InvoiceStatus.PAID
    assert stored.amount_paid == partial.amount
    assert event_types(published) == ["InvoicePartiallyPaid", "InvoicePaid"]


def test_a_late_partially_paid_event_leaves_a_paid_invoice_paid(razorpay, partial, repository, published):
    first, rest = 30000, partial.amount - 30000
    razorpay.deliver(payment_captured(partial, "pay_SeqA000000001", first))
    razorpay.deliver(payment_captured(partial, "pay_SeqB000000001", rest))
    razorpay.deliver(invoice_paid(partial, "pay_SeqB000000001", rest))
    paid = repository.get(partial.id)

    late = razorpay.deliver(invoice_paid(partial, "pay_SeqA000000001", first, partially=True))

    assert late.body == DUPLICATE
    assert paid.status is InvoiceStatus.PAID
    assert repository.get(partial.id) == paid
    assert event_types(published) == ["InvoicePartiallyPaid", "InvoicePaid"]


# ------------------------------------------------------------------------------------------- expiry
def test_invoice_expired_expires_the_invoice(razorpay, issue, repository, published, render_jobs):
    invoice = issue()

    answer = razorpay.deliver(invoice_expired(invoice))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.EXPIRED
    assert stored.expired_at is not None and stored.payment_url is None
    summary = repository.summary(invoice.account_id)
    assert (summary.total_pending, summary.count_pending) == (0, 0)
    assert event_types(published) == ["InvoiceExpired"]
    assert render_jobs() == [{"kind": "invoice", "invoice_id": invoice.id, "version": stored.version}]


def test_a_second_expiry_event_is_a_duplicate(razorpay, issue, repository, published):
    invoice = issue()
    razorpay.deliver(invoice_expired(invoice))
    expired = repository.get(invoice.id)

    again = razorpay.deliver(invoice_expired(invoice, with_notes=False))

    assert again.body == DUPLICATE
    assert repository.get(invoice.id) == expired
    assert event_types(published) == ["InvoiceExpired"]


def test_an_expiry_after_payment_leaves_the_invoice_paid(razorpay, issue, repository, published, reviews):
    invoice = issue()
    razorpay.deliver(payment_captured(invoice, "pay_BeforeExp00001", invoice.amount))
    paid = repository.get(invoice.id)

    late = razorpay.deliver(invoice_expired(invoice))

    assert late.body == IGNORED
    assert repository.get(invoice.id) == paid
    assert event_types(published) == ["InvoicePaid"]
    [item] = reviews.in_month(MONTH)
    assert (item.reason, item.event_id, item.invoice_id) == ("late_expiry", late.event_id, invoice.id)


def test_a_payment_for_an_expired_invoice_is_kept_for_review(razorpay, issue, repository, reviews):
    invoice = issue()
    razorpay.deliver(invoice_expired(invoice))
    expired = repository.get(invoice.id)

    answer = razorpay.deliver(payment_captured(invoice, "pay_AfterExp000001", invoice.amount))

    assert answer.body == IGNORED
    assert repository.get(invoice.id) == expired
    [item] = reviews.in_month(MONTH)
    assert (item.reason, item.payment_id, item.amount, item.currency) == (
        "invoice_not_payable",
        "pay_AfterExp000001",
        invoice.amount,
        "INR",
    )


# ------------------------------------------------------------------------------- nothing to do
def test_an_unknown_invoice_is_ignored_and_kept_for_review(razorpay, issue, repository, reviews):
    invoice = issue()
    stranger = invoice.model_copy(update={"razorpay_invoice_id": "inv_RzpNotOurs00001"})

    answer = razorpay.deliver(payment_captured(stranger, "pay_Stranger000001", 5000))

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


def test_our_invoice_id_in_notes_that_does_not_exist_is_unknown(razorpay, issue, reviews):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Ghost000000001", invoice.amount)
    document["payload"]["invoice"]["entity"]["notes"] = {"invoice_id": "inv_doesnotexist00"}

    answer = razorpay.deliver(document)

    assert answer.body == IGNORED
    assert [i.reason for i in reviews.in_month(MONTH)] == ["unknown_invoice"]


def test_notes_naming_an_invoice_collected_by_another_razorpay_invoice_are_not_trusted(
    razorpay, issue, repository, reviews
):
    ours, other = issue(), issue()
    document = invoice_paid(other, "pay_Crossed0000001", ours.amount)
    document["payload"]["invoice"]["entity"]["notes"] = {"invoice_id": ours.id}

    answer = razorpay.deliver(document)

    assert answer.body == IGNORED
    assert repository.get(ours.id) == ours
    assert repository.get(other.id) == other
    assert [i.reason for i in reviews.in_month(MONTH)] == ["provider_invoice_mismatch"]


@pytest.mark.parametrize("name", ["order-paid", "payment-link-paid"])
def test_an_unhandled_event_type_is_ignored_and_kept_for_review(razorpay, reviews, name):
    document = sample(name)

    answer = razorpay.deliver(document)

    assert (answer.status, answer.body) == (200, IGNORED)
    [item] = reviews.in_month(_month_of(document["created_at"]))
    assert (item.reason, item.event_type, item.event_id) == (
        "unhandled_event",
        document["event"],
        answer.event_id,
    )


def test_a_review_item_is_not_duplicated_by_a_redelivery(razorpay, reviews, resources, idempotency_records):
    document = sample("order-paid")
    first = razorpay.deliver(document)
    boto3.client("dynamodb").delete_item(
        TableName=resources["IDEMPOTENCY_TABLE"], Key={"id": idempotency_records(first.event_id)["id"]}
    )

    again = razorpay.deliver(document, event_id=first.event_id)

    assert answers(first, again) == [IGNORED, DUPLICATE]
    assert len(reviews.in_month(_month_of(document["created_at"]))) == 1


def test_a_handled_event_with_an_unreadable_payload_is_kept_for_review(razorpay, issue, repository, reviews):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Unreadable0001", invoice.amount)
    document["payload"]["payment"]["entity"]["amount"] = "106200.00"

    answer = razorpay.deliver(document)

    assert answer.body == IGNORED
    assert repository.get(invoice.id) == invoice
    [item] = reviews.in_month(MONTH)
    assert item.reason == "unreadable_payload"
    assert "payment.entity.amount" in item.message
    assert "106200" not in item.message


# ----------------------------------------------------------------------------------- mismatches
def test_a_currency_mismatch_is_kept_for_review_without_a_state_change(
    razorpay, issue, repository, reviews, published
):
    invoice = issue()

    answer = razorpay.deliver(payment_captured(invoice, "pay_Dollars0000001", invoice.amount, currency="USD"))

    assert (answer.status, answer.body) == (200, IGNORED)
    assert repository.get(invoice.id) == invoice
    assert published() == []
    [item] = reviews.in_month(MONTH)
    assert (item.reason, item.currency, item.invoice_id) == ("currency_mismatch", "USD", invoice.id)


@pytest.mark.parametrize(
    ("partial_payment", "amount_of"),
    [
        pytest.param(True, lambda invoice: invoice.amount + 1, id="overpayment"),
        pytest.param(False, lambda invoice: invoice.amount - 100, id="partial-not-allowed"),
    ],
)
def test_an_amount_mismatch_is_kept_for_review_without_a_state_change(
    razorpay, issue, repository, reviews, partial_payment, amount_of
):
    invoice = issue(partial_payment=partial_payment)

    answer = razorpay.deliver(invoice_paid(invoice, "pay_WrongAmt000001", amount_of(invoice)))

    assert answer.body == IGNORED
    assert repository.get(invoice.id) == invoice
    assert repository.summary(invoice.account_id).total_paid == 0
    [item] = reviews.in_month(MONTH)
    assert (item.reason, item.amount) == ("amount_mismatch", amount_of(invoice))


def test_a_payment_that_is_not_captured_is_kept_for_review(razorpay, issue, repository, reviews):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Authorized0001", invoice.amount)
    document["payload"]["payment"]["entity"].update(status="authorized", captured=False)

    answer = razorpay.deliver(document)

    assert answer.body == IGNORED
    assert repository.get(invoice.id) == invoice
    assert [i.reason for i in reviews.in_month(MONTH)] == ["payment_not_captured"]


# ------------------------------------------------------------------------------- failed payments
def test_a_failed_payment_is_recorded_without_a_state_change(razorpay, issue, repository, reviews, published):
    invoice = issue()

    results = [
        razorpay.deliver(payment_failed(invoice, "pay_Failed00000001", 10000)),
        razorpay.deliver(payment_failed(invoice, "pay_Failed00000001", 10000)),
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


# -------------------------------------------------------------------------- overdue and suspension
def _overdue(repository, invoice, *, suspended: bool):
    later = NOW + timedelta(days=invoice.payment_terms_days + 10)
    overdue = repository.save(invoice, invoice.mark_overdue(later.date(), later))
    if suspended:
        overdue = repository.save(overdue, overdue.request_suspension(later))
    return overdue


def test_paying_a_suspended_accounts_invoice_requests_restoration(razorpay, issue, repository, published):
    invoice = _overdue(repository, issue(), suspended=True)

    answer = razorpay.deliver(payment_captured(invoice, "pay_Restore0000001", invoice.amount))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    summary = repository.summary(invoice.account_id)
    assert (summary.total_overdue, summary.count_overdue, summary.count_paid) == (0, 0, 1)
    assert event_types(published) == ["InvoicePaid", "ServiceRestorationRequested"]
    restoration = published()[1][1]
    assert (restoration["invoice_id"], restoration["status"]) == (invoice.id, "paid")


def test_paying_an_overdue_invoice_without_suspension_requests_no_restoration(
    razorpay, issue, repository, published
):
    invoice = _overdue(repository, issue(), suspended=False)

    razorpay.deliver(payment_captured(invoice, "pay_NoSuspend000001", invoice.amount))

    assert repository.get(invoice.id).status is InvoiceStatus.PAID
    assert event_types(published) == ["InvoicePaid"]


def test_a_partial_payment_keeps_an_overdue_invoice_overdue(razorpay, issue, repository, published):
    invoice = _overdue(repository, issue(partial_payment=True), suspended=True)

    razorpay.deliver(payment_captured(invoice, "pay_OverduePart001", 20000))

    stored = repository.get(invoice.id)
    assert (stored.status, stored.amount_paid) == (InvoiceStatus.OVERDUE, 20000)
    summary = repository.summary(invoice.account_id)
    assert (summary.total_overdue, summary.total_paid) == (invoice.amount - 20000, 20000)
    assert event_types(published) == ["InvoicePartiallyPaid"]


# ---------------------------------------------------------------------------------- the call budget
def test_a_new_payment_costs_the_idempotency_calls_one_transaction_and_two_reads(razorpay, issue, aws_calls):
    invoice, warm_up = issue(), issue()
    razorpay.deliver(invoice_expired(warm_up))  # secrets fetched, clients built
    aws_calls.clear()

    razorpay.deliver(payment_captured(invoice, "pay_Budget00000001", invoice.amount))

    assert aws_calls.of("dynamodb") == [
        "PutItem",  # idempotency record, in progress
        "GetItem",  # Razorpay invoice id -> our invoice id (pointer)
        "GetItem",  # the invoice
        "TransactWriteItems",  # invoice + summary, conditional on status and version
        "UpdateItem",  # idempotency record, completed
    ]


def test_with_our_invoice_id_in_the_notes_the_pointer_read_is_skipped(razorpay, issue, aws_calls):
    invoice, warm_up = issue(), issue()
    razorpay.deliver(invoice_expired(warm_up))
    aws_calls.clear()

    razorpay.deliver(invoice_paid(invoice, "pay_Budget00000002", invoice.amount))

    assert aws_calls.of("dynamodb") == ["PutItem", "GetItem", "TransactWriteItems", "UpdateItem"]


def _month_of(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m")
