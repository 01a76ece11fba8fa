"""Issuing credit notes: the note and its effect in one commit, the payment link following the
balance, refunds through Razorpay settled by its webhooks, idempotency and races."""

from __future__ import annotations

from datetime import date

import pytest

from invoicing.domain.access import Caller
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.credit_notes import CreditNote
from invoicing.domain.errors import ConflictError, DomainValidationError, InvalidTransitionError
from invoicing.domain.invoice import InvoiceStatus, Payment, RefundReason, RefundStatus
from invoicing.domain.queries import IdempotencyClaim
from invoicing.domain.summary import summarize
from invoicing.services.payments import OutcomeStatus
from tests.services.corrections.conftest import World, invariant, request
from tests.unit.factories import NOW

OPERATOR = Caller(account_id=None, is_operator=True)


def events_named(world: World, name: str) -> list[dict]:
    return [detail for kind, detail, _ in world.events.published if kind == name]


# ------------------------------------------------------------------------------ issued invoice
def test_a_credit_on_an_issued_invoice_is_numbered_applied_and_relinks_the_payment_page(world: World):
    # Given an issued invoice collected by a Razorpay invoice
    invoice = world.issued()
    old_link = invoice.razorpay_invoice_id
    assert old_link

    # When part of its first line is credited
    issued = world.credits.issue(invoice.id, request((0, 10_000)))

    # Then the note is numbered in its own series, and the invoice owes that much less
    note = issued.note
    assert note.credit_note_number == "CN/2627/000001"
    assert (note.taxable_amount, note.tax.cgst, note.tax.sgst, note.amount) == (10_000, 900, 900, 11_800)
    assert note.applied_to_due == note.amount and note.refund_amount == 0
    after = world.invoice(invoice.id)
    assert after.amount_credited == 11_800
    assert after.amount_due == invoice.amount - 11_800
    assert after.status is InvoiceStatus.ISSUED
    assert world.store.markers[("CN/2627", 1)]["document_id"] == note.id
    assert world.store.summary("acc_1").total_pending == after.amount_due
    invariant(after)

    # And once its side effects ran: the old link is cancelled, a new one collects the balance
    world.drain()
    relinked = world.invoice(invoice.id)
    assert relinked.razorpay_invoice_id != old_link
    assert world.razorpay(old_link)["status"] == "cancelled"
    new = world.razorpay(relinked.razorpay_invoice_id)
    assert (new["status"], new["amount_due"]) == ("issued", relinked.amount_due)
    assert new["receipt"] == invoice.invoice_number  # free again: the old one is cancelled
    assert relinked.payment_url == new["short_url"]
    assert world.store.find_by_provider_invoice(relinked.razorpay_invoice_id).id == invoice.id
    assert world.store.find_by_provider_invoice(old_link).id == invoice.id
    assert "CreditNoteIssued" in world.events.names
    assert ("credit_note", note.id, 1) in world.renders.jobs
    assert any(job[:2] == ("invoice", invoice.id) for job in world.renders.jobs)

    # And paying the new link in full settles the invoice
    world.pay(relinked.razorpay_invoice_id)
    paid = world.invoice(invoice.id)
    assert paid.status is InvoiceStatus.PAID and paid.amount_due == 0 and paid.amount_refunded == 0
    invariant(paid)


def test_a_second_credit_replaces_the_balance_link_again(world: World):
    invoice = world.issued()
    world.credits.issue(invoice.id, request((0, 10_000)))
    world.drain()
    first = world.invoice(invoice.id).razorpay_invoice_id
    world.credits.issue(invoice.id, request((1, 1_000)))
    world.drain()
    after = world.invoice(invoice.id)
    assert after.razorpay_invoice_id != first
    assert world.razorpay(first)["status"] == "cancelled"
    assert world.razorpay(after.razorpay_invoice_id)["amount_due"] == after.amount_due
    assert [c.credit_note_number for c in after.credit_notes] == ["CN/2627/000001", "CN/2627/000002"]


def test_a_full_credit_of_an_unpaid_invoice_settles_it_and_cancels_its_link(world: World):
    invoice = world.issued()
    issued = world.credits.issue(invoice.id, request(full=True))
    after = world.invoice(invoice.id)
    assert after.status is InvoiceStatus.PAID and after.amount_due == 0
    assert after.amount_credited == after.amount
    assert issued.note.amount == invoice.amount
    world.drain()
    assert world.razorpay(invoice.razorpay_invoice_id)["status"] == "cancelled"
    assert world.invoice(invoice.id).payment_url is None
    paid_event = events_named(world, "InvoicePaid")[-1]
    assert paid_event["settled_by"] == "credit_note"


# ------------------------------------------------------------------------- partly paid invoice
def test_a_partly_paid_invoice_keeps_its_old_link_and_gets_a_new_one_for_the_balance(world: World):
    # Given an invoice partly paid on its Razorpay invoice (which can no longer be cancelled)
    invoice = world.issued(partial_payment=True)
    old_link = invoice.razorpay_invoice_id
    world.pay(old_link, 40_000)

    # When a credit note reduces the balance
    world.credits.issue(invoice.id, request((0, 20_000)))
    world.drain()

    # Then a second Razorpay invoice collects exactly the new balance, under a suffixed receipt
    after = world.invoice(invoice.id)
    assert world.razorpay(old_link)["status"] == "partially_paid"
    new = world.razorpay(after.razorpay_invoice_id)
    assert new["receipt"] == f"{invoice.invoice_number}-2"
    assert new["amount_due"] == after.amount_due
    assert after.payment_url == new["short_url"]

    # When the customer still pays everything the old link asks (more than is now due)
    old_due = world.razorpay(old_link)["amount_due"]
    assert old_due > after.amount_due
    world.pay(old_link)

    # Then the payment is recorded, the excess refunded, the new link cancelled (nothing is due)
    paid = world.invoice(invoice.id)
    assert paid.status is InvoiceStatus.PAID
    assert paid.amount_due == 0
    assert paid.amount_refunded == old_due - after.amount_due
    assert [(r.reason, r.status) for r in paid.refunds] == [(RefundReason.OVERPAYMENT, RefundStatus.PENDING)]
    assert world.razorpay(after.razorpay_invoice_id)["status"] == "cancelled"
    assert paid.payment_url is None
    invariant(paid)

    # And the refund Razorpay made settles through refund.processed
    [refund] = world.standin.pending_refunds()
    assert refund["amount"] == paid.amount_refunded
    assert refund["notes"]["refund_id"] == paid.refunds[0].id
    outcomes = world.settle_refunds()
    assert [o.status for o in outcomes] == [OutcomeStatus.PROCESSED]
    settled = world.invoice(invoice.id)
    assert settled.refunds[0].status is RefundStatus.PROCESSED
    assert settled.refunds[0].razorpay_refund_id == refund["id"]
    assert "RefundProcessed" in world.events.names
    invariant(settled)


# -------------------------------------------------------------------------------- paid invoice
def test_a_credit_on_a_paid_invoice_is_refunded_through_razorpay_newest_payment_first(world: World):
    # Given an invoice paid in two parts
    invoice = world.issued(partial_payment=True)
    world.pay(invoice.razorpay_invoice_id, 30_000)
    world.pay(invoice.razorpay_invoice_id)
    paid = world.invoice(invoice.id)
    assert paid.status is InvoiceStatus.PAID
    newest = paid.payments[-1]

    # When a credit note is issued on it
    issued = world.credits.issue(paid.id, request((1, 4_550)))

    # Then all of it is refunded, against the newest payment, idempotently keyed by our refund id
    note = issued.note
    assert note.applied_to_due == 0 and note.refund_amount == note.amount
    world.drain()
    [refund] = world.standin.pending_refunds()
    assert (refund["payment_id"], refund["amount"]) == (newest.id, note.amount)
    assert refund["receipt"] == note.refund_ids[0]
    view = world.credits.get(OPERATOR, note.id)
    assert view.refund_status is RefundStatus.PENDING

    # And refund.processed settles it: the credit note shows it processed with Razorpay's id
    world.settle_refunds()
    view = world.credits.get(OPERATOR, note.id)
    assert view.refund_status is RefundStatus.PROCESSED
    assert [r.razorpay_refund_id for r in view.refunds] == [refund["id"]]
    invariant(world.invoice(paid.id))


def test_a_refund_razorpay_fails_says_failed_and_nothing_else_changes(world: World):
    invoice = world.issued()
    world.pay(invoice.razorpay_invoice_id)
    note = world.credits.issue(invoice.id, request((0, 5_000))).note
    world.drain()
    before = world.invoice(invoice.id)
    [refund] = world.standin.pending_refunds()

    outcomes = world.deliver(world.standin.fail_refund(refund["id"]))
    world.drain()

    assert [o.status for o in outcomes] == [OutcomeStatus.PROCESSED]
    after = world.invoice(invoice.id)
    assert after.refunds[0].status is RefundStatus.FAILED
    assert after.refunds[0].failure_reason
    unchanged = ("status", "amount_paid", "amount_refunded", "amount_credited", "amount_due", "payment_url")
    for name in (*unchanged, "payments"):
        assert getattr(after, name) == getattr(before, name), name
    assert world.credits.get(OPERATOR, note.id).refund_status is RefundStatus.FAILED
    assert "RefundFailed" in world.events.names
    invariant(after)


# ------------------------------------------------------------------------ overdue and expired
def test_a_credit_covering_an_overdue_balance_settles_it_and_restores_service(world: World):
    invoice = world.issued()
    world.save(invoice.id, lambda i: i.mark_overdue(date(2026, 11, 1), NOW))
    world.save(invoice.id, lambda i: i.request_suspension(NOW))
    world.credits.issue(invoice.id, request(full=True))
    after = world.invoice(invoice.id)
    assert after.status is InvoiceStatus.PAID
    assert after.next_sweep_on is None
    world.drain()
    assert {"InvoicePaid", "ServiceRestorationRequested", "CreditNoteIssued"} <= set(world.events.names)


def test_an_expired_invoice_keeps_its_debt_less_the_credit_and_gets_no_new_link(world: World):
    invoice = world.issued()
    expired = world.save(invoice.id, lambda i: i.expire(NOW))
    world.credits.issue(invoice.id, request((0, 10_000)))
    world.drain()
    after = world.invoice(invoice.id)
    assert after.status is InvoiceStatus.EXPIRED
    assert after.amount_due == expired.amount_due - 11_800
    assert after.payment_url is None
    assert after.razorpay_invoice_id == invoice.razorpay_invoice_id


# ---------------------------------------------------------------------------------- refusals
def test_refusals_change_nothing(world: World):
    invoice = world.issued()
    commits = world.store.commits
    with pytest.raises(DomainValidationError):
        world.credits.issue(invoice.id, request((0, invoice.line_items[0].amount + 1)))
    with pytest.raises(InvalidTransitionError) as late:
        world.clock.set(NOW.replace(year=2027, month=12, day=1))
        world.credits.issue(invoice.id, request((0, 100)))
    assert "30 November" in late.value.message
    assert world.store.commits == commits
    assert world.store.counters.get("CN/2627") is None and world.store.counters.get("CN/2728") is None


def test_drafts_and_cancelled_invoices_cannot_be_credited(world: World):
    issued = world.invoice(world.issued().id)
    fields = {
        "customer": issued.customer,
        "billing_period": issued.billing_period,
        "line_items": issued.line_items,
    }
    draft = world.invoices.create(account_id="acc_1", fields=fields)
    with pytest.raises(InvalidTransitionError) as refused:
        world.credits.issue(draft.id, request(full=True))
    assert "draft" in refused.value.message

    world.credits.cancel(issued.id)
    with pytest.raises(InvalidTransitionError) as refused:
        world.credits.issue(issued.id, request((0, 100)))
    assert "cancelled" in refused.value.message
    assert len(world.invoice(issued.id).credit_notes) == 1  # the cancellation's own


# ------------------------------------------------------------------------------- idempotency
def test_the_same_request_twice_with_the_same_key_gives_the_same_note_once(world: World):
    invoice = world.issued()
    claim = IdempotencyClaim.of("key-1", b'{"the":"body"}')
    first = world.credits.issue(invoice.id, request((0, 10_000)), claim)
    again = world.credits.issue(invoice.id, request((0, 10_000)), claim)
    assert again.replayed and again.note == first.note
    after = world.invoice(invoice.id)
    assert len(after.credit_notes) == 1
    assert world.store.counters["CN/2627"] == 1

    other = IdempotencyClaim.of("key-1", b'{"another":"body"}')
    with pytest.raises(ConflictError) as reused:
        world.credits.issue(invoice.id, request((0, 500)), other)
    assert reused.value.details[0]["loc"] == ["header", "Idempotency-Key"]
    assert len(world.invoice(invoice.id).credit_notes) == 1
    assert world.store.counters["CN/2627"] == 1  # gap-free: the refusal took no number


# ------------------------------------------------------------------------------------- races
def test_a_credit_racing_a_payment_webhook_retries_and_the_invariant_holds(world: World, monkeypatch):
    # Given an issued invoice, and a payment that lands between the credit's read and its commit
    invoice = world.issued()
    original = world.store.commit
    injected = []

    def commit(changes):
        if not injected and any(type(c).__name__ == "SaveCreditNote" for c in changes):
            stored = world.invoice(invoice.id)
            payment = Payment(id="pay_race", amount=stored.amount_due, method="upi", paid_at=NOW)
            original([SaveInvoice(stored, stored.apply_payment(payment, NOW))])
            injected.append(payment)
        return original(changes)

    monkeypatch.setattr(world.store, "commit", commit)

    # When the credit is issued
    issued = world.credits.issue(invoice.id, request((0, 10_000)))

    # Then it lost the first race, read again, and was planned on the paid invoice: all refunded
    assert injected
    after = world.invoice(invoice.id)
    assert after.status is InvoiceStatus.PAID
    assert issued.note.applied_to_due == 0 and issued.note.refund_amount == issued.note.amount
    assert after.amount_refunded == issued.note.amount
    assert world.store.counters["CN/2627"] == 1  # the lost attempt took no number
    invariant(after)
    assert summarize([after]) == world.store.summary("acc_1")


def test_a_payment_webhook_racing_a_credit_retries_and_the_invariant_holds(world: World, monkeypatch):
    # Given an issued invoice, and a credit that commits between the webhook's read and its write
    invoice = world.issued()
    original = world.store.commit
    raced = []

    def commit(changes):
        if not raced and any(isinstance(c, SaveInvoice) and c.after.payments for c in changes):
            raced.append(world.credits.issue(invoice.id, request((0, 10_000))))
        return original(changes)

    monkeypatch.setattr(world.store, "commit", commit)

    # When the customer pays what the (old) link asks
    outcomes = world.deliver(world.standin.pay(invoice.razorpay_invoice_id, None, "upi"))

    # Then the webhook re-read the credited invoice: paid, the excess refunded
    assert raced and outcomes[0].status is OutcomeStatus.PROCESSED
    after = world.invoice(invoice.id)
    assert after.status is InvoiceStatus.PAID
    assert after.amount_refunded == raced[0].note.amount
    invariant(after)


def test_a_number_taken_meanwhile_makes_the_credit_take_the_next(world: World, monkeypatch):
    invoice = world.issued()
    other = world.issued()
    original = world.store.commit
    taken: list = []

    def commit(changes):
        if not taken and any(type(c).__name__ == "TakeNumber" and c.series == "CN/2627" for c in changes):
            taken.append(None)  # once: the injected credit commits through here too
            taken[0] = world.credits.issue(other.id, request((0, 100)))
        return original(changes)

    monkeypatch.setattr(world.store, "commit", commit)
    issued = world.credits.issue(invoice.id, request((0, 100)))
    assert taken[0].note.credit_note_number == "CN/2627/000001"
    assert issued.note.credit_note_number == "CN/2627/000002"


# ------------------------------------------------------------------------------------- cancel
def test_cancelling_issues_a_full_cancellation_note_and_cancels_at_razorpay(world: World):
    invoice = world.issued()
    cancelled = world.credits.cancel(invoice.id)
    assert cancelled.status is InvoiceStatus.CANCELLED
    assert cancelled.amount_due == 0 and cancelled.amount_credited == cancelled.amount
    assert cancelled.payment_url is None
    summary = world.store.summary("acc_1")
    assert (summary.total_pending, summary.count_pending) == (0, 0)
    note: CreditNote = world.credit_notes.get(cancelled.credit_notes[0].id)
    assert note.reason.value == "cancellation"
    assert note.amount == invoice.amount
    assert world.razorpay(invoice.razorpay_invoice_id)["status"] == "cancelled"
    world.drain()
    assert {"InvoiceCancelled", "CreditNoteIssued"} <= set(world.events.names)
    invariant(world.invoice(invoice.id))


def test_a_paid_invoice_cannot_be_cancelled_and_razorpay_is_not_touched(world: World):
    invoice = world.issued()
    world.pay(invoice.razorpay_invoice_id)
    with pytest.raises(InvalidTransitionError):
        world.credits.cancel(invoice.id)
    assert world.razorpay(invoice.razorpay_invoice_id)["status"] == "paid"


# ---------------------------------------------------------------------------------------- reads
def test_customers_see_their_own_credit_notes_newest_first(world: World):
    invoice = world.issued()
    ids = [world.credits.issue(invoice.id, request((0, 100 + n))).note.id for n in range(3)]
    customer = Caller(account_id="acc_1")
    page = world.credits.list(customer, None, limit=2, cursor=None)
    assert [v.note.id for v in page.items] == ids[::-1][:2]
    rest = world.credits.list(customer, None, limit=2, cursor=page.next_cursor)
    assert [v.note.id for v in rest.items] == ids[:1] and rest.next_cursor is None
    with pytest.raises(Exception) as hidden:
        world.credits.get(Caller(account_id="acc_other"), ids[0])
    assert type(hidden.value).__name__ == "NotFoundError"
