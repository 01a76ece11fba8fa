"""Credit notes and e-invoicing (einvoice.md): a note to a B2B buyer is registered as a CRN naming its
invoice, its PDF waits for its IRN, failures are listed and re-queued like an invoice's; cancelling
an invoice cancels a young IRN at the IRP before the cancellation commits, an older one stays and
the cancellation's credit note is registered instead.

The services world (``tests/services/conftest.py``) with e-invoicing ``sandbox``: the in-memory
store, Razorpay's stand-in, and the IRP stand-in behind the real GSP adapter, on the world's clock.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.local.irp_standin import derive_irn
from invoicing.domain.access import Caller
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.credit_notes import CreditNote, CreditReason, CreditRequest
from invoicing.domain.documents import Rendering
from invoicing.domain.einvoice import CANCEL_REASON_ORDER_CANCELLED, EInvoiceStatus, ErrorKind
from invoicing.domain.errors import InvalidTransitionError, RetryableError
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.outbox import RegisterEInvoice, RenderDocument
from invoicing.services.credit_note_documents import RenderOutcome
from invoicing.services.einvoicing import Outcome
from tests.services.conftest import World
from tests.unit.factories import NOW, SUPPLIER_GSTIN, customer, line

OPERATOR = Caller(account_id=None, is_operator=True)
DISCOUNT = CreditRequest(reason=CreditReason.DISCOUNT, description="Goodwill.", lines=((0, 10_000),))


@pytest.fixture
def world(world: World) -> World:
    world.einvoicing = "sandbox"
    return world


def registered_invoice(world: World, **fields: object) -> Invoice:
    """A B2B (inter-state, GSTIN) invoice, issued and registered: its e-invoice is generated."""
    invoice = world.issued(customer=customer(intra_state=False), line_items=[line()], **fields)
    assert invoice.e_invoice is not None and invoice.e_invoice.status is EInvoiceStatus.PENDING
    assert world.register_queued() == [Outcome.GENERATED]
    return world.get(invoice.id)


def note(world: World, credit_note_id: str) -> CreditNote:
    return world.credit_notes.get(credit_note_id)


def queued_effects(world: World) -> list[object]:
    return world.store.waiting_effects()


# ---------------------------------------------------------------------------------- issuing
def test_a_credit_note_to_a_b2b_buyer_is_registered_as_a_crn_naming_its_invoice(world):
    invoice = registered_invoice(world)

    issued = world.credits.issue(invoice.id, DISCOUNT).note

    assert issued.e_invoice is not None and issued.e_invoice.status is EInvoiceStatus.PENDING
    effects = queued_effects(world)
    assert RegisterEInvoice(document="credit_note", document_id=issued.id, attempt=0) in effects
    assert not any(isinstance(e, RenderDocument) and e.document == "credit_note" for e in effects)

    assert world.register_queued() == [Outcome.GENERATED]

    stored = note(world, issued.id)
    assert stored.version == 2 and stored.e_invoice is not None
    assert stored.e_invoice.status is EInvoiceStatus.GENERATED
    assert stored.e_invoice.irn == derive_irn(SUPPLIER_GSTIN, "2026-27", "CRN", issued.credit_note_number)
    at_irp = {d["irn"]: d for d in world.irp_standin.documents()}[stored.e_invoice.irn]
    assert (at_irp["type"], at_irp["number"], at_irp["total"]) == ("CRN", issued.credit_note_number, 11_800)
    assert invoice.date is not None
    assert at_irp["preceding_document"] == {
        "InvNo": invoice.invoice_number,
        "InvDt": invoice.date.strftime("%d/%m/%Y"),
    }
    events = [detail for name, detail, _ in world.events.published if name == "EInvoiceGenerated"]
    assert [(d["type"], d["document_id"], d["irn"]) for d in events][-1] == (
        "credit_note",
        issued.id,
        stored.e_invoice.irn,
    )
    assert ("credit_note", issued.id, 2) in world.render_jobs.jobs  # the version that prints the IRN


def test_the_credit_note_pdf_waits_for_its_irn_and_then_prints_it(world):
    invoice = registered_invoice(world)
    issued = world.credits.issue(invoice.id, DISCOUNT).note
    world.drain()
    jobs_before = list(world.render_jobs.jobs)

    waiting = world.credit_note_documents.pdf_link(OPERATOR, issued.id)

    assert isinstance(waiting, Rendering)  # 202, and nothing queued: no IRN yet
    assert world.render_jobs.jobs == jobs_before
    assert world.credit_note_renders.render(issued.id, 1) is RenderOutcome.AWAITING_IRN
    assert world.storage.objects == {}

    world.register_queued()
    assert world.credit_note_renders.render(issued.id, 2) is RenderOutcome.RENDERED
    (rendered,) = world.renderer.credit_notes
    assert rendered.e_invoice is not None and rendered.e_invoice.irn is not None
    link = world.credit_note_documents.pdf_link(OPERATOR, issued.id)
    assert not isinstance(link, Rendering)


def test_a_failed_crn_is_listed_refuses_its_pdf_and_is_registered_once_re_queued(world):
    invoice = registered_invoice(world)
    issued = world.credits.issue(invoice.id, DISCOUNT).note
    world.later(days=31)  # the 30-day rule: too late to register the note as it is dated
    assert world.register_queued() == [Outcome.FAILED]

    failed = note(world, issued.id).e_invoice
    assert failed is not None and failed.error is not None
    assert (failed.status, failed.error.kind) == (EInvoiceStatus.FAILED, ErrorKind.VALIDATION)
    with pytest.raises(InvalidTransitionError, match="30-day rule"):
        world.credit_note_documents.pdf_link(OPERATOR, issued.id)
    listed = world.e_invoices.list("failed", 10, None).items
    assert [(e.document, e.document_id, e.number) for e in listed] == [
        ("credit_note", issued.id, issued.credit_note_number)
    ]
    assert "EInvoiceFailed" in world.events.names

    world.einvoice_policy = replace(world.einvoice_policy, aato_above_10_crore=False)
    again = world.e_invoices.retry_credit_note(issued.id)
    assert again.e_invoice is not None and again.e_invoice.status is EInvoiceStatus.PENDING
    assert world.e_invoices.list("failed", 10, None).items == []
    assert world.register_queued() == [Outcome.GENERATED]
    assert note(world, issued.id).e_invoice.status is EInvoiceStatus.GENERATED  # type: ignore[union-attr]
    with pytest.raises(InvalidTransitionError, match="'generated'"):
        world.e_invoices.retry_credit_note(issued.id)


def test_a_transient_failure_retries_the_crn_with_backoff(world):
    invoice = registered_invoice(world)
    issued = world.credits.issue(invoice.id, DISCOUNT).note
    world.irp_standin.fail_next("transient")

    assert world.register_queued() == [Outcome.RETRYING]
    ((kind, document_id, attempt, delay),) = world.einvoice_jobs.jobs
    assert (kind, document_id, attempt, delay) == ("credit_note", issued.id, 1, 2)
    world.later(seconds=2)
    assert world.register_queued() == [Outcome.GENERATED]
    assert note(world, issued.id).e_invoice.attempts == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("b2c", [True, False], ids=["b2c-buyer", "einvoicing-off"])
def test_a_credit_note_without_e_invoicing_is_not_applicable_and_rendered_at_issue(world, b2c):
    if b2c:
        invoice = world.issued(customer=customer(intra_state=False, gstin=None))
    else:
        world.einvoicing = "off"
        invoice = world.issued(customer=customer(intra_state=False))
    world.drain()

    issued = world.credits.issue(invoice.id, DISCOUNT).note

    assert issued.e_invoice is not None and issued.e_invoice.status is EInvoiceStatus.NOT_APPLICABLE
    effects = queued_effects(world)
    assert RenderDocument(document="credit_note", document_id=issued.id, version=1) in effects
    assert not any(isinstance(e, RegisterEInvoice) for e in effects)


def test_a_credit_note_of_a_credited_dispute_is_registered_like_any_other(world):
    invoice = registered_invoice(world)
    dispute = world.invoices.dispute(
        Caller(account_id="acc_1"), invoice.id, reason="Billed while stopped.", expected_correction=None
    )
    resolution = world.disputes.resolve(
        invoice.id, dispute.id, outcome="credited", note="Ok.", credit=DISCOUNT
    )

    assert resolution.credit is not None
    assert resolution.credit.note.e_invoice.status is EInvoiceStatus.PENDING  # type: ignore[union-attr]
    assert world.register_queued() == [Outcome.GENERATED]


# ------------------------------------------------------------------------------ cancelling
def test_cancelling_within_24_hours_cancels_the_irn_at_the_irp_before_the_commit(world):
    invoice = registered_invoice(world)
    world.later(hours=23)

    cancelled = world.credits.cancel(invoice.id)

    assert cancelled.status is InvoiceStatus.CANCELLED
    assert cancelled.e_invoice is not None and cancelled.e_invoice.status is EInvoiceStatus.CANCELLED
    assert cancelled.e_invoice.cancelled_at == world.clock.now
    assert cancelled.e_invoice.irn == invoice.e_invoice.irn  # type: ignore[union-attr]
    (at_irp,) = world.irp_standin.documents()
    assert at_irp["status"] == "cancelled"
    (cancellation,) = world.credit_notes.notes.values()
    assert cancellation.e_invoice is not None
    assert cancellation.e_invoice.status is EInvoiceStatus.NOT_APPLICABLE  # nothing left to reverse
    effects = queued_effects(world)
    assert not any(isinstance(e, RegisterEInvoice) for e in effects)
    assert RenderDocument(document="credit_note", document_id=cancellation.id, version=1) in effects
    assert world.register_queued() == []


def test_cancelling_after_24_hours_keeps_the_irn_and_registers_the_cancellation_as_a_crn(world):
    invoice = registered_invoice(world)
    world.later(hours=25)

    cancelled = world.credits.cancel(invoice.id)

    assert cancelled.e_invoice is not None and cancelled.e_invoice.status is EInvoiceStatus.GENERATED
    (cancellation,) = world.credit_notes.notes.values()
    assert cancellation.e_invoice is not None and cancellation.e_invoice.status is EInvoiceStatus.PENDING
    assert world.register_queued() == [Outcome.GENERATED]
    documents = {d["type"]: d for d in world.irp_standin.documents()}
    assert documents["INV"]["status"] == "active"
    assert documents["CRN"]["number"] == cancellation.credit_note_number
    assert documents["CRN"]["preceding_document"]["InvNo"] == invoice.invoice_number
    assert documents["CRN"]["total"] == invoice.amount


def test_when_the_irp_cannot_cancel_a_young_irn_the_cancellation_commits_nothing(world):
    invoice = registered_invoice(world)
    world.irp_standin.expire_tokens()
    world.irp._token = None  # type: ignore[attr-defined]
    world.irp_standin.client_secret = "rotated"  # the GSP now refuses our credentials

    with pytest.raises(RetryableError, match="nothing was changed"):
        world.credits.cancel(invoice.id)

    after = world.get(invoice.id)
    assert (after.status, after.version, after.credit_notes) == (invoice.status, invoice.version, ())
    assert world.credit_notes.notes == {}
    assert world.irp_standin.documents()[0]["status"] == "active"


def test_a_retried_cancellation_whose_irn_the_irp_already_cancelled_goes_through(world):
    invoice = registered_invoice(world)
    assert invoice.e_invoice is not None and invoice.e_invoice.irn is not None
    world.irp.cancel(invoice.e_invoice.irn, CANCEL_REASON_ORDER_CANCELLED, "order cancelled")  # then we died

    cancelled = world.credits.cancel(invoice.id)

    assert cancelled.e_invoice is not None and cancelled.e_invoice.status is EInvoiceStatus.CANCELLED


def test_a_cancellation_that_loses_a_race_keeps_the_irn_cancelled_on_the_next_version(world):
    invoice = registered_invoice(world)

    def rival(_: object) -> None:  # another writer saves the invoice first (its next version)
        current = world.get(invoice.id)
        assert current.e_invoice is not None
        world.store.commit([SaveInvoice(current, current.record_e_invoice(current.e_invoice, NOW))])

    raced = world.before_commit(rival)

    cancelled = world.credits.cancel(invoice.id)

    assert raced  # the first commit lost to the rival's write and was planned again
    assert cancelled.e_invoice is not None and cancelled.e_invoice.status is EInvoiceStatus.CANCELLED
    assert [c.get("status") for c in world.irp_standin.documents()] == ["cancelled"]


def test_the_events_tell_the_credit_note_s_registration_from_the_invoice_s(world):
    invoice = registered_invoice(world)
    issued = world.credits.issue(invoice.id, DISCOUNT).note
    world.register_queued()
    generated = [detail for name, detail, _ in world.events.published if name == "EInvoiceGenerated"]
    assert [(d["type"], d["document_id"], d["number"]) for d in generated] == [
        ("invoice", invoice.id, invoice.invoice_number),
        ("credit_note", issued.id, issued.credit_note_number),
    ]
