"""E-invoicing figures.

- ``einvoice.payload_ms.500_lines``: building (and checking) the INV-01 payload of a 500-line
  billing-run invoice, median of 20 runs, plus its JSON text.
- ``einvoice.dynamodb_calls.per_registration``: DynamoDB calls one registration makes in the
  registrar (goal 2: the document's ``GetItem`` and one ``TransactWriteItems`` with the new state and
  its outbox message), counted under moto with the IRP stand-in behind the real GSP adapter.
- ``einvoice.dynamodb_calls.per_retry``: the same for a transient failure (the retrying state and the
  delayed next job commit together: also 2).
- ``einvoice.dynamodb_calls.per_credit_note``: the same for a credit note registered as a CRN (the
  note's ``GetItem``, and its next version with the outbox message in one transaction: 2).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from benchmarks import support


def _payload_ms() -> float:
    from invoicing.domain.einvoice_payload import build_payload, from_invoice, payload_json
    from tests.unit.einvoice_factories import INTRA_BUYER_GSTIN, issued, lines

    rates = [f"{(i * 7919) % 100000 / 1000:.3f}" for i in range(1, 501)]
    invoice = issued(gstin=INTRA_BUYER_GSTIN, line_items=lines(rates, quantity="3.5"))
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        payload_json(build_payload(from_invoice(invoice)))
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def _registration_calls() -> tuple[int, int, int]:
    with support.aws_stack() as env:
        import boto3

        from invoicing.domain.changes import SaveInvoice
        from invoicing.domain.credit_notes import SaveCreditNote
        from invoicing.repository.commit import DynamoTransactions
        from invoicing.repository.credit_notes import DynamoCreditNoteStore
        from invoicing.repository.invoices import DynamoInvoiceStore
        from invoicing.repository.table import Table
        from invoicing.services.einvoicing import EInvoicePolicy, EInvoiceRegistrar
        from invoicing.services.retry import NO_WAIT
        from tests.fakes.einvoice import RecordingEInvoiceJobs
        from tests.support.irp import gsp_client, irp_standin_responses
        from tests.unit.einvoice_factories import INTER_BUYER_GSTIN, credit_note_of, issued

        table = Table(env["INVOICES_TABLE"], boto3.client("dynamodb"))
        store, transactions = DynamoInvoiceStore(table), DynamoTransactions(table)
        now = datetime(2026, 10, 1, 7, 0, tzinfo=UTC)
        registrar = EInvoiceRegistrar(
            invoices=store,
            credit_notes=DynamoCreditNoteStore(table),
            transactions=transactions,
            irp=gsp_client(),
            jobs=RecordingEInvoiceJobs(),
            policy=EInvoicePolicy(mode="sandbox", retry_base_seconds=1, retry_cap_seconds=1),
            clock=lambda: now,
            backoff=NO_WAIT,
        )

        def put(invoice_id: str, number: str) -> None:
            invoice = issued(gstin=INTER_BUYER_GSTIN, invoice_id=invoice_id, number=number)
            draft = invoice.model_copy(update={"version": 1})
            transactions.commit([SaveInvoice(None, draft)])

        def put_note(invoice_id: str) -> str:
            note = credit_note_of(store.get(invoice_id), [1_000], note_id="cn_bench0000000001")
            transactions.commit([SaveCreditNote(note)])
            return note.id

        def calls_of(action) -> int:  # type: ignore[no-untyped-def]
            before = support.dynamodb_calls()
            action()
            return support.dynamodb_calls() - before

        with irp_standin_responses() as standin:
            put("inv_bench0000000001", "INV/2627/000001")
            per_registration = calls_of(lambda: registrar.register("invoice", "inv_bench0000000001", 0))
            put("inv_bench0000000002", "INV/2627/000002")
            standin.fail_next("transient")
            per_retry = calls_of(lambda: registrar.register("invoice", "inv_bench0000000002", 0))
            note_id = put_note("inv_bench0000000001")
            per_note = calls_of(lambda: registrar.register("credit_note", note_id, 0))
        return per_registration, per_retry, per_note


def run() -> dict[str, float]:
    per_registration, per_retry, per_note = _registration_calls()
    return {
        "einvoice.payload_ms.500_lines": _payload_ms(),
        "einvoice.dynamodb_calls.per_registration": per_registration,
        "einvoice.dynamodb_calls.per_retry": per_retry,
        "einvoice.dynamodb_calls.per_credit_note": per_note,
    }
