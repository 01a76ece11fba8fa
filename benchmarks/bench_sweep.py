"""The daily sweep reads only what is due: read amplification and time per 1,000 due invoices.

- ``sweep.read_amplification``: invoice items DynamoDB returns to the sweep (from the index Query,
  ``BatchGetItem`` or ``GetItem``; the keys-only index's own answers are keys, not invoices) ÷
  invoices due, with 100,000 invoices of which 1,000 are due today. Goal ≤ 1.05.
- ``sweep.ms_per_1000_due``: wall time of the whole day's sweep (the scheduled run, which handles
  500 and fans the rest out, plus the fanned-out SQS work, run in-process) per 1,000 due invoices.
- ``sweep.index_queries``: the Queries that took (16 shards, plus fanned-out resumptions);
  ``sweep.query_time_share``: the part of the time spent in them — moto evaluates every Query
  against the whole table, so this share is the emulator's, not DynamoDB's.

Seeding. Writing 100,000 invoices through the service would take moto most of an hour (its
``TransactWriteItems`` deep-copies the table), so each item is built by the repository's own
mapping (``records.invoice_to_item`` + ``records.serialize``) and stored straight into moto's
DynamoDB backend (see ``_seed``). The items come from six template invoices made by the domain's
own transitions: issued and not yet due, overdue with the next reminder still ahead, overdue and
disputed, paid; and the two kinds due today: overdue on reminder day 3, and overdue on day 7
(reminder 7 + the grace period's suspension request). Each copy gets its own id and invoice number
and, for open ones, its own due date (spread over 60 days), so it lands in its own shard and index
position exactly as a real invoice would: the index sees only ``sweep_pk``/``sweep_sk``, derived
from the id and the dates by the code that writes real invoices. That is why a handful of templates
is representative: what the sweep reads depends on those keys alone, not on the invoices' contents.
The population: 69 % paid (never in the index), 25 % issued and due later, 5 % overdue with nothing
due today (half of them disputed), 1 % due today.

What the timing is. Due invoices here are on reminder days; each reminder commits the invoice with
its outbox message (the e-mail) in one ``TransactWriteItems``, timed with moto's costs that
DynamoDB does not have switched off (``infra.moto_speed``: the rollback copies only the items a
transaction names, a Query reads only its candidates, items are built with one size sum). moto
still evaluates each index Query against every item (see ``sweep.query_time_share``), so the
figure is an upper bound dominated by the emulator: a tripwire for regressions in our own path
(reads per due invoice, writes, SES and EventBridge calls), not a forecast.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks import support

TOTAL = 100_000
DUE = 1_000
TODAY = date(2027, 1, 20)
NOW = datetime(2027, 1, 20, 0, 30, tzinfo=UTC)  # 06:00 IST
ISSUED_AT = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
LINES = 1  # line items per invoice (the demo catalogue's GPU pod): the index does not see them


def _templates() -> dict[str, Any]:
    """One invoice per kind, built through the domain's transitions (valid by construction)."""
    from infra.demo import DEMO_SUPPLIER, draft_fields
    from invoicing.domain.invoice import Dispute, Invoice, Payment

    def issued(due: date) -> Invoice:
        draft = Invoice.create_draft(
            account_id="acc_bench",
            supplier=DEMO_SUPPLIER,
            now=ISSUED_AT,
            **draft_fields(date(2026, 10, 1), lines=LINES),
        )
        invoice = draft.issue(
            invoice_number="INV/2627/000001",
            today=due - timedelta(days=15),
            now=ISSUED_AT,
            payment_url="https://rzp.io/i/bench",
            razorpay_invoice_id="inv_RzpBench00001",
        )
        return invoice.model_copy(update={"due_date": due})

    def overdue(due: date) -> Invoice:
        return issued(due).mark_overdue(due + timedelta(days=1), ISSUED_AT)

    open_issued = issued(TODAY + timedelta(days=10))
    paid = open_issued.apply_payment(
        Payment(id="pay_bench", amount=open_issued.amount, method="upi", paid_at=ISSUED_AT), ISSUED_AT
    )
    late = overdue(TODAY - timedelta(days=2))
    disputed = late.open_dispute(
        Dispute(id="dsp_bench", invoice_id=late.id, reason="Usage looks doubled.", created_at=ISSUED_AT),
        ISSUED_AT,
    )
    on_day_3 = overdue(TODAY - timedelta(days=3))
    on_day_7 = overdue(TODAY - timedelta(days=7)).record_reminder(3, ISSUED_AT)
    return {
        "paid": paid,
        "issued": open_issued,
        "overdue_later": late,
        "disputed": disputed,
        "due_day_3": on_day_3,
        "due_day_7": on_day_7,
    }


def _population(n: int) -> tuple[str, int]:
    """(template, days to shift the dates) for invoice ``n``: 1 % due today, the rest not."""
    if n % 100 == 0:
        return ("due_day_3" if n % 200 == 0 else "due_day_7"), 0
    bucket = n % 20
    if bucket < 14:
        return "paid", -(n % 60)
    if bucket < 19:
        return "issued", n % 60  # due 10 to 70 days from today
    return ("overdue_later" if n % 2 else "disputed"), 0


def _seed(table: str) -> int:
    """Store the population in moto; returns how many invoices are due today.

    Each item is ``records.serialize(records.invoice_to_item(invoice))`` — exactly what the
    repository writes — handed to moto's DynamoDB backend ``put_item``, the call its
    ``BatchWriteItem`` ends in. Going through the API instead costs ~3 ms an item in botocore's and
    moto's request (de)serialisation (5 minutes for 100,000), none of it our code's. Only the
    top-level attributes that differ from the template's are re-serialised.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from invoicing.repository import records

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]]
    due = 0
    templates = _templates()
    plain = {kind: records.invoice_to_item(t) for kind, t in templates.items()}
    typed = {kind: records.serialize(item) for kind, item in plain.items()}
    for n in range(TOTAL):
        kind, shift = _population(n)
        template = templates[kind]
        due += kind.startswith("due_")
        updates: dict[str, Any] = {"id": f"inv_b{n:013d}", "invoice_number": f"INV/2627/{n + 1:06d}"}
        if shift:
            updates["due_date"] = template.due_date + timedelta(days=shift)
        item = records.invoice_to_item(template.model_copy(update=updates))
        changed = {k: v for k, v in item.items() if plain[kind].get(k) != v}
        stale = plain[kind].keys() - item.keys()  # e.g. sweep keys of an item that left the index
        backend.put_item(
            table, {k: v for k, v in typed[kind].items() if k not in stale} | records.serialize(changed)
        )
    return due


def run() -> dict[str, float]:
    from infra import moto_speed

    # moto_speed: the sweep's commits carry their outbox message, so they are transactions,
    # and moto's own rollback copies the whole 100,000-item table for each (minutes and gigabytes).
    moto_speed.install()
    with support.aws_stack() as env:
        import boto3

        from invoicing.adapters.sweep_queue import SqsSweepQueue
        from invoicing.repository.commit import DynamoTransactions
        from invoicing.repository.invoices import DynamoInvoiceStore
        from invoicing.repository.table import Table
        from invoicing.services.sweep import OverdueSweep
        from invoicing.wiring import common

        class TimedStore(DynamoInvoiceStore):
            queries, seconds = 0, 0.0

            def due_for_sweep(self, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return super().due_for_sweep(*args, **kwargs)
                finally:
                    TimedStore.queries += 1
                    TimedStore.seconds += time.perf_counter() - started

        dynamodb = boto3.client("dynamodb")
        due = _seed(env["INVOICES_TABLE"])
        assert due == DUE, due

        items_read = {"n": 0}

        def count_items(parsed: dict[str, Any], **_: Any) -> None:
            # Invoice items only: the keys-only SweepIndex answers keys, which the sweep then reads.
            found = [*parsed.get("Items", []), *([parsed["Item"]] if "Item" in parsed else [])]
            found += [item for items in parsed.get("Responses", {}).values() for item in items]
            items_read["n"] += sum(1 for item in found if "entity" in item)

        for operation in ("Query", "GetItem", "BatchGetItem"):
            dynamodb.meta.events.register(f"after-call.dynamodb.{operation}", count_items)

        sqs = boto3.client("sqs")
        table = Table(env["INVOICES_TABLE"], dynamodb)
        adapters = {
            "invoices": TimedStore(table),
            "transactions": DynamoTransactions(table),
            "queue": SqsSweepQueue(env["SWEEP_QUEUE_URL"], sqs),
            "metrics": common.counter(),
            "fanout_threshold": int(env["SWEEP_FANOUT_THRESHOLD"]),
        }

        started = time.perf_counter()
        handled = OverdueSweep(**adapters).run(NOW).read
        while True:  # the fanned-out work, ten messages to an "invocation" like Lambda's SQS batches
            messages = sqs.receive_message(QueueUrl=env["SWEEP_QUEUE_URL"], MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                break
            invocation = OverdueSweep(**adapters)
            for message in messages:
                invocation.process(message["Body"])
                sqs.delete_message(QueueUrl=env["SWEEP_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
            handled += invocation.report.read
        elapsed = time.perf_counter() - started
        read, queries, in_queries = items_read["n"], TimedStore.queries, TimedStore.seconds

        again = OverdueSweep(**adapters).run(NOW)  # the same day again: nothing left to do
        assert again.read == 0 and again.fanned_out == 0, json.dumps(again.as_dict())
        assert handled == DUE, handled
        return {
            "sweep.read_amplification": round(read / DUE, 3),
            "sweep.ms_per_1000_due": round(elapsed * 1000 / DUE * 1000, 1),
            "sweep.index_queries": queries,
            "sweep.query_time_share": round(in_queries / elapsed, 2),
        }
