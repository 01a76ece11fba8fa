"""The payment link follows the balance, and every relink converges: after a failure at any step,
after a lost race, or run twice, there is exactly one Razorpay invoice collecting the balance."""

from __future__ import annotations

import pytest

from infra.local.razorpay_standin import RazorpayError
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.errors import PaymentProviderError
from tests.services.corrections.conftest import World, request


def collecting(world: World, invoice_id: str) -> list[dict]:
    """Razorpay invoices of ours that can still take money."""
    return [
        i
        for i in world.standin.list_invoices({"count": "100"})["items"]
        if isinstance(i["notes"], dict)
        and i["notes"].get("invoice_id") == invoice_id
        and i["status"] in ("issued", "partially_paid")
    ]


def test_relinking_twice_changes_nothing_the_second_time(world: World):
    invoice = world.issued()
    world.credits.issue(invoice.id, request((0, 10_000)))
    world.drain()
    commits = world.store.commits
    relinked = world.invoice(invoice.id)
    assert world.links.relink(invoice.id) == relinked
    assert world.store.commits == commits
    assert [i["id"] for i in collecting(world, invoice.id)] == [relinked.razorpay_invoice_id]


def test_a_relink_interrupted_after_its_draft_was_recorded_issues_that_draft(world: World, monkeypatch):
    invoice = world.issued()
    world.credits.issue(invoice.id, request((0, 10_000)))
    original = world.provider.issue_draft
    monkeypatch.setattr(
        world.provider, "issue_draft", lambda _id: (_ for _ in ()).throw(PaymentProviderError("down"))
    )
    with pytest.raises(PaymentProviderError):
        world.links.relink(invoice.id)
    recorded = world.invoice(invoice.id)
    draft = world.razorpay(recorded.razorpay_invoice_id)
    assert draft["status"] == "draft" and recorded.payment_url is None  # known to us, never payable
    assert world.store.find_by_provider_invoice(draft["id"]).id == invoice.id

    monkeypatch.setattr(world.provider, "issue_draft", original)
    relinked = world.links.relink(invoice.id)

    assert relinked.razorpay_invoice_id == draft["id"]
    assert world.razorpay(draft["id"])["status"] == "issued"
    assert relinked.payment_url == world.razorpay(draft["id"])["short_url"]
    assert [i["id"] for i in collecting(world, invoice.id)] == [draft["id"]]


def test_a_stale_recorded_draft_is_replaced_when_the_balance_moved_again(world: World, monkeypatch):
    invoice = world.issued()
    world.credits.issue(invoice.id, request((0, 10_000)))
    original = world.provider.issue_draft
    monkeypatch.setattr(
        world.provider, "issue_draft", lambda _id: (_ for _ in ()).throw(PaymentProviderError("down"))
    )
    with pytest.raises(PaymentProviderError):
        world.links.relink(invoice.id)
    stale = world.invoice(invoice.id).razorpay_invoice_id
    monkeypatch.setattr(world.provider, "issue_draft", original)

    world.credits.issue(invoice.id, request((1, 1_000)))  # the balance moves before the relink retries
    world.drain()

    after = world.invoice(invoice.id)
    assert after.razorpay_invoice_id != stale
    [link] = collecting(world, invoice.id)
    assert (link["id"], link["amount_due"], link["receipt"]) == (
        after.razorpay_invoice_id,
        after.amount_due,
        invoice.invoice_number,
    )
    assert world.standin.list_invoices({"receipt": invoice.invoice_number})["count"] >= 2
    with pytest.raises(RazorpayError):  # the stale draft, which held the receipt, was deleted
        world.razorpay(stale)


def test_a_relink_that_loses_a_race_reads_again_and_leaves_one_link(world: World, monkeypatch):
    invoice = world.issued()
    world.credits.issue(invoice.id, request((0, 10_000)))
    original = world.store.commit
    raced: list = []

    def commit(changes):
        if not raced and any(
            isinstance(c, SaveInvoice) and c.after.razorpay_invoice_id != c.before.razorpay_invoice_id
            for c in changes
        ):
            raced.append(True)
            world.save(invoice.id, lambda i: i.revise({"notes": "Raced."}, world.clock()))
        return original(changes)

    monkeypatch.setattr(world.store, "commit", commit)
    relinked = world.links.relink(invoice.id)

    assert raced and relinked.notes == "Raced."
    [link] = collecting(world, invoice.id)
    assert link["id"] == relinked.razorpay_invoice_id and link["amount_due"] == relinked.amount_due


def test_a_balance_below_razorpay_s_minimum_gets_no_link(world: World):
    # Given an invoice credited down to less than a rupee (all but one paisa of taxable value)
    invoice = world.issued()
    lines = invoice.line_items
    world.credits.issue(invoice.id, request((0, lines[0].amount), (1, lines[1].amount - 1)))
    assert 0 < world.invoice(invoice.id).amount_due < 100

    # When its link follows the balance
    world.drain()

    # Then Razorpay (which collects at least ₹1.00) has no link for it; the old one is cancelled
    assert world.invoice(invoice.id).payment_url is None
    assert collecting(world, invoice.id) == []
