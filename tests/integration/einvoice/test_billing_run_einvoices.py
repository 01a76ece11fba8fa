"""A billing run's B2B invoice is e-invoiced like one an operator issues: pending at issue, queued
through the outbox, registered by the registrar function (the billing function shares the issue
path, so its wiring must see the e-invoicing mode)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from invoicing.domain.numbering import IST
from tests.integration.einvoice.conftest import B2B_CUSTOMER, EInvoicing
from tests.support.functions import functions

BILLING = "BillingRunFunction"
METERING = {"sub": "metering-service", "scope": "usage:write"}


def test_a_billing_runs_b2b_invoice_is_registered_with_the_irp(einvoicing: EInvoicing):
    api = einvoicing.api
    einvoicing.clock.set(datetime(2026, 12, 1, 4, 0, tzinfo=UTC))
    price = {
        "description": "NVIDIA H100 GPU",
        "resource_type": "pod",
        "unit": "GPU-hour",
        "unit_rate": "245.50",
        "effective_from": "2026-10-01",
    }
    assert api.operator("PUT", "/prices/gpu.h100.hour", body=price).status == 200
    profile = {"customer": B2B_CUSTOMER, "billing_model": "postpaid"}
    assert api.operator("PUT", "/accounts/acc_b2b/billing-profile", body=profile).status == 200
    start = datetime(2026, 11, 3, 10, tzinfo=IST)
    record = {
        "id": "rec-b2b-1",
        "account_id": "acc_b2b",
        "sku": "gpu.h100.hour",
        "resource_id": "pod-1",
        "resource_name": "train-1",
        "quantity": "8",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=8)).isoformat(),
    }
    posted = api.call("POST", "/usage", claims=METERING, body={"records": [record]})
    assert posted.status == 200, posted.text

    started = api.operator("POST", "/billing-runs", body={"period": "2026-11"})
    assert started.status == 202, started.text
    functions().feed(BILLING, einvoicing.effects.env["BILLING_QUEUE_URL"])

    summary = api.customer("acc_b2b", "GET", "/usage/summary", query={"period": "2026-11"}).json()
    invoice = einvoicing.invoice(summary["invoice_id"])
    assert (invoice["status"], invoice["origin"]) == ("issued", "billing_run")
    assert invoice["e_invoice"]["status"] == "pending"

    assert [job["document_id"] for job in einvoicing.register()] == [invoice["id"]]
    registered = einvoicing.invoice(invoice["id"])["e_invoice"]
    assert registered["status"] == "generated"
    (at_irp,) = einvoicing.irp.documents()
    assert (at_irp["irn"], at_irp["type"]) == (registered["irn"], "INV")
