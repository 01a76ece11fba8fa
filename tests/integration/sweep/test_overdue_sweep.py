"""The daily overdue sweep end to end under moto: handler → service → DynamoDB, SES, EventBridge, SQS.

Here: the scheduled event and the SQS work event at the handler, its answer, an e-mail really sent
through SES and an event through EventBridge, what the sweep reads and writes in DynamoDB (``aws_calls``),
fan-out over SweepQueue, a poisoned message, the metrics. Which invoices are reminded, suspended or
expired on which day (disputes, payments, missed days, expiry) is tested over the fakes in
tests/services/test_sweep.py."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pydantic import ValidationError

from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.numbering import IST
from invoicing.domain.summary import AccountSummary
from invoicing.repository import records
from tests.integration.sweep.conftest import DUE, PAYMENT_URL, SweepStack, day, six_am_ist

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


# ---------------------------------------------------------------------------- a repeated run


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
