"""``Transactions.commit``: every change's condition, all-or-nothing, and the summary that follows.

Runs against the in-memory fake and DynamoDB (``conftest.stores``): the fake may not drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from invoicing.domain.changes import (
    Change,
    Emit,
    IdempotentReplay,
    KeepIdempotency,
    KeepReview,
    LinkProvider,
    SaveInvoice,
    TakeNumber,
)
from invoicing.domain.errors import ConflictError, InvalidTransitionError, NotFoundError, SequenceTakenError
from invoicing.domain.outbox import OutboxMessage, RenderDocument
from invoicing.domain.queries import IdempotencyClaim
from invoicing.domain.reviews import ReviewItem
from invoicing.domain.summary import AccountSummary, summarize
from tests.contract.builders import SERIES, create, issue, overdue, pay, save
from tests.unit.factories import NOW, draft

LATER = NOW + timedelta(hours=1)


def message(account_id: str = "acc_1") -> OutboxMessage:
    return OutboxMessage(
        account_id=account_id, created_at=NOW, effects=(RenderDocument(document_id="inv_x"),)
    )


def review(event_id: str = "evt_1") -> ReviewItem:
    return ReviewItem(
        reason="unknown_invoice",
        message="No invoice inv_nope.",
        event_id=event_id,
        event_type="payment.captured",
        occurred_at=NOW,
        received_at=NOW,
        payment_id="pay_1",
        amount=100,
        currency="INR",
    )


# ------------------------------------------------------------------------------------ SaveInvoice


def test_a_saved_invoice_reads_back_equal(stores):
    invoice = create(stores)
    assert stores.invoices.get(invoice.id) == invoice

    issued = issue(stores, invoice)
    assert stores.invoices.get(invoice.id) == issued


def test_an_unknown_invoice_is_not_found(stores):
    with pytest.raises(NotFoundError):
        stores.invoices.get("inv_nope")


def test_a_new_invoice_never_overwrites_one_with_its_id(stores):
    invoice = create(stores)
    with pytest.raises(ConflictError):
        stores.transactions.commit([SaveInvoice(None, invoice)])


def test_a_stale_save_is_a_conflict_and_writes_nothing(stores):
    before = create(stores)
    save(stores, before, before.revise({"notes": "first"}, LATER))

    with pytest.raises(ConflictError):
        stores.transactions.commit(
            [SaveInvoice(before, before.revise({"notes": "second"}, LATER)), Emit(message())]
        )

    assert stores.invoices.get(before.id).notes == "first"
    assert stores.outbox.due(LATER) == []


def test_a_save_of_a_deleted_invoice_is_a_conflict(stores):
    before = create(stores)
    stores.invoices.delete_draft(before)
    with pytest.raises(ConflictError):
        save(stores, before, before.revise({"notes": "x"}, LATER))


# ------------------------------------------------------------------------------------- TakeNumber


def test_numbers_are_taken_in_order_without_gaps(stores):
    assert stores.invoices.next_sequence(SERIES) == 1
    first = issue(stores)
    second = issue(stores)

    assert (first.invoice_number, second.invoice_number) == (f"{SERIES}/000001", f"{SERIES}/000002")
    assert stores.invoices.next_sequence(SERIES) == 3
    assert stores.invoices.next_sequence("INV/2728") == 1  # each financial year is its own series


@pytest.mark.parametrize("sequence", [1, 2, 4], ids=["taken", "taken-again", "gap"])
def test_a_number_taken_or_out_of_turn_is_refused_and_nothing_is_written(stores, sequence):
    issue(stores)
    issue(stores)  # the counter is at 2
    invoice = create(stores)
    after = invoice.revise({"notes": "with the number"}, LATER)
    number = f"{SERIES}/{sequence:06d}"

    with pytest.raises(SequenceTakenError):
        stores.transactions.commit(
            [TakeNumber(SERIES, sequence, number, invoice.id, "acc_1"), SaveInvoice(invoice, after)]
        )

    assert stores.invoices.get(invoice.id) == invoice
    assert stores.invoices.next_sequence(SERIES) == 3


def test_a_sequence_taken_error_is_a_conflict():
    assert issubclass(SequenceTakenError, ConflictError)


# ----------------------------------------------------------------------------------- LinkProvider


def test_a_provider_invoice_leads_to_ours(stores):
    invoice = create(stores)
    stores.transactions.commit([LinkProvider("inv_Rzp1", invoice.id, invoice.account_id)])

    assert stores.invoices.find_by_provider_invoice("inv_Rzp1") == invoice


def test_linking_again_to_the_same_document_is_harmless_but_never_to_another(stores):
    first, second = create(stores), create(stores)
    stores.transactions.commit([LinkProvider("inv_Rzp1", first.id, "acc_1")])

    stores.transactions.commit([LinkProvider("inv_Rzp1", first.id, "acc_1")])
    with pytest.raises(ConflictError):
        stores.transactions.commit([LinkProvider("inv_Rzp1", second.id, "acc_1")])

    assert stores.invoices.find_by_provider_invoice("inv_Rzp1").id == first.id


def test_an_unknown_provider_invoice_or_a_payment_link_is_not_an_invoice(stores):
    invoice = create(stores)
    stores.transactions.commit([LinkProvider("plink_1", invoice.id, "acc_1", kind="razorpay_payment_link")])

    for provider_id in ("inv_RzpNope", "plink_1"):
        with pytest.raises(NotFoundError):
            stores.invoices.find_by_provider_invoice(provider_id)


# -------------------------------------------------------------------------------- KeepIdempotency


def keep(key: str = "key-1", body: bytes = b"{}", result_id: str = "inv_1", account: str = "acc_1") -> Change:
    return KeepIdempotency("invoices", account, IdempotencyClaim.of(key, body), result_id)


def test_a_repeated_request_is_a_replay_of_the_first_result(stores):
    stores.transactions.commit([keep(result_id="inv_first")])

    with pytest.raises(IdempotentReplay) as replay:
        stores.transactions.commit([keep(result_id="inv_second")])

    assert replay.value.result_id == "inv_first"


def test_a_replay_writes_nothing_else_of_its_commit(stores):
    stores.transactions.commit([keep()])
    invoice = draft()

    with pytest.raises(IdempotentReplay):
        stores.transactions.commit([SaveInvoice(None, invoice), keep(result_id=invoice.id)])

    with pytest.raises(NotFoundError):
        stores.invoices.get(invoice.id)


def test_a_key_reused_with_another_body_is_a_conflict(stores):
    stores.transactions.commit([keep(body=b'{"a": 1}')])

    with pytest.raises(ConflictError) as conflict:
        stores.transactions.commit([keep(body=b'{"a": 2}')])

    assert not isinstance(conflict.value, IdempotentReplay)
    assert conflict.value.details == [
        {"loc": ["header", "Idempotency-Key"], "msg": "reused with a different body"}
    ]


def test_keys_are_per_account(stores):
    stores.transactions.commit([keep(account="acc_1")])
    stores.transactions.commit([keep(account="acc_2", body=b"other")])


def test_a_key_expires_after_24_hours(stores):
    stores.transactions.commit([keep(result_id="inv_first")])

    stores.clock.set(NOW + timedelta(hours=24, seconds=2))
    stores.transactions.commit([keep(body=b"new", result_id="inv_second")])

    with pytest.raises(IdempotentReplay) as replay:
        stores.transactions.commit([keep(body=b"new")])
    assert replay.value.result_id == "inv_second"


# --------------------------------------------------------------------------------- KeepReview, Emit


def test_a_kept_review_is_there_for_the_review_store(stores):
    stores.transactions.commit([KeepReview(review())])

    assert stores.reviews.add(review()) is False
    assert stores.reviews.add(review("evt_2")) is True


def test_keeping_the_same_review_twice_is_harmless(stores):
    stores.transactions.commit([KeepReview(review())])
    stores.transactions.commit([KeepReview(review())])


def test_an_emitted_message_waits_in_the_outbox(stores):
    emitted = message()
    stores.transactions.commit([Emit(emitted)])

    assert stores.outbox.due(NOW) == [emitted]
    assert stores.outbox.get(emitted) == emitted


def test_a_failed_condition_emits_nothing_and_keeps_no_review(stores):
    invoice = create(stores)
    with pytest.raises(ConflictError):
        stores.transactions.commit([SaveInvoice(None, invoice), Emit(message()), KeepReview(review())])

    assert stores.outbox.due(LATER) == []
    assert stores.reviews.add(review()) is True


def test_an_unregistered_change_is_refused_before_anything_is_written(stores):
    @dataclass(frozen=True)
    class Unknown(Change):
        pass

    invoice = draft()
    with pytest.raises(TypeError, match="Unknown"):
        stores.transactions.commit([SaveInvoice(None, invoice), Unknown()])
    with pytest.raises(NotFoundError):
        stores.invoices.get(invoice.id)


# ---------------------------------------------------------------------------------------- summary


def test_an_account_without_invoices_has_an_empty_summary(stores):
    assert stores.invoices.summary("acc_none") == AccountSummary()


def test_the_summary_follows_every_change_and_equals_the_recomputed_one(stores):
    # Given invoices in every status the summary counts, for two accounts
    pending = issue(stores, partial_payment=True)
    part = pay(stores, pending, 6200, "pay_a")
    paid = pay(stores, issue(stores), 106200, "pay_b")
    over = pay(stores, issue(stores), 106200 + 900, "pay_c")  # refund of 900 pending
    late = overdue(stores, issue(stores))
    cancelled = save(stores, (c := issue(stores)), c.cancel(LATER))
    expired = save(
        stores, (e := pay(stores, issue(stores, partial_payment=True), 200, "pay_d")), e.expire(LATER)
    )
    after_cancel = pay(stores, cancelled, 500, "pay_e")  # refunded in full
    drafts = create(stores)
    other = issue(stores, account_id="acc_2")

    # Then each account's stored totals are what recomputing them from its invoices gives
    mine = [part, paid, over, late, after_cancel, expired, drafts]
    assert stores.invoices.summary("acc_1") == summarize(mine)
    assert stores.invoices.summary("acc_1").total_paid == 6200 + 106200 + 106200 + 200
    assert stores.invoices.summary("acc_2") == summarize([other])


def test_a_rejected_commit_leaves_the_summary_alone(stores):
    invoice = issue(stores)
    before = stores.invoices.summary("acc_1")

    with pytest.raises(ConflictError):
        save(
            stores, invoice.revise({"notes": "x"}, LATER), invoice.revise({"notes": "x"}, LATER).expire(LATER)
        )

    assert stores.invoices.summary("acc_1") == before


# ------------------------------------------------------------------------------------ delete_draft


def test_a_draft_is_deleted_only_at_the_version_read(stores):
    invoice = create(stores)
    newer = save(stores, invoice, invoice.revise({"notes": "x"}, LATER))

    with pytest.raises(ConflictError):
        stores.invoices.delete_draft(invoice)
    stores.invoices.delete_draft(newer)

    with pytest.raises(NotFoundError):
        stores.invoices.get(invoice.id)


def test_only_a_draft_is_deleted(stores):
    invoice = issue(stores)
    with pytest.raises(InvalidTransitionError):
        stores.invoices.delete_draft(invoice)
    assert stores.invoices.get(invoice.id) == invoice


def test_a_link_that_loses_writes_neither_the_invoice_nor_the_pointer(stores):
    invoice = create(stores)
    linked = invoice.attach_payment_link("inv_Rzp1", LATER)
    save(stores, invoice, invoice.revise({"notes": "meanwhile"}, LATER))

    with pytest.raises(ConflictError):
        stores.transactions.commit(
            [SaveInvoice(invoice, linked), LinkProvider("inv_Rzp1", invoice.id, "acc_1")]
        )

    assert stores.invoices.get(invoice.id).razorpay_invoice_id is None
    with pytest.raises(NotFoundError):
        stores.invoices.find_by_provider_invoice("inv_Rzp1")
