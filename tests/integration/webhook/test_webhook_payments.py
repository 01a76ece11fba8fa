"""Payments and expiry take effect exactly once, in any order; what cannot apply is kept for review.

Every test asserts the stored invoice (and summary, events, render jobs), not only the answer.
"""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from invoicing.domain.changes import LinkProvider
from invoicing.domain.invoice import InvoiceStatus
from tests.integration.webhook.payloads import (
    EVENT_CREATED_AT,
    invoice_expired,
    invoice_paid,
    payment_captured,
    payment_failed,
    sample,
)
from tests.unit.factories import NOW, draft

PROCESSED, DUPLICATE, IGNORED = ({"status": s} for s in ("processed", "duplicate", "ignored"))
MONTH = NOW.strftime("%Y-%m")


def answers(*deliveries) -> list[dict]:
    return [d.body for d in deliveries]


def event_types(published) -> list[str]:
    return [detail_type for detail_type, _ in published()]


# ------------------------------------------------------------------------------------ the happy path
def test_a_captured_payment_pays_the_invoice_once(webhooks, issue, repository, published, render_jobs):
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


@pytest.mark.parametrize("method", ["upi", "card", "netbanking", "wallet", "emi", "cardless_emi", "paylater"])
def test_the_payment_method_is_recorded_as_razorpay_names_it(webhooks, issue, repository, method):
    invoice = issue()

    webhooks.deliver(invoice_paid(invoice, "pay_Method00000001", invoice.amount, method=method))

    assert [p.method for p in repository.get(invoice.id).payments] == [method]


def test_the_same_event_twice_answers_duplicate_and_changes_nothing(
    webhooks, issue, repository, published, render_jobs, idempotency_records
):
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
    assert idempotency_records(first.event_id)["status"]["S"] == "COMPLETED"


def test_a_replay_after_the_idempotency_record_expired_still_changes_nothing(
    webhooks, issue, repository, resources, idempotency_records
):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Replay00000001", invoice.amount)
    first = webhooks.deliver(document)
    after_first = repository.get(invoice.id)
    # The record has expired (TTL deletion lags, so it may still be there, just out of date).
    record = idempotency_records(first.event_id)
    boto3.client("dynamodb").update_item(
        TableName=resources["IDEMPOTENCY_TABLE"],
        Key={"id": record["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )

    replay = webhooks.deliver(document, event_id=first.event_id)

    assert answers(first, replay) == [PROCESSED, DUPLICATE]
    assert repository.get(invoice.id) == after_first


@pytest.mark.parametrize("captured_first", [True, False], ids=["captured-then-paid", "paid-then-captured"])
def test_one_payment_through_two_event_types_is_recorded_once(
    webhooks, issue, repository, published, captured_first
):
    invoice = issue()
    captured = payment_captured(invoice, "pay_TwoTypes000001", invoice.amount)
    paid = invoice_paid(invoice, "pay_TwoTypes000001", invoice.amount)
    first, second = (captured, paid) if captured_first else (paid, captured)

    results = [webhooks.deliver(first), webhooks.deliver(second)]

    assert answers(*results) == [PROCESSED, DUPLICATE]
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    assert [p.id for p in stored.payments] == ["pay_TwoTypes000001"]
    assert stored.amount_paid == invoice.amount
    assert event_types(published) == ["InvoicePaid"]


def test_an_invoice_is_found_through_razorpays_invoice_id_without_notes(webhooks, issue, repository):
    invoice = issue()

    answer = webhooks.deliver(invoice_paid(invoice, "pay_NoNotes0000001", invoice.amount, with_notes=False))

    assert answer.body == PROCESSED
    assert repository.get(invoice.id).status is InvoiceStatus.PAID


# ------------------------------------------------------------------------------------ partial payments
@pytest.fixture
def partial(issue):
    return issue(partial_payment=True)


def test_partial_payments_add_up_to_paid_with_the_summary_in_step(
    webhooks, partial, repository, published, render_jobs
):
    invoice = partial
    first, rest = 30000, partial.amount - 30000

    results = [
        webhooks.deliver(payment_captured(invoice, "pay_PartA00000001", first, method="upi")),
        webhooks.deliver(invoice_paid(invoice, "pay_PartA00000001", first, partially=True)),
    ]
    halfway = repository.get(invoice.id)
    halfway_summary = repository.summary(invoice.account_id)
    results += [
        webhooks.deliver(payment_captured(invoice, "pay_PartB00000001", rest, method="netbanking")),
        webhooks.deliver(invoice_paid(invoice, "pay_PartB00000001", rest)),
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
    # the part-paid version's PDF waits for its first download; the paid one is rendered ahead
    assert [job["version"] for job in render_jobs()] == [stored.version]


def test_the_amount_paid_is_never_copied_from_the_event(webhooks, partial, repository):
    # invoice.paid says the Razorpay invoice is fully paid, but it carries one partial payment:
    # only that payment counts.
    document = invoice_paid(partial, "pay_OnlyPart000001", 40000)
    document["payload"]["invoice"]["entity"].update(amount_paid=partial.amount, amount_due=0, status="paid")

    answer = webhooks.deliver(document)

    assert answer.body == PROCESSED
    stored = repository.get(partial.id)
    assert stored.status is InvoiceStatus.PARTIALLY_PAID
    assert stored.amount_paid == 40000


def test_invoice_paid_before_the_earlier_partial_payment_ends_paid(webhooks, partial, repository, published):
    first, rest = 30000, partial.amount - 30000

    results = [
        webhooks.deliver(invoice_paid(partial, "pay_LateB00000001", rest)),
        webhooks.deliver(invoice_paid(partial, "pay_LateA00000001", first, partially=True)),
    ]

    assert answers(*results) == [PROCESSED, PROCESSED]
    stored = repository.get(partial.id)
    assert stored.status is InvoiceStatus.PAID
    assert stored.amount_paid == partial.amount
    assert event_types(published) == ["InvoicePartiallyPaid", "InvoicePaid"]


def test_a_late_partially_paid_event_leaves_a_paid_invoice_paid(webhooks, partial, repository, published):
    first, rest = 30000, partial.amount - 30000
    webhooks.deliver(payment_captured(partial, "pay_SeqA000000001", first))
    webhooks.deliver(payment_captured(partial, "pay_SeqB000000001", rest))
    webhooks.deliver(invoice_paid(partial, "pay_SeqB000000001", rest))
    paid = repository.get(partial.id)

    late = webhooks.deliver(invoice_paid(partial, "pay_SeqA000000001", first, partially=True))

    assert late.body == DUPLICATE
    assert paid.status is InvoiceStatus.PAID
    assert repository.get(partial.id) == paid
    assert event_types(published) == ["InvoicePartiallyPaid", "InvoicePaid"]


# ------------------------------------------------------------------------------------------- expiry
def test_invoice_expired_expires_the_invoice(webhooks, issue, repository, published, render_jobs):
    invoice = issue()

    answer = webhooks.deliver(invoice_expired(invoice))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.EXPIRED
    assert stored.expired_at is not None and stored.payment_url is None
    summary = repository.summary(invoice.account_id)
    assert (summary.total_pending, summary.count_pending) == (0, 0)
    assert event_types(published) == ["InvoiceExpired"]
    assert render_jobs() == []  # an expired invoice's PDF is rendered on its first download


def test_a_second_expiry_event_is_a_duplicate(webhooks, issue, repository, published):
    invoice = issue()
    webhooks.deliver(invoice_expired(invoice))
    expired = repository.get(invoice.id)

    again = webhooks.deliver(invoice_expired(invoice, with_notes=False))

    assert again.body == DUPLICATE
    assert repository.get(invoice.id) == expired
    assert event_types(published) == ["InvoiceExpired"]


def test_an_expiry_after_payment_leaves_the_invoice_paid(webhooks, issue, repository, published, reviews):
    invoice = issue()
    webhooks.deliver(payment_captured(invoice, "pay_BeforeExp00001", invoice.amount))
    paid = repository.get(invoice.id)

    late = webhooks.deliver(invoice_expired(invoice))

    assert late.body == IGNORED
    assert repository.get(invoice.id) == paid
    assert event_types(published) == ["InvoicePaid"]
    [item] = reviews.in_month(MONTH)
    assert (item.reason, item.event_id, item.invoice_id) == ("late_expiry", late.event_id, invoice.id)


def test_a_payment_for_an_expired_invoice_is_recorded_and_the_invoice_stays_expired(
    webhooks, issue, repository, reviews
):
    invoice = issue()
    webhooks.deliver(invoice_expired(invoice))
    expired = repository.get(invoice.id)

    answer = webhooks.deliver(payment_captured(invoice, "pay_AfterExp000001", 10000))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.EXPIRED and stored.version == expired.version + 1
    assert [p.id for p in stored.payments] == ["pay_AfterExp000001"]
    assert stored.amount_due == invoice.amount - 10000  # it owes less; nothing to refund
    assert stored.refunds == ()


def test_an_unknown_invoice_is_ignored_and_kept_for_review(webhooks, issue, repository, reviews):
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


def test_a_payment_for_an_invoice_of_ours_that_no_longer_exists_is_refunded_in_full(
    webhooks, issue, reviews, razorpay, effects
):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Ghost000000001", invoice.amount)
    document["payload"]["invoice"]["entity"]["notes"] = {"invoice_id": "inv_doesnotexist00"}

    answer = webhooks.deliver(document)

    assert answer.body == PROCESSED
    assert [i.reason for i in reviews.in_month(MONTH)] == ["unknown_invoice"]
    effects.drain_outbox()
    (refund,) = [call for call in razorpay.calls if call.operation == "refund"]
    assert refund.path == "/v1/payments/pay_Ghost000000001/refund"
    assert refund.body["amount"] == invoice.amount
    assert refund.headers["X-Refund-Idempotency"] == "rfd_Ghost000000001"


def test_a_payment_naming_our_invoice_is_recorded_there_whichever_razorpay_invoice_took_it(
    webhooks, issue, repository, reviews
):
    ours, other = issue(), issue()
    document = invoice_paid(other, "pay_Crossed0000001", ours.amount)
    document["payload"]["invoice"]["entity"]["notes"] = {"invoice_id": ours.id}

    answer = webhooks.deliver(document)

    assert answer.body == PROCESSED  # money is never stranded on a mismatch of provider ids
    assert [p.id for p in repository.get(ours.id).payments] == ["pay_Crossed0000001"]
    assert repository.get(other.id) == other


@pytest.mark.parametrize(
    ("name", "reason"), [("order-paid", "unhandled_event"), ("payment-link-paid", "unknown_link")]
)
def test_an_unhandled_event_type_or_a_link_not_ours_is_ignored_and_kept_for_review(
    webhooks, reviews, name, reason
):
    document = sample(name)

    answer = webhooks.deliver(document)

    assert (answer.status, answer.body) == (200, IGNORED)
    [item] = reviews.in_month(_month_of(document["created_at"]))
    assert (item.reason, item.event_type, item.event_id) == (reason, document["event"], answer.event_id)


def test_a_review_item_is_not_duplicated_by_a_redelivery(webhooks, reviews, resources, idempotency_records):
    document = sample("order-paid")
    first = webhooks.deliver(document)
    boto3.client("dynamodb").delete_item(
        TableName=resources["IDEMPOTENCY_TABLE"], Key={"id": idempotency_records(first.event_id)["id"]}
    )

    again = webhooks.deliver(document, event_id=first.event_id)

    assert answers(first, again) == [IGNORED, DUPLICATE]
    assert len(reviews.in_month(_month_of(document["created_at"]))) == 1


def test_a_handled_event_with_an_unreadable_payload_is_kept_for_review(webhooks, issue, repository, reviews):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Unreadable0001", invoice.amount)
    document["payload"]["payment"]["entity"]["amount"] = "106200.00"

    answer = webhooks.deliver(document)

    assert answer.body == IGNORED
    assert repository.get(invoice.id) == invoice
    [item] = reviews.in_month(MONTH)
    assert item.reason == "unreadable_payload"
    assert "payment.entity.amount" in item.message
    assert "106200" not in item.message


# ----------------------------------------------------------------------------------- mismatches
def test_a_payment_in_another_currency_is_refunded_in_full_without_a_state_change(
    webhooks, issue, repository, reviews, published, razorpay
):
    invoice = issue()

    answer = webhooks.deliver(payment_captured(invoice, "pay_Dollars0000001", invoice.amount, currency="USD"))

    assert (answer.status, answer.body) == (200, PROCESSED)
    assert repository.get(invoice.id) == invoice
    [item] = reviews.in_month(MONTH)
    assert (item.reason, item.currency, item.razorpay_invoice_id) == (
        "currency_mismatch",
        "USD",
        invoice.razorpay_invoice_id,
    )
    published()  # the outbox dispatched: Razorpay was asked for the refund
    assert [call.body["amount"] for call in razorpay.calls if call.operation == "refund"] == [invoice.amount]


def test_an_overpayment_is_recorded_with_a_refund_of_the_excess(webhooks, issue, repository, published):
    invoice = issue(partial_payment=True)

    answer = webhooks.deliver(invoice_paid(invoice, "pay_TooMuch000001", invoice.amount + 500))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID and stored.amount_due == 0
    assert (stored.amount_paid, stored.amount_refunded) == (invoice.amount + 500, 500)
    [refund] = stored.refunds
    assert (refund.payment_id, refund.amount, refund.reason, refund.status) == (
        "pay_TooMuch000001",
        500,
        "overpayment",
        "pending",
    )
    assert repository.summary(invoice.account_id).total_paid == invoice.amount  # net of the refund
    assert "InvoicePaid" in event_types(published)


def test_a_part_payment_of_an_invoice_without_partial_payments_is_recorded(webhooks, issue, repository):
    invoice = issue(partial_payment=False)

    answer = webhooks.deliver(invoice_paid(invoice, "pay_PartOnly000001", invoice.amount - 100))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert (stored.status, stored.amount_due) == (InvoiceStatus.PARTIALLY_PAID, 100)


def test_a_payment_on_a_paid_invoice_is_recorded_and_refunded_in_full(webhooks, issue, repository, reviews):
    invoice = issue()
    webhooks.deliver(invoice_paid(invoice, "pay_First00000001", invoice.amount))

    answer = webhooks.deliver(payment_captured(invoice, "pay_Second0000001", invoice.amount))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    assert [(r.payment_id, r.amount) for r in stored.refunds] == [("pay_Second0000001", invoice.amount)]
    assert stored.amount_paid - stored.amount_refunded == invoice.amount
    assert [i.reason for i in reviews.in_month(MONTH)] == ["payment_refunded"]


def test_a_payment_held_on_a_draft_whose_issue_was_interrupted(webhooks, repository, reviews):
    linked = repository.create(draft())
    linked = repository.save(linked, linked.attach_payment_link("inv_RzpInterrupted1", NOW))
    repository.commit(LinkProvider("inv_RzpInterrupted1", linked.id, linked.account_id))
    document = payment_captured(linked, "pay_Held000000001", linked.amount)

    answer = webhooks.deliver(document)

    assert answer.body == PROCESSED
    stored = repository.get(linked.id)
    assert stored.status is InvoiceStatus.DRAFT and stored.payments == ()
    assert [p.id for p in stored.held_payments] == ["pay_Held000000001"]
    assert [i.reason for i in reviews.in_month(MONTH)] == ["payment_held"]


def test_an_event_created_outside_2000_to_2100_is_ignored(webhooks, issue, repository, reviews):
    invoice = issue()
    document = invoice_paid(invoice, "pay_FarFuture00001", invoice.amount)
    document["created_at"] = 99_999_999_999

    answer = webhooks.deliver(document)

    assert (answer.status, answer.body) == (200, IGNORED)
    assert repository.get(invoice.id) == invoice


def test_a_payment_that_is_not_captured_is_kept_for_review(webhooks, issue, repository, reviews):
    invoice = issue()
    document = invoice_paid(invoice, "pay_Authorized0001", invoice.amount)
    document["payload"]["payment"]["entity"].update(status="authorized", captured=False)

    answer = webhooks.deliver(document)

    assert answer.body == IGNORED
    assert repository.get(invoice.id) == invoice
    assert [i.reason for i in reviews.in_month(MONTH)] == ["payment_not_captured"]


# ------------------------------------------------------------------------------- failed payments
def test_a_failed_payment_is_recorded_without_a_state_change(webhooks, issue, repository, reviews, published):
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


# -------------------------------------------------------------------------- overdue and suspension
def _overdue(repository, invoice, *, suspended: bool):
    later = NOW + timedelta(days=invoice.payment_terms_days + 10)
    overdue = repository.save(invoice, invoice.mark_overdue(later.date(), later))
    if suspended:
        overdue = repository.save(overdue, overdue.request_suspension(later))
    return overdue


def test_paying_a_suspended_accounts_invoice_requests_restoration(webhooks, issue, repository, published):
    invoice = _overdue(repository, issue(), suspended=True)

    answer = webhooks.deliver(payment_captured(invoice, "pay_Restore0000001", invoice.amount))

    assert answer.body == PROCESSED
    stored = repository.get(invoice.id)
    assert stored.status is InvoiceStatus.PAID
    summary = repository.summary(invoice.account_id)
    assert (summary.total_overdue, summary.count_overdue, summary.count_paid) == (0, 0, 1)
    assert event_types(published) == ["InvoicePaid", "ServiceRestorationRequested"]
    restoration = published()[1][1]
    assert (restoration["invoice_id"], restoration["status"]) == (invoice.id, "paid")


def test_paying_an_overdue_invoice_without_suspension_requests_no_restoration(
    webhooks, issue, repository, published
):
    invoice = _overdue(repository, issue(), suspended=False)

    webhooks.deliver(payment_captured(invoice, "pay_NoSuspend000001", invoice.amount))

    assert repository.get(invoice.id).status is InvoiceStatus.PAID
    assert event_types(published) == ["InvoicePaid"]


def test_a_partial_payment_keeps_an_overdue_invoice_overdue(webhooks, issue, repository, published):
    invoice = _overdue(repository, issue(partial_payment=True), suspended=True)

    webhooks.deliver(payment_captured(invoice, "pay_OverduePart001", 20000))

    stored = repository.get(invoice.id)
    assert (stored.status, stored.amount_paid) == (InvoiceStatus.OVERDUE, 20000)
    summary = repository.summary(invoice.account_id)
    assert (summary.total_overdue, summary.total_paid) == (invoice.amount - 20000, 20000)
    assert event_types(published) == ["InvoicePartiallyPaid"]


# ---------------------------------------------------------------------------------- the call budget
def test_a_new_payment_costs_the_idempotency_calls_one_transaction_and_two_reads(webhooks, issue, aws_calls):
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


def test_with_our_invoice_id_in_the_notes_the_pointer_read_is_skipped(webhooks, issue, aws_calls):
    invoice, warm_up = issue(), issue()
    webhooks.deliver(invoice_expired(warm_up))
    aws_calls.clear()

    webhooks.deliver(invoice_paid(invoice, "pay_Budget00000002", invoice.amount))

    assert aws_calls.of("dynamodb") == ["PutItem", "GetItem", "GetItem", "TransactWriteItems", "UpdateItem"]


def _month_of(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m")
