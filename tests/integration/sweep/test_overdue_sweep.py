"""The daily overdue sweep end to end under moto: handler → service → DynamoDB, SES, EventBridge, SQS."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.numbering import IST
from invoicing.domain.summary import AccountSummary
from invoicing.repository import records
from tests.integration.sweep.conftest import DUE, PAYMENT_URL, SweepStack, day, six_am_ist
from tests.unit.factories import NOW, dispute

NOTHING = {
    "read": 0,
    "overdue": 0,
    "reminders_sent": 0,
    "reminders_skipped": 0,
    "suspensions_requested": 0,
    "expired": 0,
    "unchanged": 0,
    "conflicts": 0,
    "deferred": 0,
    "fanned_out": 0,
    "shards_done": records.SWEEP_SHARDS,
}


def writes(aws_calls) -> int:
    return aws_calls.count("PutItem") + aws_calls.count("TransactWriteItems") + aws_calls.count("UpdateItem")


def overdue_summary(invoice: Invoice) -> AccountSummary:
    return AccountSummary(total_overdue=invoice.amount_due, count_overdue=1)


# ------------------------------------------------------------------------------ due dates


def test_an_invoice_on_its_due_date_is_left_alone(stack: SweepStack, aws_calls):
    # Given an invoice due today
    invoice = stack.issue()
    aws_calls.clear()

    # When the sweep runs on the due date
    report = stack.sweep(DUE)

    # Then nothing is read, written, sent or published
    assert report == NOTHING
    assert aws_calls.count("Query") == records.SWEEP_SHARDS
    assert writes(aws_calls) == 0 and aws_calls.count("GetItem") == 0
    assert stack.get(invoice.id) == invoice
    assert stack.emails() == [] and stack.events() == []


def test_an_invoice_due_yesterday_becomes_overdue_with_one_email_and_one_event(stack: SweepStack):
    # Given an issued invoice due yesterday
    invoice = stack.issue()
    assert stack.summary() == AccountSummary(total_pending=invoice.amount_due, count_pending=1)

    # When the sweep runs
    report = stack.sweep(day(1))

    # Then it is overdue and the account's totals moved from pending to overdue
    stored = stack.get(invoice.id)
    assert stored.status is InvoiceStatus.OVERDUE and stored.version == invoice.version + 1
    assert stack.summary() == overdue_summary(invoice)
    assert report == NOTHING | {"read": 1, "overdue": 1, "reminders_sent": 1}

    # And the customer got one e-mail naming the number, the ₹ amount due, the due date and the link
    [email] = stack.emails()
    assert email["from"] == stack.env["SES_SENDER"]
    assert email["to"] == [invoice.customer.email]
    assert email["subject"] == "Invoice INV/2627/000001 is overdue: ₹2,18,966.70 due"
    for part in (email["text"], email["html"]):
        assert "INV/2627/000001" in part
        assert "₹2,18,966.70" in part
        assert "16 Oct 2026" in part
        assert PAYMENT_URL in part
    assert f'href="{PAYMENT_URL}"' in email["html"]

    # And InvoiceOverdue was published once, with the documented detail
    events = stack.events()
    assert events == [
        (
            "InvoiceOverdue",
            {
                "invoice_id": invoice.id,
                "account_id": "acc_1",
                "invoice_number": "INV/2627/000001",
                "status": "overdue",
                "amount_due": invoice.amount_due,
                "version": stored.version,
                "event_id": events[0][1]["event_id"],
            },
        )
    ]

    # And the overdue version's PDF (it prints the status) waits for its first download: going
    # overdue is not one of the versions rendered ahead (Invoice.renders_ahead)
    assert stack.render_jobs() == []


def test_a_partially_paid_invoice_past_due_becomes_overdue_for_what_is_left(stack: SweepStack):
    invoice = stack.issue(partial_payment=True)
    stack.pay(invoice.id, amount=100_000_00)

    stack.sweep(day(1))

    stored = stack.get(invoice.id)
    assert stored.status is InvoiceStatus.OVERDUE
    assert stack.summary() == AccountSummary(
        total_paid=100_000_00, total_overdue=stored.amount_due, count_overdue=1
    )
    [email] = stack.emails()
    assert "₹1,18,966.70" in email["text"] and "₹1,18,966.70" in email["html"]


# ------------------------------------------------------------------------------ reminders


def test_reminders_go_out_on_days_3_and_7_once_each_and_suspension_once(stack: SweepStack):
    # Given an unpaid invoice and a sweep every day (twice a day: a retried run) for two weeks
    invoice = stack.issue()
    sent_on: dict[int, int] = {}
    for n in range(0, 15):
        before = len(stack.emails())
        stack.sweep(day(n))
        stack.sweep(day(n), source="aws.events", event_id="redelivered")
        sent_on[n] = len(stack.emails()) - before

    # Then the overdue notice on day 1 and reminders on days 3 and 7, each exactly once
    assert {n: count for n, count in sent_on.items() if count} == {1: 1, 3: 1, 7: 1}
    subjects = [email["subject"] for email in stack.emails()]
    assert subjects == [
        "Invoice INV/2627/000001 is overdue: ₹2,18,966.70 due",
        "Reminder: invoice INV/2627/000001 is 3 days overdue (₹2,18,966.70 due)",
        "Reminder: invoice INV/2627/000001 is 7 days overdue (₹2,18,966.70 due)",
    ]
    # And one InvoiceOverdue, then one ServiceSuspensionRequested when the grace period (7 days) ended
    assert sorted(stack.event_types()) == ["InvoiceOverdue", "ServiceSuspensionRequested"]
    stored = stack.get(invoice.id)
    assert stored.reminders_sent == (3, 7)
    assert stored.suspension_requested_at == six_am_ist(day(7))
    # And with nothing left to do, the invoice left the sweep's index
    assert stored.next_sweep_on is None


def test_a_second_run_the_same_day_sends_and_changes_nothing(stack: SweepStack, aws_calls):
    invoice = stack.issue()
    stack.sweep(day(1))
    after_first = stack.get(invoice.id)
    aws_calls.clear()

    report = stack.sweep(day(1), source="aws.events")

    assert report == NOTHING
    assert writes(aws_calls) == 0
    assert stack.get(invoice.id) == after_first
    assert len(stack.emails()) == 1
    assert stack.event_types() == ["InvoiceOverdue"]
    assert stack.summary() == overdue_summary(invoice)


def test_after_missed_days_the_sweep_catches_up_with_one_email_not_a_burst(stack: SweepStack):
    # Given an invoice the sweep last saw on day 1, and no sweep on days 2-9
    invoice = stack.issue()
    stack.sweep(day(1))

    # When it runs again on day 10
    report = stack.sweep(day(10))

    # Then reminders 3 and 7 are both recorded, but one e-mail (the latest) is sent, and suspension
    # is requested once
    stored = stack.get(invoice.id)
    assert stored.reminders_sent == (3, 7) and stored.suspension_requested_at is not None
    assert report["reminders_sent"] == 1 and report["reminders_skipped"] == 1
    assert report["suspensions_requested"] == 1
    assert [e["subject"] for e in stack.emails()][1:] == [
        "Reminder: invoice INV/2627/000001 is 10 days overdue (₹2,18,966.70 due)"
    ]
    assert sorted(stack.event_types()) == ["InvoiceOverdue", "ServiceSuspensionRequested"]


def test_an_invoice_first_seen_long_past_due_gets_one_email_with_every_step(stack: SweepStack):
    invoice = stack.issue()

    report = stack.sweep(day(9))

    stored = stack.get(invoice.id)
    assert stored.status is InvoiceStatus.OVERDUE and stored.reminders_sent == (3, 7)
    assert report == NOTHING | {
        "read": 1,
        "overdue": 1,
        "reminders_sent": 1,
        "reminders_skipped": 1,
        "suspensions_requested": 1,
    }
    [email] = stack.emails()
    assert email["subject"].startswith("Reminder: invoice INV/2627/000001 is 9 days overdue")
    assert "suspended until it is paid" in email["text"]
    assert sorted(stack.event_types()) == ["InvoiceOverdue", "ServiceSuspensionRequested"]
    assert stack.summary() == overdue_summary(invoice)


# ------------------------------------------------------------------------ disputes, payments


def test_an_open_dispute_pauses_reminders_and_suspension(stack: SweepStack):
    # Given an invoice disputed before it fell due
    invoice = stack.issue()
    disputed = stack.repository.save(invoice, invoice.open_dispute(dispute(invoice_id=invoice.id), NOW))

    # When the sweep runs every day for two weeks
    reports = [stack.sweep(day(n)) for n in range(1, 15)]

    # Then it becomes overdue (and the event says so), but no e-mail and no suspension follow
    stored = stack.get(invoice.id)
    assert stored.status is InvoiceStatus.OVERDUE and stored.version == disputed.version + 1
    assert stored.reminders_sent == () and stored.suspension_requested_at is None
    assert stack.emails() == []
    assert stack.event_types() == ["InvoiceOverdue"]
    # And after day 1 the disputed invoice is not even read
    assert [r["read"] for r in reports] == [1] + [0] * 13


def test_a_paid_invoice_leaves_the_index_and_gets_nothing_further(stack: SweepStack, aws_calls):
    invoice = stack.issue()
    stack.sweep(day(1))
    assert len(stack.emails()) == 1  # sent before the payment (a reminder dispatched later is dropped)
    stack.pay(invoice.id)
    aws_calls.clear()

    reports = [stack.sweep(day(n)) for n in range(2, 12)]

    assert all(report == NOTHING for report in reports)
    assert writes(aws_calls) == 0 and aws_calls.count("GetItem") == 0
    assert stack.get(invoice.id).status is InvoiceStatus.PAID
    assert len(stack.emails()) == 1
    assert stack.event_types() == ["InvoiceOverdue"]
    assert stack.summary() == AccountSummary(total_paid=invoice.amount, count_paid=1)


# ---------------------------------------------------------------------------------- expiry


def test_an_overdue_invoice_past_expire_by_expires(stack: SweepStack):
    # Given an invoice that may be paid until 20 Oct 2026, noon IST, overdue since day 1
    expire_by = datetime(2026, 10, 20, 12, 0, tzinfo=IST)
    invoice = stack.issue(expire_by=expire_by)
    stack.sweep(day(1))
    assert len(stack.emails()) == 1

    # When the sweep runs the next morning after expire_by (day 5)
    report = stack.sweep(day(5))

    # Then it is expired and nothing else happens (no reminder for day 3, no suspension)
    stored = stack.get(invoice.id)
    assert stored.status is InvoiceStatus.EXPIRED and stored.expired_at == six_am_ist(day(5))
    assert stored.payment_url is None
    assert report == NOTHING | {"read": 1, "expired": 1}
    assert stack.event_types() == ["InvoiceOverdue", "InvoiceExpired"]
    assert len(stack.emails()) == 1
    assert stack.summary() == AccountSummary()
    # And it never comes back
    assert stack.sweep(day(6)) == NOTHING


def test_a_pending_invoice_past_expire_by_expires_before_it_is_due(stack: SweepStack):
    invoice = stack.issue(expire_by=datetime(2026, 10, 10, 18, 0, tzinfo=IST))

    report = stack.sweep(DUE - timedelta(days=5))

    assert stack.get(invoice.id).status is InvoiceStatus.EXPIRED
    assert report["expired"] == 1
    assert stack.event_types() == ["InvoiceExpired"]
    assert stack.emails() == []
    assert stack.summary() == AccountSummary()


# ------------------------------------------------------------------------------- reads only


def test_the_sweep_reads_only_what_is_due(stack: SweepStack, aws_calls):
    # Given 3 invoices due yesterday, 6 due in two weeks and 3 paid ones
    due = [stack.issue() for _ in range(3)]
    later = [stack.issue(payment_terms_days=30) for _ in range(6)]
    for invoice in [stack.issue() for _ in range(3)]:
        stack.pay(invoice.id)
    aws_calls.clear()

    report = stack.sweep(day(1))

    # Then one Query per shard (one page each), no GetItem, one write per due invoice only
    assert report["read"] == 3 and report["overdue"] == 3
    assert aws_calls.count("Query") == records.SWEEP_SHARDS
    assert aws_calls.count("GetItem") == 0
    assert aws_calls.count("TransactWriteItems") == 3 and aws_calls.count("PutItem") == 0
    assert {i.id for i in due} == {e["invoice_id"] for t, e in stack.events() if t == "InvoiceOverdue"}
    assert all(stack.get(i.id).status is InvoiceStatus.ISSUED for i in later)


def ids_in_shard(shard: int, count: int) -> list[str]:
    found, n = [], 0
    while len(found) < count:
        candidate = f"inv_fanout{shard:02d}{n:06d}"
        if records.sweep_shard(candidate) == shard:
            found.append(candidate)
        n += 1
    return found


# -------------------------------------------------------------------------------- fan-out


def test_a_due_set_over_the_threshold_fans_out_through_the_sweep_queue(stack: SweepStack, monkeypatch):
    # Given 5 due invoices in shard 3 and 2 in shard 9, and a threshold of 2 per invocation
    stack.configure(monkeypatch, SWEEP_FANOUT_THRESHOLD="2")
    ids = ids_in_shard(3, 5) + ids_in_shard(9, 2)
    for invoice_id in ids:
        stack.issue(invoice_id=invoice_id)

    # When the scheduled run fires
    report = stack.sweep(day(1))

    # Then it handles 2 itself and queues the rest: shard 3 from where it stopped, shards 4-15 whole
    assert report["read"] == 2 and report["overdue"] == 2
    work = stack.queued_work()
    assert report["fanned_out"] == len(work) == 13
    by_shard = {w["shard"]: w for w in work}
    assert sorted(by_shard) == list(range(3, 16))
    assert by_shard[3]["start_key"]["sweep_pk"] == records.sweep_partition(3)
    assert all(by_shard[s]["start_key"] is None for s in range(4, 16))
    assert {w["through"] for w in work} == {day(1).isoformat()}
    assert {datetime.fromisoformat(w["now"]) for w in work} == {six_am_ist(day(1))}

    # When the queue is processed through the function's SQS event
    done = stack.drain_sweep_queue()

    # Then every due invoice is overdue exactly once, one e-mail and one event each
    assert len(done) >= len(work)  # a work item over the threshold queues its own continuation
    assert all(stack.get(i).status is InvoiceStatus.OVERDUE for i in ids)
    assert sorted(e["invoice_id"] for t, e in stack.events() if t == "InvoiceOverdue") == sorted(ids)
    assert len(stack.emails()) == len(ids)
    summary = stack.summary()
    assert summary.count_overdue == len(ids) and summary.count_pending == 0


def test_a_poisoned_work_message_is_reported_as_a_batch_item_failure(stack: SweepStack):
    invoice = stack.issue()
    good = {
        "kind": "sweep-shard",
        "shard": records.sweep_shard(invoice.id),
        "through": day(1).isoformat(),
        "now": six_am_ist(day(1)).isoformat(),
        "start_key": None,
    }
    event = stack.sqs_event(
        [json.dumps(good), "{not json", json.dumps(good | {"shard": records.SWEEP_SHARDS})]
    )

    stack.clock.set(six_am_ist(day(1)))  # the queue delivers the run's work as it runs
    response = stack.invoke(event)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-2"}]}
    assert stack.get(invoice.id).status is InvoiceStatus.OVERDUE
    assert len(stack.emails()) == 1


def test_the_handler_refuses_an_event_it_does_not_know(stack: SweepStack):
    with pytest.raises(ValidationError):
        stack.invoke({"time": "2026-10-17T00:30:00Z"})


def test_the_run_counts_each_business_event_as_a_metric(stack: SweepStack, capsys):
    stack.issue()
    stack.issue(expire_by=datetime(2026, 10, 12, 9, 0, tzinfo=IST))
    capsys.readouterr()

    stack.sweep(day(1))

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # The function's first invocation in this process also flushes Powertools' own ColdStart blob.
    [emf] = [blob for blob in blobs if "ColdStart" not in blob]
    assert {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "InvoiceOverdue",
        "InvoiceExpired",
    }  # ReminderSent is counted by the outbox dispatcher, when the e-mail goes
    assert [sum(emf[name]) for name in ("InvoiceOverdue", "InvoiceExpired")] == [1, 1]
