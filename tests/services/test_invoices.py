"""InvoiceService against the fakes: drafts, issue (numbering, retries, Razorpay failures, held
payments), revise, cancel, delete, disputes and reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.razorpay_standin import RazorpayError
from invoicing.domain.access import Caller
from invoicing.domain.changes import Change, SaveInvoice, TakeNumber
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    InvalidTransitionError,
    NotFoundError,
    PaymentProviderError,
)
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.outbox import Effect, PublishEvent, RenderDocument
from invoicing.domain.queries import IdempotencyClaim, ListQuery
from invoicing.domain.summary import summarize
from invoicing.services.payments import OutcomeStatus
from tests.services.conftest import World
from tests.unit.factories import NOW, line

CUSTOMER = Caller(account_id="acc_1")
OPERATOR = Caller(account_id=None, is_operator=True)


def effects(world: World) -> list[Effect]:
    return world.store.waiting_effects()


def event_names(world: World) -> list[str]:
    return [e.detail_type for e in effects(world) if isinstance(e, PublishEvent)]


def rzp(invoice: Invoice) -> str:
    """The id of the invoice's Razorpay invoice (it has one)."""
    assert invoice.razorpay_invoice_id is not None
    return invoice.razorpay_invoice_id


# ------------------------------------------------------------------------------------------ create


def test_create_stores_a_draft_with_the_policy_s_terms(world: World) -> None:
    draft = world.create(description="September compute")

    assert world.get(draft.id) == draft
    assert (draft.status, draft.payment_terms_days, draft.supplier) == (
        InvoiceStatus.DRAFT,
        15,
        world.invoices.policy.supplier,
    )
    assert world.razorpay.calls == [] and world.store.outbox == {}


def test_the_same_idempotency_key_and_body_answer_the_first_draft(world: World) -> None:
    claim = IdempotencyClaim.of("key-1", b'{"x": 1}')
    first = world.invoices.create(account_id="acc_1", fields=_fields(), claim=claim)

    again = world.invoices.create(account_id="acc_1", fields=_fields(), claim=claim)

    assert again == first and len(world.store.invoices) == 1
    with pytest.raises(ConflictError):
        world.invoices.create(account_id="acc_1", fields=_fields(), claim=IdempotencyClaim.of("key-1", b"{}"))


def _fields() -> dict[str, Any]:
    from tests.unit.factories import billing_period, customer

    return {"customer": customer(), "billing_period": billing_period(), "line_items": [line()]}


# ------------------------------------------------------------------------------------------- issue


def test_issue_numbers_links_publishes_and_queues_its_effects(world: World) -> None:
    draft = world.create()

    issued = world.invoices.issue(draft.id)

    assert issued.status is InvoiceStatus.ISSUED
    assert issued.invoice_number == "INV/2627/000001"
    assert issued.version == draft.version + 2  # linked to Razorpay's draft, then issued
    assert world.get(draft.id) == issued
    assert world.razorpay.calls == ["create_draft", "publish"]
    at_razorpay = world.razorpay.invoice(rzp(issued))
    assert (at_razorpay["status"], at_razorpay["receipt"], at_razorpay["amount"]) == (
        "issued",
        "INV/2627/000001",
        issued.amount,
    )
    assert issued.payment_url == at_razorpay["short_url"]
    assert world.store.find_by_provider_invoice(rzp(issued)) == issued
    assert event_names(world) == ["InvoiceIssued"]
    assert RenderDocument(document_id=issued.id, version=issued.version) in effects(world)
    assert world.store.summary("acc_1") == summarize([issued])


def test_issues_take_consecutive_numbers(world: World) -> None:
    numbers = [world.issued().invoice_number for _ in range(3)]
    assert numbers == ["INV/2627/000001", "INV/2627/000002", "INV/2627/000003"]


def test_a_number_taken_meanwhile_is_skipped_without_a_gap_and_razorpay_follows(world: World) -> None:
    draft = world.create()
    rival = world.create()

    def rival_issues(changes: list[Change]) -> None:
        if any(isinstance(c, TakeNumber) for c in changes):  # between our read of the counter and our commit
            taken = rival.issue(invoice_number="INV/2627/000001", today=NOW.date(), now=NOW)
            world.store.commit(
                [TakeNumber("INV/2627", 1, "INV/2627/000001", rival.id, "acc_1"), SaveInvoice(rival, taken)]
            )

    world.before_commit(rival_issues, times=2)  # the first commit links the draft; the second is the issue
    issued = world.invoices.issue(draft.id)

    assert issued.invoice_number == "INV/2627/000002"
    assert world.store.counters["INV/2627"] == 2
    assert world.razorpay.invoice(rzp(issued))["receipt"] == "INV/2627/000002"
    assert world.razorpay.calls.count("create_draft") == 1


@pytest.mark.parametrize("failing", ["create_draft", "publish"])
def test_a_razorpay_failure_leaves_a_draft_and_no_number_and_a_retry_converges(
    world: World, failing: str
) -> None:
    draft = world.create()
    world.razorpay.fail_next(failing)

    with pytest.raises(PaymentProviderError):
        world.invoices.issue(draft.id)

    stored = world.get(draft.id)
    assert stored.status is InvoiceStatus.DRAFT
    assert world.store.next_sequence("INV/2627") == 1
    assert (stored.razorpay_invoice_id is not None) == (failing == "publish")
    assert world.store.outbox == {}

    issued = world.invoices.issue(draft.id)

    assert issued.invoice_number == "INV/2627/000001"
    assert world.razorpay.calls.count("create_draft") == (2 if failing == "create_draft" else 1)
    assert world.razorpay.status(rzp(issued)) == "issued"


def test_a_retry_after_the_draft_was_edited_replaces_razorpay_s_draft_and_links_the_new_one(
    world: World,
) -> None:
    draft = world.create()
    world.razorpay.fail_next("publish")
    with pytest.raises(PaymentProviderError):
        world.invoices.issue(draft.id)
    stale_id = rzp(world.get(draft.id))
    world.invoices.revise(draft.id, {"line_items": [line(quantity="10")]})

    issued = world.invoices.issue(draft.id)

    assert rzp(issued) != stale_id
    fresh = world.razorpay.invoice(rzp(issued))
    assert (fresh["status"], fresh["amount"]) == ("issued", issued.amount)
    assert issued.amount == 1250 + 2 * 113
    with pytest.raises(RazorpayError, match="does not exist"):  # the stale draft was deleted
        world.razorpay.status(stale_id)
    assert world.store.find_by_provider_invoice(rzp(issued)) == issued


def test_an_issue_that_would_fail_locally_never_calls_razorpay(world: World) -> None:
    # Given a draft stored before the bounds existed: it expires in the year 9999
    draft = world.create()
    legacy = draft.model_copy(update={"expire_by": datetime(9999, 12, 31, tzinfo=UTC)})
    world.store.invoices[draft.id] = legacy

    # When it is issued, Then it is refused before Razorpay makes anything payable
    with pytest.raises(DomainValidationError, match="expire_by"):
        world.invoices.issue(draft.id)

    assert world.razorpay.calls == []
    assert world.get(draft.id) == legacy and world.store.next_sequence("INV/2627") == 1


def test_an_amount_above_the_cap_is_refused_before_razorpay(world: World) -> None:
    from invoicing.domain.limits import MAX_AMOUNT_PAISE

    draft = world.create()
    legacy = draft.model_copy(update={"amount": MAX_AMOUNT_PAISE + 1})
    world.store.invoices[draft.id] = legacy

    with pytest.raises(DomainValidationError):
        world.invoices.issue(draft.id)

    assert world.razorpay.calls == []


def test_a_draft_cannot_be_issued_twice(world: World) -> None:
    issued = world.issued()
    with pytest.raises(InvalidTransitionError):
        world.invoices.issue(issued.id)


def test_a_payment_captured_while_the_issue_was_interrupted_is_held_and_applied_by_the_retry(
    world: World,
) -> None:
    # Given an issue that published at Razorpay but crashed before its own commit
    draft = world.create()

    def crash(changes: list[Change]) -> None:
        if any(isinstance(c, TakeNumber) for c in changes):
            raise RuntimeError("Lambda timed out")

    world.before_commit(crash, times=2)
    with pytest.raises(RuntimeError):
        world.invoices.issue(draft.id)
    linked = world.get(draft.id)
    assert linked.status is InvoiceStatus.DRAFT and world.razorpay.status(rzp(linked)) == "issued"

    # When the customer pays on Razorpay's page meanwhile
    outcomes = world.pay(linked)

    # Then the money is held on the draft, kept for review and announced as unapplied
    assert [o.effect for o in outcomes] == ["PaymentHeld", None]
    assert outcomes[1].status is OutcomeStatus.DUPLICATE  # the same payment, reported by invoice.paid
    held = world.get(draft.id)
    assert (held.status, [p.amount for p in held.held_payments]) == (InvoiceStatus.DRAFT, [held.amount])
    assert [item.reason for item in world.store.reviews.values()] == ["payment_held"]
    assert event_names(world) == ["PaymentUnapplied"]

    # And the retried issue completes it: issued and paid in one step, nothing refunded
    issued = world.invoices.issue(draft.id)

    assert (issued.status, issued.amount_due, issued.refunds) == (InvoiceStatus.PAID, 0, ())
    assert issued.version == held.version + 1
    assert event_names(world)[-2:] == ["InvoiceIssued", "InvoicePaid"]
    assert world.store.summary("acc_1") == summarize([issued])


# ---------------------------------------------------------------------------- revise, cancel, delete


def test_an_issued_invoice_s_collection_terms_change_at_razorpay_first(world: World) -> None:
    issued = world.issued()

    revised = world.invoices.revise(issued.id, {"partial_payment": True})

    assert revised.partial_payment and world.get(issued.id) == revised
    assert world.razorpay.invoice(rzp(issued))["partial_payment"] is True


def test_a_razorpay_failure_leaves_the_revision_unmade(world: World) -> None:
    issued = world.issued()
    world.razorpay.fail_next("update")

    with pytest.raises(PaymentProviderError):
        world.invoices.revise(issued.id, {"partial_payment": True})

    assert world.get(issued.id) == issued


def test_notes_change_without_razorpay_and_their_pdf_waits_for_its_first_download(world: World) -> None:
    issued = world.issued()
    world.store.outbox.clear()

    revised = world.invoices.revise(issued.id, {"notes": "Thank you"})

    assert world.razorpay.calls == ["create_draft", "publish"]
    assert revised.needs_new_pdf(issued) and effects(world) == []


def test_a_revision_that_loses_a_race_is_a_conflict_and_the_other_write_stands(world: World) -> None:
    issued = world.issued()
    other = issued.revise({"terms": "Net 30"}, NOW)
    world.before_commit(lambda _: world.store.commit([SaveInvoice(issued, other)]))

    with pytest.raises(ConflictError):
        world.invoices.revise(issued.id, {"notes": "mine"})

    assert world.get(issued.id) == other


def test_cancel_cancels_at_razorpay_and_here(world: World) -> None:
    issued = world.issued()

    cancelled = world.credits.cancel(issued.id)

    assert cancelled.status is InvoiceStatus.CANCELLED and cancelled.payment_url is None
    assert world.razorpay.status(rzp(issued)) == "cancelled"
    assert "InvoiceCancelled" in event_names(world)
    assert world.store.summary("acc_1") == summarize([cancelled])


def test_a_razorpay_failure_on_cancel_changes_nothing_and_a_retry_converges_even_if_razorpay_had_cancelled(
    world: World,
) -> None:
    issued = world.issued()
    world.store.outbox.clear()
    world.razorpay.fail_next("cancel")

    with pytest.raises(PaymentProviderError):
        world.credits.cancel(issued.id)

    assert world.get(issued.id) == issued and world.store.outbox == {}
    world.standin.cancel_invoice(rzp(issued))  # as if the failed call had got there
    cancelled = world.credits.cancel(issued.id)
    assert cancelled.status is InvoiceStatus.CANCELLED and world.get(issued.id) == cancelled


def test_a_paid_invoice_is_refused_before_razorpay_is_asked_to_cancel(world: World) -> None:
    issued = world.issued()
    world.pay(issued)

    with pytest.raises(InvalidTransitionError, match="'paid'"):
        world.credits.cancel(issued.id)

    assert "cancel" not in world.razorpay.calls


@pytest.mark.parametrize("at_razorpay", ["draft", "issued"])
def test_a_draft_left_by_a_failed_issue_is_withdrawn_at_razorpay_when_deleted(
    world: World, at_razorpay: str
) -> None:
    draft = world.create()
    world.razorpay.fail_next("publish")
    with pytest.raises(PaymentProviderError):
        world.invoices.issue(draft.id)
    linked = world.get(draft.id)
    if at_razorpay == "issued":  # an attempt got as far as issuing it there
        world.standin.issue_invoice(rzp(linked))

    world.invoices.delete(draft.id)

    with pytest.raises(NotFoundError):
        world.get(draft.id)
    if at_razorpay == "issued":  # nothing payable is left: cancelled
        assert world.razorpay.status(rzp(linked)) == "cancelled"
    else:
        with pytest.raises(RazorpayError, match="does not exist"):  # the stand-in deleted the draft
            world.razorpay.status(rzp(linked))


def test_a_draft_stays_when_razorpay_cannot_withdraw_it(world: World) -> None:
    draft = world.create()
    world.razorpay.fail_next("publish")
    with pytest.raises(PaymentProviderError):
        world.invoices.issue(draft.id)
    world.razorpay.fail_next("withdraw")

    with pytest.raises(PaymentProviderError):
        world.invoices.delete(draft.id)

    assert world.get(draft.id).status is InvoiceStatus.DRAFT


def test_only_drafts_are_deleted(world: World) -> None:
    issued = world.issued()
    with pytest.raises(InvalidTransitionError):
        world.invoices.delete(issued.id)


# ------------------------------------------------------------------------------ disputes and reads


def test_a_customer_disputes_its_invoice(world: World) -> None:
    issued = world.issued()

    dispute = world.invoices.dispute(
        CUSTOMER, issued.id, reason="The VM was stopped for a week.", expected_correction=None
    )

    assert world.get(issued.id).disputed and dispute.invoice_id == issued.id
    assert event_names(world)[-1] == "InvoiceDisputed"


def test_customers_see_neither_drafts_nor_other_accounts_invoices(world: World) -> None:
    draft, theirs = world.create(), world.issued("acc_2")

    for invoice_id in (draft.id, theirs.id, "inv_nope"):
        with pytest.raises(NotFoundError):
            world.invoices.get(CUSTOMER, invoice_id)
        with pytest.raises(NotFoundError):
            world.invoices.payment_link(CUSTOMER, invoice_id)
        with pytest.raises(NotFoundError):
            world.invoices.dispute(
                CUSTOMER, invoice_id, reason="The VM was stopped.", expected_correction=None
            )
    assert world.invoices.get(OPERATOR, draft.id) == draft
    assert world.get(draft.id) == draft and not world.get(theirs.id).disputed


def test_the_export_reads_every_page_of_what_the_list_shows(world: World) -> None:
    issued = []
    for day in range(5):
        world.clock.set(NOW + timedelta(days=day))
        issued.append(world.issued())
    world.create()

    exported = list(world.invoices.export(CUSTOMER, ListQuery(account_id=""), page_size=2))

    assert [i.id for i in exported] == [i.id for i in reversed(issued)]
    operator_view = list(world.invoices.export(OPERATOR, ListQuery(account_id="acc_1"), page_size=2))
    assert len(operator_view) == 6


def test_a_customer_s_status_filter_never_reaches_drafts(world: World) -> None:
    world.create()
    page = world.invoices.list(CUSTOMER, ListQuery(account_id="", statuses=frozenset({InvoiceStatus.DRAFT})))
    assert page.items == []


def test_the_payment_link_is_only_for_payable_invoices(world: World) -> None:
    issued, paid, expired = world.issued(), world.issued(), world.issued()
    assert world.invoices.payment_link(CUSTOMER, issued.id).payment_url == issued.payment_url
    world.credits.cancel(issued.id)
    world.pay(paid)
    world.store.commit([SaveInvoice(expired, expired.expire(NOW + timedelta(days=40)))])

    for invoice_id, status in ((issued.id, "cancelled"), (paid.id, "paid"), (expired.id, "expired")):
        with pytest.raises(InvalidTransitionError, match=f"'{status}'"):
            world.invoices.payment_link(CUSTOMER, invoice_id)
    with pytest.raises(InvalidTransitionError, match="'draft'"):  # an operator sees drafts
        world.invoices.payment_link(OPERATOR, world.create().id)


def test_the_summary_is_the_caller_s_account(world: World) -> None:
    world.issued()
    world.issued("acc_2")
    assert world.invoices.summary(CUSTOMER, None).count_pending == 1
    assert world.invoices.summary(OPERATOR, "acc_2").count_pending == 1
