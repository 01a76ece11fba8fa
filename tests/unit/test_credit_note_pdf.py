"""Credit-note PDFs (every CGST Rule 53 field) and what an invoice's PDF says about its corrections."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from invoicing.adapters.pdf import InvoicePdfRenderer, credit_note_view, invoice_view
from invoicing.domain import credit_notes as rules
from invoicing.domain.credit_notes import CreditReason, CreditRequest
from invoicing.domain.invoice import Invoice
from invoicing.domain.numbering import ist_date
from tests.unit.factories import NOW, customer, issued, line, payment

ASSETS = Path(__file__).resolve().parents[2] / "functions" / "pdf_renderer"
TODAY = ist_date(NOW)


@pytest.fixture(scope="module")
def renderer() -> InvoicePdfRenderer:
    return InvoicePdfRenderer(ASSETS)


def text(pdf: bytes) -> str:
    """The pages' text, whitespace (and the line breaks of wrapped text) collapsed."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def partly_paid(intra_state: bool = True) -> Invoice:
    invoice = issued(
        customer=customer(intra_state=intra_state),
        partial_payment=True,
        line_items=[line(), line(resource_name="disk-1", quantity="91", unit="GB", unit_rate="0.5")],
    )
    return invoice.apply_payment(payment(60_000), NOW)


def credited(invoice: Invoice, *pairs: tuple[int, int], full: bool = False):
    request = CreditRequest(
        reason=CreditReason.DEFICIENT_SERVICE,
        description="VM unavailable for 3 days.",
        lines=pairs,
        full=full,
    )
    return rules.plan_credit(
        invoice, request, note_id="cn_Pdf", credit_note_number="CN/2627/000007", today=TODAY, now=NOW
    )


def part_credited():
    """A partly paid intra-state invoice credited ₹400 of its first line."""
    return credited(partly_paid(intra_state=True), (0, 40_000))


@cache
def printed_note() -> bytes:
    """``part_credited()``'s credit note rendered once, for the tests that only read it."""
    return InvoicePdfRenderer(ASSETS).render_credit_note(part_credited().note)


def test_the_credit_note_pdf_carries_every_rule_53_field():
    page = text(printed_note())
    for expected in (
        "Credit Note",
        "CN/2627/000007",  # its number
        "01 Oct 2026",  # its date and the invoice's
        "INV/2627/000001",  # the original invoice
        "Example Cloud Pvt Ltd",  # supplier
        "27AAPFU0939F1ZV",  # GSTINs
        "Acme Analytics LLP",  # recipient
        "Deficient service",  # reason
        "998315",  # SAC
        "400.00",  # taxable value
        "CGST @ 9%",
        "SGST @ 9%",
        "36.00",  # each tax's amount
        "472.00",  # total
        "Rupees Four Hundred Seventy-Two Only",  # in words
        "Maharashtra (27)",  # place of supply
        "Authorised signatory",
    ):
        assert expected in page, expected


def test_an_inter_state_credit_note_prints_igst_and_its_refund(renderer):
    credit = credited(partly_paid(intra_state=False).apply_payment(payment(1, "pay_2"), NOW), full=True)
    view = credit_note_view(credit.note)
    assert [tax["name"] for tax in view["taxes"]] == ["IGST"]
    assert view["has_refund"]
    page = text(renderer.render_credit_note(credit.note))
    assert "IGST @ 18%" in page
    assert "refunded to the original payment method" in page


def test_rendering_a_credit_note_twice_gives_the_same_bytes(renderer):
    # the note rendered now, and as this process first rendered it (by another renderer)
    assert renderer.render_credit_note(part_credited().note) == printed_note()


def test_the_invoice_pdf_shows_the_credits_applied(renderer):
    after = part_credited().invoice
    view = invoice_view(after)
    assert view["credits"] == [{"number": "CN/2627/000007", "date": "01 Oct 2026", "amount": "472.00"}]
    page = text(renderer.render(after))
    assert "CREDITS APPLIED" in page.upper() and "CN/2627/000007" in page
    assert "Credit notes" in page and "472.00" in page


def test_a_cancelled_invoice_pdf_says_nothing_is_payable_with_the_note_s_number(renderer):
    planned = rules.plan_cancellation(
        issued(), note_id="cn_C", credit_note_number="CN/2627/000003", today=TODAY, now=NOW
    )
    page = text(renderer.render(planned.invoice))
    assert "Cancelled — nothing is payable" in page
    assert "by credit note CN/2627/000003" in page


def test_an_expired_invoice_pdf_says_the_link_expired_and_the_amount_remains_due(renderer):
    expired = issued().expire(NOW)
    page = text(renderer.render(expired))
    assert "payment link has expired" in page
    assert "remains due" in page
