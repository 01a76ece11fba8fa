"""Receipt-voucher PDFs (every CGST Rule 50 field) and what an invoice settled from advances prints."""

from __future__ import annotations

import io
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from invoicing.adapters.pdf import InvoicePdfRenderer, invoice_view
from invoicing.adapters.pdf_receipt import ReceiptPdfRenderer, receipt_view
from invoicing.domain.wallet import Advance, TopUp, issue_receipt, plan_settlement
from tests.unit.factories import NOW, customer, issued, line, payment, supplier

ASSETS = Path(__file__).resolve().parents[2] / "functions" / "pdf_renderer"


@pytest.fixture(scope="module")
def renderer() -> ReceiptPdfRenderer:
    return ReceiptPdfRenderer(ASSETS)


def text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def receipt(*, intra_state: bool = True, **customer_overrides):
    top_up = TopUp.create(
        top_up_id="top_Abcdefghijklmn",
        account_id="acc_1",
        amount=1_234_567,
        supplier=supplier(),
        customer=customer(intra_state=intra_state, **customer_overrides),
        now=NOW,
    )
    return issue_receipt(
        top_up,
        payment(top_up.total, "pay_Receipt000001", method="netbanking"),
        receipt_id="rcv_Abcdefghijklmn",
        receipt_number="RV/2627/000042",
        today=date(2026, 10, 1),
        now=NOW + timedelta(minutes=1),
    )


@cache
def printed_receipt() -> bytes:
    """``receipt()`` rendered once, for the tests that only read it."""
    return ReceiptPdfRenderer(ASSETS).render_receipt(receipt())


def test_an_intra_state_receipt_voucher_prints_every_rule_50_field():
    printed = text(printed_receipt())

    for field in (
        "Receipt Voucher",
        "Example Cloud Pvt Ltd",  # supplier name, address, GSTIN
        "4th Floor, Example Towers",
        "GSTIN 27AAPFU0939F1ZV",
        "RV/2627/000042",  # its number and date of issue
        "01 Oct 2026",
        "Acme Analytics LLP",  # recipient name, address, GSTIN
        "Mumbai, Maharashtra 400001, India",
        "Advance for GPU cloud services",  # description of the services, and their SAC
        "998315",
        "12,345.67",  # the advance (taxable value)
        "CGST @ 9%",  # rate and amount of each tax: 9 % of 12,345.67 = 1,111.11 each
        "SGST @ 9%",
        "1,111.11",
        "14,567.89",
        "Rupees Fourteen Thousand Five Hundred Sixty-Seven and Eighty-Nine Paise Only",
        "Maharashtra (27)",  # place of supply, state name and code
        "Reverse charge: No",
        "Authorised signatory",
        "Net banking",
        "Page 1 of 1",
        # the tax on the advance is charged here, and set off when the advance is adjusted
        "The GST of ₹2,222.22 on this advance is charged on this voucher",
        "computer-generated receipt voucher",
    ):
        assert field in printed, field
    assert "IGST" not in printed and "paid with this voucher" not in printed


def test_an_unregistered_recipient_is_said_so_and_an_inter_state_advance_carries_igst(renderer):
    view = receipt_view(receipt(intra_state=False))
    assert [(t["name"], t["rate"], t["amount"]) for t in view["taxes"]] == [("IGST", "18%", "2,222.22")]
    assert view["place_of_supply"] == "Gujarat (24)" and view["supply_type"] == "Inter-state (IGST)"
    printed = text(renderer.render_receipt(receipt(gstin=None)))
    assert "GSTIN Unregistered" in printed


def test_the_same_voucher_renders_the_same_bytes(renderer):
    # the voucher rendered now, and as this process first rendered it (by another renderer)
    assert renderer.render_receipt(receipt()) == printed_receipt()


def test_an_invoice_settled_from_advances_names_the_receipt_vouchers_drawn_on():
    invoice = issued(line_items=[line(quantity="1", unit_rate="1000")])
    advances = [Advance("acc_1", "rcv_1", "RV/2627/000001", date(2026, 9, 1), 50_000, 50_000)]
    settled = plan_settlement(invoice, advances, NOW + timedelta(hours=1))
    assert settled is not None

    (printed,) = invoice_view(settled.after)["payments"]

    assert (printed["method"], printed["id"], printed["amount"]) == (
        "Advance adjusted",
        "RV/2627/000001",
        "590.00",
    )
    assert "RV/2627/000001" in text(InvoicePdfRenderer(ASSETS).render(settled.after))
