"""After the e-invoicing merge: a prepaid account's monthly invoice is e-invoiced like any other
issued invoice (pending at issue, queued through the outbox once, registered by the registrar),
while the billing run settles it from the advances; a B2C prepaid invoice is not e-invoiced."""

from __future__ import annotations

from typing import Any

from tests.integration.wallet.conftest import Wallets


def _only_invoice(wallets: Wallets) -> dict[str, Any]:
    (listed,) = wallets.operator("GET", "/invoices", query={"account_id": "acc_1"}).json()["items"]
    reply = wallets.operator("GET", f"/invoices/{listed['id']}")
    assert reply.status == 200, reply.text
    return reply.json()


def test_a_prepaid_b2b_invoice_is_settled_from_advances_and_registered_with_the_irp(wallets: Wallets, irp):
    # Given a prepaid B2B buyer in another state with ₹5,000 of advance, and a month of usage
    wallets.profile(intra_state=False)
    wallets.paid(amount=500_000)
    wallets.usage(hours=10)  # ₹2,455.00 taxable

    # When the month is run
    run = wallets.run_month()

    # Then the invoice is paid from the advances and awaits its IRN
    invoice = _only_invoice(wallets)
    assert (run["invoices_created"], invoice["status"], invoice["e_invoice"]["status"]) == (
        1,
        "paid",
        "pending",
    )
    assert [p["method"] for p in invoice["payments"]] == ["advance"]
    assert wallets.balance() == 500_000 - 245_500

    # and the registrar registers it once (the settlement queued no second job)
    jobs = wallets.effects.register_e_invoices()
    assert [job["document_id"] for job in jobs] == [invoice["id"]]
    registered = _only_invoice(wallets)
    assert (registered["status"], registered["e_invoice"]["status"]) == ("paid", "generated")
    (at_irp,) = irp.documents()
    assert (at_irp["irn"], at_irp["type"], at_irp["number"]) == (
        registered["e_invoice"]["irn"],
        "INV",
        invoice["invoice_number"],
    )


def test_a_prepaid_b2c_invoice_is_not_e_invoiced(wallets: Wallets, irp):
    buyer = {
        "name": "Asha Rao",
        "email": "asha@example.com",
        "state_code": "27",
        "address": {
            "line1": "4 Law College Road",
            "city": "Pune",
            "state": "Maharashtra",
            "postal_code": "411004",
        },
    }
    reply = wallets.operator(
        "PUT", "/accounts/acc_1/billing-profile", body={"customer": buyer, "billing_model": "prepaid"}
    )
    assert reply.status == 200, reply.text
    wallets.paid(amount=500_000)
    wallets.usage(hours=2)

    wallets.run_month()

    invoice = _only_invoice(wallets)
    assert (invoice["status"], invoice["e_invoice"]["status"]) == ("paid", "not_applicable")
    assert wallets.effects.register_e_invoices() == [] and irp.documents() == []
