"""E-invoicing of invoices end to end under moto, through the real handlers: the API issues
(pending), the outbox dispatcher queues the job, the registrar function registers it at the IRP
stand-in (through the real GSP adapter), the PDF waits for the IRN; operators list and re-queue
failures; customers get 403 on the operator routes and 404 on another tenant's documents.

Which buyers are e-invoiced, and every registration outcome and retry: ``tests/services/test_einvoicing.py``.
"""

from __future__ import annotations

import boto3

from tests.integration.einvoice.conftest import B2B_CUSTOMER, EInvoicing
from tests.support.functions import EINVOICE, functions

NOT_A_PIN = B2B_CUSTOMER["address"] | {"postal_code": "38"}  # the payload breaks a rule: 6-digit PINs


def test_an_issued_b2b_invoice_is_registered_after_the_commit_and_then_its_pdf_is_offered(einvoicing):
    api = einvoicing.api
    issued = einvoicing.issued()
    assert issued["e_invoice"]["status"] == "pending"
    assert api.operator("GET", f"/invoices/{issued['id']}/pdf").status == 202  # waits for the IRN
    assert einvoicing.irp.documents() == []  # nothing is sent inline

    assert [job["document_id"] for job in einvoicing.register()] == [issued["id"]]

    invoice = api.customer("acc_1", "GET", f"/invoices/{issued['id']}").json()
    e_invoice = invoice["e_invoice"]
    (at_irp,) = einvoicing.irp.documents()
    assert (e_invoice["status"], e_invoice["irn"], at_irp["type"]) == ("generated", at_irp["irn"], "INV")
    assert len(e_invoice["ack_no"]) == 15 and e_invoice["signed_qr"].count(".") == 2
    jobs = einvoicing.effects.render()  # the (nothing to print yet) and the IRN's version
    assert {j["document_id"] for j in jobs} == {issued["id"]}
    job = max(jobs, key=lambda j: j["version"])
    link = api.customer("acc_1", "GET", f"/invoices/{issued['id']}/pdf")
    assert link.status == 200, link.text
    text = einvoicing.pdf_text(f"pdfs/acc_1/{issued['id']}/v{job['version']}.pdf")
    assert e_invoice["irn"] in text and e_invoice["ack_no"] in text


def test_a_transient_failure_is_retried_from_the_queue_with_a_delay(einvoicing: EInvoicing):
    issued = einvoicing.issued()
    einvoicing.irp.fail_next("transient")
    einvoicing.register()
    invoice = einvoicing.invoice(issued["id"])
    assert (invoice["e_invoice"]["status"], invoice["e_invoice"]["attempts"]) == ("retrying", 1)
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=einvoicing.effects.env["EINVOICE_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_a_failed_registration_is_listed_refuses_the_pdf_and_can_be_requeued_by_an_operator(einvoicing):
    api = einvoicing.api
    bad = einvoicing.issued(address=NOT_A_PIN)
    einvoicing.register()
    assert ("POST", "/eicore/v1.03/Invoice") not in einvoicing.irp.calls  # nothing sent

    page = api.operator("GET", "/e-invoices", query={"status": "failed"}).json()
    (row,) = page["items"]
    assert (row["document_id"], row["type"], row["account_id"]) == (bad["id"], "invoice", "acc_1")
    assert (row["e_invoice"]["error"]["kind"], row["e_invoice"]["error"]["code"]) == ("validation", "pin")

    refused = api.customer("acc_1", "GET", f"/invoices/{bad['id']}/pdf")
    assert (refused.status, refused.error["code"]) == (409, "invalid_state")
    assert "PIN" in refused.error["message"]

    assert api.customer("acc_1", "POST", f"/invoices/{bad['id']}/e-invoice/retry").status == 403
    accepted = api.operator("POST", f"/invoices/{bad['id']}/e-invoice/retry")
    assert (accepted.status, accepted.json()["e_invoice"]["status"]) == (202, "pending")
    assert api.operator("GET", "/e-invoices", query={"status": "failed"}).json()["items"] == []
    assert api.operator("POST", f"/invoices/{bad['id']}/e-invoice/retry").status == 409  # not failed now


def test_customers_get_403_on_operator_routes_and_404_on_another_tenant_s_documents(einvoicing):
    api = einvoicing.api
    theirs = einvoicing.issued("acc_2")
    assert api.customer("acc_1", "GET", "/e-invoices").status == 403
    assert api.customer("acc_1", "GET", f"/invoices/{theirs['id']}/pdf").status == 404
    assert api.customer("acc_1", "GET", f"/invoices/{theirs['id']}").status == 404


def test_a_registration_takes_one_read_and_one_transaction(einvoicing, aws_calls):
    einvoicing.issued()
    einvoicing.effects.drain_outbox()
    aws_calls.clear()
    functions().feed(EINVOICE, einvoicing.effects.env["EINVOICE_QUEUE_URL"])
    assert aws_calls.of("dynamodb") == ["GetItem", "TransactWriteItems"]


def test_a_page_of_failed_registrations_is_one_query_on_the_sparse_index(einvoicing, aws_calls):
    api = einvoicing.api
    for _ in range(3):
        einvoicing.issued(address=NOT_A_PIN)
    einvoicing.register()  # (that the index holds no generated one: test_einvoice_store.py)
    aws_calls.clear()
    page = api.operator("GET", "/e-invoices", query={"status": "failed", "limit": "2"})
    assert page.status == 200 and len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    assert aws_calls.of("dynamodb") == ["Query"]
    rest = api.operator(
        "GET", "/e-invoices", query={"status": "failed", "cursor": page.json()["next_cursor"]}
    )
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    assert api.operator("GET", "/e-invoices", query={"status": "generated"}).status == 422
