"""Registration with the IRP, through the real GSP adapter and the local IRP stand-in.

The services world (``tests/services/conftest.py``): the store is the in-memory fake (the same
conditions as DynamoDB); the IRP is the stand-in behind ``responses`` on the world's clock, so every
status transition, retry and backoff, the look-up after a timeout, duplicates, the 30-day rule and
the 24-hour cancel window are driven by hand. Credit notes: ``test_einvoice_credit_notes.py``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import jwt
import pytest

from infra.local.irp_standin import derive_irn
from invoicing.adapters.gsp_irp import GspIrpClient
from invoicing.domain.changes import Emit, SaveInvoice
from invoicing.domain.einvoice import EInvoice, EInvoiceStatus, ErrorKind, Registration
from invoicing.domain.einvoice_payload import build_payload, from_invoice
from invoicing.domain.errors import ConflictError, InvalidTransitionError, RetryableError
from invoicing.domain.invoice import Address, Invoice, Payment
from invoicing.domain.outbox import PublishEvent, RegisterEInvoice, RenderDocument
from invoicing.services.einvoicing import (
    EInvoiceRegistrar,
    IrnCancellation,
    Outcome,
)
from tests.services.conftest import World
from tests.support.irp import CREDENTIALS, gsp_client
from tests.unit.einvoice_factories import INTER_BUYER_GSTIN, NOW, SUPPLIER_GSTIN, issued
from tests.unit.factories import customer


class Registering:
    """The services world (``tests/services/conftest.py``, e-invoicing ``sandbox``), seen from one
    invoice's registration: it is put in the store as issued, and its jobs are run by hand."""

    def __init__(self, world: World) -> None:
        world.einvoicing = "sandbox"
        self.world = world
        self.clock = world.clock
        self.store = world.store
        self.standin = world.irp_standin
        self.jobs = world.einvoice_jobs

    @property
    def irp(self) -> GspIrpClient:
        return self.world.irp

    @irp.setter
    def irp(self, client: GspIrpClient) -> None:
        self.world.irp = client

    @property
    def registrar(self) -> EInvoiceRegistrar:
        return self.world.registrar

    def put(self, invoice: Invoice) -> Invoice:
        self.store.invoices[invoice.id] = invoice
        return invoice

    def invoice(self, invoice_id: str = "inv_einv000000001") -> Invoice:
        return self.store.get(invoice_id)

    @property
    def state(self) -> EInvoice:
        state = self.invoice().e_invoice
        assert state is not None
        return state

    def effects(self) -> list[Any]:
        return self.store.waiting_effects()

    def next_job(self) -> RegisterEInvoice:
        jobs = [e for e in self.effects() if isinstance(e, RegisterEInvoice)]
        assert jobs, "no registration was queued"
        self.store.outbox.clear()
        return jobs[-1]

    def register(self, attempt: int | None = None, **kwargs: Any) -> Outcome:
        return self.registrar.register(
            "invoice", "inv_einv000000001", self.state.attempts if attempt is None else attempt, **kwargs
        )

    def posts(self) -> int:
        return self.standin.calls.count(("POST", "/eicore/v1.03/Invoice"))


@pytest.fixture
def world(world: World) -> Registering:
    """The shared services world, overridden here by its registration-centred view."""
    return Registering(world)


# ---------------------------------------------------------------------------------- at issue
def test_only_a_b2b_buyer_s_invoice_is_queued_for_registration_and_a_draft_carries_no_e_invoice(
    world: Registering,
) -> None:
    services = world.world
    assert services.create().e_invoice is None

    b2c = services.issued(customer=customer(intra_state=False, gstin=None))
    own = services.issued(customer=customer(gstin=SUPPLIER_GSTIN))  # the supplier's own GSTIN
    b2b = services.issued(customer=customer(intra_state=False))

    statuses = [i.e_invoice.status for i in (b2c, own, b2b) if i.e_invoice is not None]
    assert statuses == [EInvoiceStatus.NOT_APPLICABLE, EInvoiceStatus.NOT_APPLICABLE, EInvoiceStatus.PENDING]
    services.drain()
    assert [(document, document_id) for document, document_id, _, _ in world.jobs.jobs] == [
        ("invoice", b2b.id)
    ]


# ------------------------------------------------------------------------------- transitions
def test_pending_becomes_generated_with_the_irn_the_irp_derives(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    assert world.register() is Outcome.GENERATED
    state = world.state
    assert state.status is EInvoiceStatus.GENERATED
    assert state.irn == derive_irn("27AAPFU0939F1ZV", "2026-27", "INV", "INV/2627/000042")
    assert state.ack_no is not None and len(state.ack_no) == 15
    effects = world.effects()
    assert [e.detail_type for e in effects if isinstance(e, PublishEvent)] == ["EInvoiceGenerated"]
    assert RenderDocument(document="invoice", document_id=world.invoice().id, version=3) in effects
    assert world.invoice().version == 3


def test_a_transient_failure_retries_with_backoff_then_generates(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.standin.fail_next("transient", 2)
    assert world.register() is Outcome.RETRYING
    assert (world.state.status, world.state.attempts, world.state.error.kind) == (
        EInvoiceStatus.RETRYING,
        1,
        ErrorKind.TRANSIENT,
    )
    first = world.next_job()
    assert (first.attempt, first.delay_seconds) == (1, 2)
    world.clock.set(NOW + timedelta(seconds=2))
    assert world.register(first.attempt) is Outcome.RETRYING
    second = world.next_job()
    assert (second.attempt, second.delay_seconds) == (2, 4)  # doubled
    world.clock.set(NOW + timedelta(seconds=6))
    assert world.register(second.attempt) is Outcome.GENERATED
    assert world.state.attempts == 3 and world.state.error is None
    assert len(world.standin.documents()) == 1


def test_a_job_that_arrives_before_its_backoff_is_queued_again_for_the_rest(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.standin.fail_next("transient")
    world.register()
    job = world.next_job()
    world.clock.set(NOW + timedelta(milliseconds=500))
    assert world.register(job.attempt) is Outcome.DEFERRED
    assert world.jobs.jobs == [("invoice", "inv_einv000000001", 1, 2)]
    assert world.posts() == 1


def test_a_timeout_is_resolved_by_looking_the_document_up_before_sending_again(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.standin.fail_next("timeout")  # the stand-in registers it, then answers 504
    assert world.register() is Outcome.RETRYING
    assert world.state.unknown_outcome
    job = world.next_job()
    world.clock.set(NOW + timedelta(seconds=2))
    assert world.register(job.attempt) is Outcome.GENERATED
    assert world.posts() == 1  # looked up and linked, never sent twice
    assert ("GET", "/eicore/v1.03/Invoice/irnbydocdetails") in world.standin.calls
    assert world.state.irn == world.standin.documents()[0]["irn"]


def test_a_timeout_whose_document_the_irp_does_not_hold_is_sent_again(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.standin.fail_next("transient")
    world.register()
    # mark the last attempt's outcome unknown, as a timeout would have
    stored = world.invoice()
    assert stored.e_invoice is not None
    world.store.invoices[stored.id] = stored.model_copy(
        update={"e_invoice": stored.e_invoice.model_copy(update={"unknown_outcome": True})}
    )
    world.clock.set(NOW + timedelta(seconds=2))
    assert world.register() is Outcome.GENERATED
    assert world.posts() == 2  # the failed attempt and this one
    assert world.standin.calls.index(("GET", "/eicore/v1.03/Invoice/irnbydocdetails")) < len(
        world.standin.calls
    )


def test_a_redelivered_job_looks_the_document_up_first(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    payload = build_payload(from_invoice(world.invoice()))
    world.irp.register(payload)  # the first delivery sent it, then died before recording
    assert world.register(redelivered=True) is Outcome.GENERATED
    assert world.posts() == 1


def test_after_the_last_attempt_a_transient_failure_is_failed(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.standin.fail_next("transient", 10)
    for step in range(4):
        world.clock.set(NOW + timedelta(minutes=step))
        world.register()
    assert world.state.status is EInvoiceStatus.FAILED
    assert world.state.error.kind is ErrorKind.TRANSIENT
    assert "Gave up after 4 attempts" in world.state.error.message
    assert [e.detail_type for e in world.effects() if isinstance(e, PublishEvent)][-1] == "EInvoiceFailed"


# -------------------------------------------------------------------------------- duplicates
def test_a_duplicate_with_the_same_buyer_and_total_is_linked(world):
    invoice = world.put(issued(gstin=INTER_BUYER_GSTIN))
    registered = world.irp.register(build_payload(from_invoice(invoice)))  # registered elsewhere
    assert world.register() is Outcome.GENERATED
    assert world.state.irn == registered.irn
    assert world.posts() == 2  # ours was answered 2150, then the IRN was fetched and compared


def test_a_duplicate_for_another_buyer_or_total_is_failed_not_linked(world):
    invoice = world.put(issued(gstin=INTER_BUYER_GSTIN))
    other = build_payload(from_invoice(invoice))
    other["ValDtls"]["TotInvVal"] += 5
    world.irp.register(other)
    assert world.register() is Outcome.FAILED
    state = world.state
    assert (state.status, state.error.kind, state.irn) == (
        EInvoiceStatus.FAILED,
        ErrorKind.DUPLICATE_MISMATCH,
        None,
    )
    assert "not linked" in state.error.message


# ------------------------------------------------------------------------------- validation
def test_the_30_day_rule_fails_the_registration_with_nothing_sent(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN, today=date(2026, 9, 1)))
    world.clock.set(NOW + timedelta(days=5))  # 2026-10-06: 35 days after the date
    assert world.register() is Outcome.FAILED
    assert (world.state.error.kind, world.state.error.code) == (ErrorKind.VALIDATION, "reporting_window")
    assert "30-day rule" in world.state.error.message
    assert world.standin.calls == []


def test_below_ten_crore_an_old_document_still_registers(world):
    world.world.einvoice_policy = replace(world.world.einvoice_policy, aato_above_10_crore=False)
    world.put(issued(gstin=INTER_BUYER_GSTIN, today=date(2026, 8, 1)))
    assert world.register() is Outcome.GENERATED


def test_a_payload_that_breaks_a_rule_is_failed_naming_it_and_nothing_is_sent(world):
    invoice = issued(gstin=INTER_BUYER_GSTIN)
    bad = invoice.customer.model_copy(
        update={"address": Address(line1="x", city="Surat", state="Gujarat", postal_code="39")}
    )
    world.put(invoice.model_copy(update={"customer": bad}))
    assert world.register() is Outcome.FAILED
    assert (world.state.error.kind, world.state.error.code) == (ErrorKind.VALIDATION, "pin")
    assert "PIN" in world.state.error.message
    assert world.standin.calls == []


def test_the_irp_s_own_validation_error_is_failed_with_its_code(world):
    world.irp = gsp_client(CREDENTIALS.__class__(**{**CREDENTIALS.__dict__, "gstin": "29AABCK4321M1ZE"}))
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    assert world.register() is Outcome.FAILED
    assert (world.state.error.kind, world.state.error.code) == (ErrorKind.VALIDATION, "2169")


# -------------------------------------------------------------------------- repeats and races
def test_a_repeated_or_stale_job_changes_nothing_and_sends_nothing(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.register(0)
    version = world.invoice().version
    assert world.register(0) is Outcome.SKIPPED  # repeat after generated
    assert world.register(7) is Outcome.SKIPPED  # another attempt's job
    assert world.invoice().version == version and world.posts() == 1


def test_a_payment_committed_meanwhile_is_kept_and_the_irn_recorded_on_the_newer_version(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    commit = world.store.commit
    raced = []

    def racing_commit(changes):
        if not raced:  # a webhook's payment lands between our read and our write
            raced.append(True)
            current = world.invoice()
            payment = Payment(id="pay_race", amount=1000, method="upi", paid_at=NOW)
            commit([SaveInvoice(current, current.apply_payment(payment, NOW))])
        return commit(changes)

    world.store.commit = racing_commit  # type: ignore[method-assign]
    assert world.register() is Outcome.GENERATED
    invoice = world.invoice()
    assert invoice.payments[0].id == "pay_race" and invoice.e_invoice.status is EInvoiceStatus.GENERATED


def test_a_race_lost_to_another_delivery_never_overwrites_its_state(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    commit = world.store.commit
    registration = Registration(irn="b" * 64, ack_no="112600000000009", ack_date=NOW, signed_qr="q.r.s")

    def racing_commit(changes):
        if not any(isinstance(c, Emit) for c in changes):
            return commit(changes)
        current = world.invoice()
        if current.e_invoice.status is EInvoiceStatus.PENDING:  # the other delivery wins first
            commit(
                [
                    SaveInvoice(
                        current, current.record_e_invoice(current.e_invoice.generated(registration), NOW)
                    )
                ]
            )
        return commit(changes)

    world.store.commit = racing_commit  # type: ignore[method-assign]
    assert world.register() is Outcome.SKIPPED
    assert world.state.irn == "b" * 64


# ---------------------------------------------------------------------------------- QR / JWT
def test_the_signed_qr_is_an_rs256_jwt_the_stand_in_s_certificate_verifies(world):
    from cryptography import x509

    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.register()
    certificate = x509.load_pem_x509_certificate(world.standin.certificate_pem().encode())
    claims = jwt.decode(world.state.signed_qr, certificate.public_key(), algorithms=["RS256"])
    data = json.loads(claims["data"])
    assert (data["Irn"], data["BuyerGstin"], data["DocNo"]) == (
        world.state.irn,
        INTER_BUYER_GSTIN,
        "INV/2627/000042",
    )
    with pytest.raises(jwt.InvalidSignatureError):
        tampered = world.state.signed_qr.rsplit(".", 1)[0] + "." + "A" * 342
        jwt.decode(tampered, certificate.public_key(), algorithms=["RS256"])


def test_an_expired_session_token_is_renewed_transparently(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.irp.find("INV", "INV/2627/000001", date(2026, 10, 1))  # a session exists
    world.standin.expire_tokens()
    assert world.register() is Outcome.GENERATED
    assert world.standin.calls.count(("POST", "/eivital/v1.04/auth")) == 2


def test_no_secret_reaches_the_logs(world, capfd, caplog):
    caplog.set_level("DEBUG")
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.standin.fail_next("timeout")
    world.register()
    world.clock.set(NOW + timedelta(seconds=5))
    world.register()
    logged = capfd.readouterr().out + capfd.readouterr().err + caplog.text
    assert "IRP answered" in logged
    token = world.irp._token[0]  # type: ignore[index]
    for secret in (CREDENTIALS.password, CREDENTIALS.client_secret, token, world.state.signed_qr):
        assert secret not in logged


# ----------------------------------------------------------------------------- cancel hook
def generated(world: World) -> Invoice:
    world.put(issued(gstin=INTER_BUYER_GSTIN))
    world.register()
    return world.invoice()


def test_an_irn_younger_than_24_hours_is_cancelled_at_the_irp_first(world):
    invoice = generated(world)
    world.clock.set(NOW + timedelta(hours=23))
    state = IrnCancellation(irp=world.irp, clock=world.clock).cancel_young_irn(invoice)
    assert state is not None and state.status is EInvoiceStatus.CANCELLED
    assert state.irn == invoice.e_invoice.irn
    assert world.standin.documents()[0]["status"] == "cancelled"


def test_an_irn_older_than_24_hours_stays(world):
    invoice = generated(world)
    world.clock.set(NOW + timedelta(hours=25))
    assert IrnCancellation(irp=world.irp, clock=world.clock).cancel_young_irn(invoice) is None
    assert world.standin.documents()[0]["status"] == "active"


def test_when_the_irp_cannot_cancel_nothing_changes(world):
    invoice = generated(world)
    world.irp._timeout = 0.001  # type: ignore[attr-defined]
    world.standin.expire_tokens()
    world.irp._token = None  # type: ignore[attr-defined]
    world.standin.client_secret = "rotated"  # the GSP now refuses our credentials
    with pytest.raises(RetryableError):
        IrnCancellation(irp=world.irp, clock=world.clock).cancel_young_irn(invoice)


# ------------------------------------------------------------------------------- operators
def test_an_operator_requeues_a_failed_registration(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN, today=date(2026, 8, 1)))
    world.register()
    assert world.state.status is EInvoiceStatus.FAILED
    world.store.outbox.clear()
    service = world.world.e_invoices
    assert [(e.document, e.document_id) for e in service.list("failed", 10, None).items] == [
        ("invoice", "inv_einv000000001")
    ]
    after = service.retry("inv_einv000000001")
    assert (after.e_invoice.status, after.e_invoice.error) == (EInvoiceStatus.PENDING, None)
    assert world.next_job().attempt == after.e_invoice.attempts == 1
    with pytest.raises(InvalidTransitionError, match="'pending'"):
        service.retry("inv_einv000000001")


def test_a_conflicting_retry_is_a_conflict(world):
    world.put(issued(gstin=INTER_BUYER_GSTIN, today=date(2026, 8, 1)))
    world.register()
    service = world.world.e_invoices
    stale = world.invoice()
    world.store.invoices[stale.id] = stale.record_e_invoice(stale.e_invoice, NOW)  # someone else wrote
    world.store.get = lambda _id: stale  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        service.retry(stale.id)
