"""The e-invoice state machine: every transition, and every refusal naming the status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invoicing.domain.credit_notes import Credit, registering
from invoicing.domain.einvoice import (
    EInvoice,
    EInvoiceError,
    EInvoiceStatus,
    ErrorKind,
    Registration,
    at_issue,
    backoff_delay,
)
from invoicing.domain.errors import InvalidTransitionError
from tests.unit.einvoice_factories import INTER_BUYER_GSTIN, NOW, SUPPLIER_GSTIN, credit_note_of, issued

REGISTRATION = Registration(irn="a" * 64, ack_no="112610000000001", ack_date=NOW, signed_qr="x.y.z")
TRANSIENT = EInvoiceError(code="503", message="IRP unavailable", kind=ErrorKind.TRANSIENT)
INVALID = EInvoiceError(code="2172", message="Bad HSN", kind=ErrorKind.VALIDATION)
PENDING = EInvoice(status=EInvoiceStatus.PENDING)


@pytest.mark.parametrize(
    ("mode", "buyer", "expected"),
    [
        ("off", INTER_BUYER_GSTIN, EInvoiceStatus.NOT_APPLICABLE),
        ("sandbox", None, EInvoiceStatus.NOT_APPLICABLE),
        ("sandbox", SUPPLIER_GSTIN, EInvoiceStatus.NOT_APPLICABLE),
        ("sandbox", INTER_BUYER_GSTIN, EInvoiceStatus.PENDING),
        ("production", INTER_BUYER_GSTIN, EInvoiceStatus.PENDING),
    ],
)
def test_at_issue_a_document_is_pending_only_when_b2b_and_enabled(mode, buyer, expected):
    assert at_issue(mode, SUPPLIER_GSTIN, buyer).status is expected


def test_pending_to_generated_keeps_what_the_irp_answered():
    generated = PENDING.generated(REGISTRATION)
    assert (generated.status, generated.irn, generated.ack_no, generated.attempts) == (
        EInvoiceStatus.GENERATED,
        "a" * 64,
        "112610000000001",
        1,
    )


def test_pending_to_retrying_to_retrying_to_generated_counts_attempts():
    first = PENDING.retrying(TRANSIENT, NOW, unknown_outcome=True)
    second = first.retrying(TRANSIENT, NOW, unknown_outcome=False)
    assert (first.status, first.attempts, first.unknown_outcome) == (EInvoiceStatus.RETRYING, 1, True)
    assert (second.attempts, second.unknown_outcome) == (2, False)
    assert second.generated(REGISTRATION).attempts == 3
    assert second.generated(REGISTRATION).error is None


def test_pending_and_retrying_can_fail_and_failed_can_be_requeued():
    failed = PENDING.retrying(TRANSIENT, NOW, unknown_outcome=False).failed(INVALID)
    assert (failed.status, failed.error) == (EInvoiceStatus.FAILED, INVALID)
    requeued = failed.requeued()
    assert (requeued.status, requeued.error, requeued.attempts) == (EInvoiceStatus.PENDING, None, 2)


def test_generated_is_cancelled_within_24_hours_only_at_the_irp():
    generated = PENDING.generated(REGISTRATION)
    assert generated.cancellable_at_irp(NOW + timedelta(hours=23, minutes=59))
    assert not generated.cancellable_at_irp(NOW + timedelta(hours=24))
    cancelled = generated.cancelled(NOW)
    assert (cancelled.status, cancelled.cancelled_at, cancelled.irn) == (
        EInvoiceStatus.CANCELLED,
        NOW,
        "a" * 64,
    )


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (EInvoiceStatus.GENERATED, lambda e: e.generated(REGISTRATION)),
        (EInvoiceStatus.FAILED, lambda e: e.retrying(TRANSIENT, NOW, unknown_outcome=False)),
        (EInvoiceStatus.NOT_APPLICABLE, lambda e: e.failed(INVALID)),
        (EInvoiceStatus.PENDING, lambda e: e.requeued()),
        (EInvoiceStatus.PENDING, lambda e: e.cancelled(NOW)),
        (EInvoiceStatus.CANCELLED, lambda e: e.generated(REGISTRATION)),
    ],
)
def test_illegal_transitions_are_refused_naming_the_status(state, action):
    with pytest.raises(InvalidTransitionError, match=f"'{state.value}'"):
        action(EInvoice(status=state))


def test_backoff_doubles_up_to_the_cap():
    assert [backoff_delay(n, 2, 10) for n in range(1, 6)] == [2, 4, 8, 10, 10]


def test_an_invoice_records_its_e_invoice_one_version_higher():
    invoice = issued(e_invoice=PENDING)
    after = invoice.record_e_invoice(PENDING.generated(REGISTRATION), NOW)
    assert after.version == invoice.version + 1
    assert after.e_invoice is not None and after.e_invoice.status is EInvoiceStatus.GENERATED


# ------------------------------------------------------------------------------- credit notes
def _credit(invoice):
    return Credit(
        note=credit_note_of(invoice, [1_000]).model_copy(update={"e_invoice": None}), invoice=invoice
    )


@pytest.mark.parametrize(
    ("mode", "buyer", "expected"),
    [
        ("sandbox", INTER_BUYER_GSTIN, EInvoiceStatus.PENDING),
        ("production", INTER_BUYER_GSTIN, EInvoiceStatus.PENDING),
        ("off", INTER_BUYER_GSTIN, EInvoiceStatus.NOT_APPLICABLE),
        ("sandbox", None, EInvoiceStatus.NOT_APPLICABLE),
        ("sandbox", SUPPLIER_GSTIN, EInvoiceStatus.NOT_APPLICABLE),
    ],
)
def test_a_credit_note_starts_like_an_invoice(mode, buyer, expected):
    credit = registering(_credit(issued(gstin=buyer)), mode)
    assert credit.note.e_invoice == EInvoice(status=expected)


def test_the_credit_note_of_a_cancellation_whose_irn_was_cancelled_is_not_applicable():
    invoice = issued(gstin=INTER_BUYER_GSTIN, e_invoice=PENDING.generated(REGISTRATION).cancelled(NOW))
    assert registering(_credit(invoice), "sandbox").note.e_invoice == EInvoice(
        status=EInvoiceStatus.NOT_APPLICABLE
    )


def test_a_credit_note_s_registration_moves_it_to_its_next_version():
    note = credit_note_of(issued(gstin=INTER_BUYER_GSTIN), [1_000])
    later = NOW + timedelta(minutes=3)
    generated = note.record_e_invoice(PENDING.generated(REGISTRATION), later)
    assert (generated.version, generated.updated_at, generated.changed_at) == (2, later, later)
    assert (note.updated_at, note.changed_at) == (None, note.created_at)
    assert generated.model_dump(exclude={"version", "updated_at", "e_invoice"}) == note.model_dump(
        exclude={"version", "updated_at", "e_invoice"}
    )
