"""What a commit carries: its changes (domain/changes.py), its outbox message (domain/outbox.py) and
the side effects one change of an invoice sets off (domain/effects.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from invoicing.domain.changes import Emit, IdempotentReplay, SaveInvoice
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.events import SOURCE, invoice_detail
from invoicing.domain.outbox import (
    OutboxMessage,
    PublishEvent,
    RenderDocument,
    RequestRefund,
    SendReminder,
)
from tests.unit.factories import NOW, draft, issued, payment

LATER = NOW + timedelta(hours=1)


# ---------------------------------------------------------------------------------------- changes


def test_a_new_invoice_is_saved_at_version_1():
    invoice = draft()
    assert SaveInvoice(None, invoice).after is invoice
    with pytest.raises(ValueError, match="version 1"):
        SaveInvoice(None, issued())


def test_a_save_moves_an_invoice_exactly_one_version_on():
    before = issued()
    after = before.revise({"notes": "x"}, LATER)

    assert SaveInvoice(before, after).before is before
    with pytest.raises(ValueError, match="next version"):
        SaveInvoice(before, after.revise({"notes": "y"}, LATER))
    with pytest.raises(ValueError, match="next version"):
        SaveInvoice(before, issued().revise({"notes": "x"}, LATER))  # another invoice


def test_a_replay_names_what_the_first_request_made():
    assert IdempotentReplay("inv_1").result_id == "inv_1"


# ----------------------------------------------------------------------------------------- outbox


def test_an_outbox_message_has_an_id_and_at_least_one_effect():
    message = OutboxMessage(
        account_id="acc_1", created_at=NOW, effects=(RenderDocument(document_id="inv_1"),)
    )

    assert message.id.startswith("obx_") and message.attempts == 0
    assert message.event_id(0) == f"{message.id}:0"
    with pytest.raises(ValidationError):
        OutboxMessage(account_id="acc_1", created_at=NOW, effects=())


def test_an_outbox_message_round_trips_every_effect_kind_through_json():
    message = OutboxMessage(
        account_id="acc_1",
        created_at=NOW,
        effects=(
            PublishEvent(detail_type="InvoicePaid", detail={"invoice_id": "inv_1", "amount_due": 0}),
            RenderDocument(document_id="inv_1", version=3),
            SendReminder(invoice_id="inv_1", today=NOW.date(), first_notice=True),
            RequestRefund(refund_id="rfd_1", payment_id="pay_1", amount=500, invoice_id="inv_1"),
        ),
    )

    again = OutboxMessage.model_validate_json(message.model_dump_json())

    assert again == message
    assert [type(e) for e in again.effects] == [PublishEvent, RenderDocument, SendReminder, RequestRefund]


def test_a_refund_of_nothing_is_refused():
    with pytest.raises(ValidationError):
        RequestRefund(refund_id="rfd_1", payment_id="pay_1", amount=0)


# ---------------------------------------------------------------------------------------- effects


def test_creating_a_draft_sets_off_nothing():
    assert invoice_effects(None, draft()) == []
    assert emit("acc_1", [], NOW) == []


def test_issuing_publishes_its_event_and_renders_the_first_pdf():
    before = draft()
    after = issued(before)

    effects = invoice_effects(before, after, ["InvoiceIssued"])

    assert effects == [
        PublishEvent(detail_type="InvoiceIssued", detail=invoice_detail(after)),
        RenderDocument(document="invoice", document_id=after.id, version=after.version),
    ]
    assert effects[0].detail["status"] == "issued" and SOURCE == "invoicing"


def test_a_change_nobody_prints_renders_nothing():
    before = issued()
    after = before.revise({"partial_payment": True}, LATER)
    assert invoice_effects(before, after) == []


def test_an_overpayment_asks_for_a_refund_of_the_excess_once():
    before = issued()
    after = before.apply_payment(payment(before.amount + 250, "pay_over"), LATER)
    (refund,) = after.refunds

    effects = invoice_effects(before, after, ["InvoicePaid"])

    assert [type(e) for e in effects] == [PublishEvent, RenderDocument, RequestRefund]
    assert effects[-1] == RequestRefund(
        refund_id=refund.id, payment_id="pay_over", amount=250, invoice_id=after.id
    )
    # the next change of the invoice does not ask again
    later = after.revise({"notes": "thanks"}, LATER)
    assert not any(isinstance(e, RequestRefund) for e in invoice_effects(after, later))


def test_an_event_may_be_given_whole():
    before = issued()
    event = PublishEvent(detail_type="Custom", detail={"x": 1})
    assert invoice_effects(before, before.revise({"partial_payment": True}, LATER), [event]) == [event]


def test_emit_wraps_the_effects_in_one_message_for_the_account():
    effects = [RenderDocument(document_id="inv_1")]

    (change,) = emit("acc_1", effects, NOW)

    assert isinstance(change, Emit)
    assert (change.message.account_id, change.message.created_at) == ("acc_1", NOW)
    assert change.message.effects == tuple(effects)
