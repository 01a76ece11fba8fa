"""Credit notes and e-invoicing through the handlers under moto: a note on a B2B invoice is registered
by the registrar function as a CRN and its PDF waits for the IRN; failed CRNs are listed and
re-queued through the operator's routes; the API's cancellation reaches the IRP through the GSP
adapter it is wired with, and answers 503 while the IRP cannot cancel a young IRN.

What each outcome does (the CRN's payload, events and render versions, cancelling after 24 hours,
retries) is tested over the fakes: ``tests/services/test_einvoice_credit_notes.py``; the PDF printing
a credit note's IRN: ``tests/unit/test_einvoice_pdf.py``; an e-invoiced PDF really rendered into S3:
``test_einvoice_flow.py``.
"""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import NOW
from tests.integration.einvoice.conftest import EInvoicing


def test_a_credit_note_on_a_b2b_invoice_waits_for_its_irn_and_is_registered_as_a_crn(
    einvoicing: EInvoicing,
) -> None:
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
    assert (registered["status"], registered["irn"], crn["type"]) == ("generated", crn["irn"], "CRN")
    assert registered["ack_no"] and registered["signed_qr"]


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


def test_a_young_irn_s_cancellation_is_a_503_changing_nothing_while_the_irp_is_down_then_cancels_it(
    einvoicing: EInvoicing,
) -> None:
    # Given a registered invoice, and the GSP refusing our credentials
    invoice = einvoicing.registered()
    einvoicing.irp.expire_tokens()
    secret, einvoicing.irp.client_secret = einvoicing.irp.client_secret, "rotated"

    # When the operator cancels it within 24 hours
    refused = einvoicing.api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    # Then the answer is 503 and nothing changed, here or at the IRP
    assert (refused.status, refused.error["code"]) == (503, "service_unavailable")
    unchanged = einvoicing.invoice(invoice["id"])
    assert (unchanged["status"], unchanged["e_invoice"]["status"], unchanged["credit_notes"]) == (
        invoice["status"],
        "generated",
        [],
    )
    assert einvoicing.at_irp()[invoice["invoice_number"]]["status"] == "active"
    notes = einvoicing.api.operator("GET", "/credit-notes", query={"account_id": "acc_1"})
    assert notes.json()["items"] == []

    # When the IRP answers again and the operator retries
    einvoicing.irp.client_secret = secret
    reply = einvoicing.api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    # Then the IRN is cancelled at the IRP, and the invoice with it
    assert reply.status == 200, reply.text
    cancelled = reply.json()
    assert (cancelled["status"], cancelled["e_invoice"]["status"]) == ("cancelled", "cancelled")
    assert cancelled["e_invoice"]["irn"] == invoice["e_invoice"]["irn"]
    assert einvoicing.at_irp()[invoice["invoice_number"]]["status"] == "cancelled"
