"""Credit notes and e-invoicing through the handlers under moto: a note on a B2B invoice is registered
as a CRN naming its invoice and its PDF prints the IRN; cancellation cancels a young IRN at the IRP
first, or registers the cancellation's credit note as a CRN; failed CRNs are listed and re-queued.
"""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import NOW
from tests.integration.einvoice.conftest import EInvoicing


def test_a_credit_note_on_a_b2b_invoice_is_registered_as_a_crn_and_its_pdf_prints_the_irn(
    einvoicing: EInvoicing,
):
    api = einvoicing.api
    invoice = einvoicing.registered()

    created = einvoicing.credit(invoice["id"])
    assert created.status == 201, created.text
    note = created.json()
    assert note["e_invoice"]["status"] == "pending"
    waiting = api.customer("acc_1", "GET", f"/credit-notes/{note['id']}/pdf")
    assert waiting.status == 202  # waits for its IRN

    assert [(j["document"], j["document_id"]) for j in einvoicing.register()] == [("credit_note", note["id"])]

    registered = einvoicing.credit_note(note["id"])["e_invoice"]
    crn = einvoicing.at_irp()[note["credit_note_number"]]
    assert (registered["status"], registered["irn"]) == ("generated", crn["irn"])
    assert crn["type"] == "CRN" and crn["total"] == note["amount"]
    assert crn["preceding_document"] == {"InvNo": invoice["invoice_number"], "InvDt": "01/10/2026"}
    events = einvoicing.effects.events()
    assert [d["type"] for name, d in events if name == "EInvoiceGenerated"] == ["invoice", "credit_note"]

    rendered = [job for job in einvoicing.effects.render() if job["document_id"] == note["id"]]
    assert [job["version"] for job in rendered] == [2]
    link = api.customer("acc_1", "GET", f"/credit-notes/{note['id']}/pdf")
    assert link.status == 200, link.text
    text = einvoicing.pdf_text(f"pdfs/acc_1/{note['id']}/v2.pdf")
    assert registered["irn"] in text and registered["ack_no"] in text


def test_a_failed_crn_is_listed_with_its_type_refuses_its_pdf_and_is_re_queued(einvoicing: EInvoicing):
    api = einvoicing.api
    invoice = einvoicing.registered()
    note = einvoicing.credit(invoice["id"]).json()
    einvoicing.clock.set(NOW + timedelta(days=31))  # past the 30-day rule: too late as it is dated
    einvoicing.register()

    (row,) = api.operator("GET", "/e-invoices", query={"status": "failed"}).json()["items"]
    assert (row["type"], row["document_id"], row["number"]) == (
        "credit_note",
        note["id"],
        note["credit_note_number"],
    )
    assert row["e_invoice"]["error"]["code"] == "reporting_window"
    refused = api.customer("acc_1", "GET", f"/credit-notes/{note['id']}/pdf")
    assert (refused.status, refused.error["code"]) == (409, "invalid_state")

    assert api.customer("acc_1", "POST", f"/credit-notes/{note['id']}/e-invoice/retry").status == 403
    accepted = api.operator("POST", f"/credit-notes/{note['id']}/e-invoice/retry")
    assert (accepted.status, accepted.json()["e_invoice"]["status"]) == (202, "pending")
    assert api.operator("GET", "/e-invoices", query={"status": "failed"}).json()["items"] == []
    assert api.operator("POST", "/credit-notes/cn_missing/e-invoice/retry").status == 404


def test_cancelling_within_24_hours_cancels_the_irn_at_the_irp_before_the_cancellation(
    einvoicing: EInvoicing,
):
    invoice = einvoicing.registered()
    einvoicing.clock.set(NOW + timedelta(hours=20))

    reply = einvoicing.api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert reply.status == 200, reply.text
    cancelled = reply.json()
    assert (cancelled["status"], cancelled["e_invoice"]["status"]) == ("cancelled", "cancelled")
    assert cancelled["e_invoice"]["irn"] == invoice["e_invoice"]["irn"]
    assert einvoicing.at_irp()[invoice["invoice_number"]]["status"] == "cancelled"
    (note,) = einvoicing.api.operator("GET", "/credit-notes", query={"account_id": "acc_1"}).json()["items"]
    assert (note["reason"], note["e_invoice"]["status"]) == ("cancellation", "not_applicable")
    assert einvoicing.register() == []  # nothing more to register


def test_cancelling_after_24_hours_registers_the_cancellation_s_credit_note_as_a_crn(einvoicing):
    invoice = einvoicing.registered()
    einvoicing.clock.set(NOW + timedelta(hours=30))

    cancelled = einvoicing.api.operator("POST", f"/invoices/{invoice['id']}/cancel").json()
    assert cancelled["e_invoice"]["status"] == "generated"  # the IRN stays
    (note,) = einvoicing.api.operator("GET", "/credit-notes", query={"account_id": "acc_1"}).json()["items"]
    assert note["e_invoice"]["status"] == "pending"
    einvoicing.register()

    documents = einvoicing.at_irp()
    assert documents[invoice["invoice_number"]]["status"] == "active"
    crn = documents[note["credit_note_number"]]
    assert (crn["type"], crn["preceding_document"]["InvNo"]) == ("CRN", invoice["invoice_number"])
    assert einvoicing.credit_note(note["id"])["e_invoice"]["status"] == "generated"


def test_when_the_irp_is_down_a_young_irn_s_cancellation_is_a_503_and_changes_nothing(einvoicing):
    invoice = einvoicing.registered()
    einvoicing.irp.expire_tokens()
    einvoicing.irp.client_secret = "rotated"  # the GSP refuses us now

    reply = einvoicing.api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert reply.status == 503, reply.text
    after = einvoicing.invoice(invoice["id"])
    assert (after["status"], after["e_invoice"]["status"], after["credit_notes"]) == (
        invoice["status"],
        "generated",
        [],
    )
    assert (
        einvoicing.api.operator("GET", "/credit-notes", query={"account_id": "acc_1"}).json()["items"] == []
    )
