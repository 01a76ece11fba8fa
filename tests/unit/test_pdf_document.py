"""The rendered PDF itself: read back with pypdf, it says what a GST tax invoice must say.

Invoices come from ``infra.demo`` (a GPU cloud's realistic lines). Rendering is real (xhtml2pdf
with the function's template and fonts); nothing touches the network, which the ``no_network``
fixture makes sure of. The demo invoice that several tests only read is rendered and read back once
(``tests.unit.pdf_documents``); the tests about rendering itself render for themselves.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from invoicing.adapters.pdf import InvoicePdfRenderer, PageLabel, ResourceRefusedError, page_count
from invoicing.domain import gst
from invoicing.domain.invoice import Address, Customer, LineItem
from invoicing.domain.words import amount_in_words, format_inr
from tests.unit.pdf_documents import (
    ASSETS,
    ISSUED_AT,
    PAY_URL,
    REPO,
    TERMS,
    folded,
    invoice,
    page_texts,
    paid,
    printed_text,
    rendered,
    text_of,
)


@pytest.fixture(scope="module")
def renderer() -> InvoicePdfRenderer:
    return InvoicePdfRenderer(ASSETS)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to resolve or connect fails the test."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(repr(args[:2]))
        raise AssertionError(f"network access while rendering: {args[:2]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


# --------------------------------------------------------------------------- what it says


def test_intra_state_invoice_has_every_rule_46_field_with_cgst_and_sgst():
    # Given
    demo = invoice(intra_state=True)

    # When
    text = printed_text(intra_state=True)

    # Then: document, supplier, number and date
    assert "Tax Invoice" in text
    assert "Shakti Cloud Compute Pvt Ltd" in text
    assert "4th Floor, Baner Tech Park, Baner Road" in text
    assert "Pune, Maharashtra 411045, India" in text
    assert "GSTIN 27AAPFU0939F1ZV" in text
    assert "INV/2627/000042" in text
    assert "INVOICE DATE 01 Oct 2026" in text
    # customer and place of supply (state name and code)
    assert "Vyom Analytics LLP" in text
    assert "12 FC Road" in text and "Pune, Maharashtra 411004, India" in text
    assert "PLACE OF SUPPLY Maharashtra (27)" in text
    assert "Reverse charge: No" in text
    # every line: name, description, type, SAC, quantity, unit, rate, amount; the usage period
    # they share is said once
    for line in demo.line_items:
        assert line.resource_name in text
        assert line.description in text
    assert "Usage period of every line: 01 Sep 2026 00:00 – 01 Oct 2026 00:00 IST" in text
    assert "1 gpu-a100-train-01 — NVIDIA A100 80GB pod · GPU pod 998315 720 hour 245.50 1,76,760.00" in text
    assert "1,530.25 GB 0.0139 21.27" in text
    assert "720 hour 245.50 1,76,760.00" in text
    # taxable value, CGST + SGST with rates, total, in words
    assert f"Taxable value ₹{format_inr(demo.taxable_amount)}" in text
    assert f"CGST @ 9% ₹{format_inr(demo.tax.cgst)}" in text
    assert f"SGST @ 9% ₹{format_inr(demo.tax.sgst)}" in text
    assert "IGST" not in text
    assert f"Total ₹{format_inr(demo.amount)}" in text
    assert amount_in_words(demo.amount) in text
    # billing period, due date, notes and terms
    assert "01 Sep 2026 – 30 Sep 2026" in text
    assert "16 Oct 2026" in text
    assert "Usage is metered per second. Queries: billing@shakti.example" in text
    assert TERMS in text


def test_inter_state_invoice_charges_igst_and_names_the_customers_state():
    demo = invoice(intra_state=False)

    text = printed_text(intra_state=False)

    assert "Kavach AI Labs" in text and "GSTIN 24AABCJ1087G1ZT" in text
    assert "Gujarat (24)" in text
    assert "Inter-state (IGST)" in text
    assert f"IGST @ 18% ₹{format_inr(demo.tax.igst)}" in text
    assert "CGST" not in text and "SGST" not in text
    assert f"Total ₹{format_inr(demo.amount)}" in text


def test_an_unpaid_invoice_shows_the_amount_due_and_the_payment_link():
    demo = invoice()

    text = printed_text()

    assert f"Amount due ₹{format_inr(demo.amount_due)} by 16 Oct 2026" in text
    assert PAY_URL in text
    assert "Paid in full" not in text


def test_a_payment_link_with_an_expiry_says_when_it_expires(renderer):
    demo = invoice(expire_by=datetime(2026, 10, 31, 18, 29, tzinfo=UTC))

    text = text_of(renderer.render(demo))

    assert f"{PAY_URL} The link expires on 31 Oct 2026 23:59 IST." in text


def test_a_paid_invoice_shows_when_how_and_which_payment(renderer):
    demo = paid(invoice(intra_state=False))

    text = text_of(renderer.render(demo))

    assert "PAID" in text
    assert "Paid in full on 05 Oct 2026" in text
    assert f"05 Oct 2026 14:42 UPI pay_PxT4kq9LmN2a {format_inr(demo.amount)}" in text
    assert "Amount due ₹0.00" in text
    assert PAY_URL not in text  # nothing left to pay


def test_cancelled_and_expired_invoices_carry_a_stamp(renderer):
    cancelled = invoice().cancel(ISSUED_AT + timedelta(days=2))
    expired = invoice(expire_by=ISSUED_AT + timedelta(days=3)).expire(ISSUED_AT + timedelta(days=4))

    cancelled_text = text_of(renderer.render(cancelled))
    expired_text = text_of(renderer.render(expired))

    assert "CANCELLED" in cancelled_text and "Cancelled on 03 Oct 2026" in cancelled_text
    assert "EXPIRED" in expired_text and "Expired on 05 Oct 2026" in expired_text
    assert PAY_URL not in cancelled_text + expired_text


def test_large_amounts_use_indian_grouping_with_the_rupee_sign(renderer):
    big = invoice(
        lines=1,
        line_items=[
            LineItem(
                resource_type="pod",
                resource_name="gpu-h100-cluster",
                description="Reserved H100 cluster",
                usage_start=datetime(2026, 9, 1, tzinfo=UTC),
                usage_end=datetime(2026, 9, 30, 18, 29, tzinfo=UTC),
                quantity="1",
                unit="month",
                unit_rate="3276695",
            )
        ],
    )

    text = text_of(renderer.render(big))

    assert big.amount == 3866500_10
    assert "Total ₹38,66,500.10" in text
    assert "Rupees Thirty-Eight Lakh Sixty-Six Thousand Five Hundred and Ten Paise Only" in text


def test_an_unregistered_customer_is_printed_as_such(renderer):
    walk_in = Customer(
        name="Asha Rao",
        email="asha@example.com",
        gstin=None,
        state_code="29",
        address=Address(line1="7 Church Street", city="Bengaluru", state="Karnataka", postal_code="560001"),
    )

    text = text_of(renderer.render(invoice(customer=walk_in)))

    assert "GSTIN Unregistered" in text
    assert "Karnataka (29)" in text


# --------------------------------------------------------------------------- the font


def test_the_rupee_font_is_embedded():
    pdf = rendered()

    fonts = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"]).split("+")[-1]] = font
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= set(fonts)
    for name in ("DejaVuSans", "DejaVuSans-Bold"):
        descriptor = fonts[name]["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, f"{name} is not embedded"
    assert "₹" in printed_text()


def test_the_shipped_fonts_have_the_rupee_glyph_and_their_licence():
    from reportlab.pdfbase.ttfonts import TTFontFile

    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        assert 0x20B9 in TTFontFile(str(ASSETS / "fonts" / name)).charToGlyph, name
    licence = (ASSETS / "fonts" / "LICENSE").read_text()
    assert "Bitstream Vera" in licence and "DejaVu changes are in public domain" in licence


# --------------------------------------------------------------------------- untrusted text


def test_markup_in_customer_text_is_printed_as_text_and_fetches_nothing(renderer, monkeypatch, no_network):
    # Given a customer whose name and address carry markup
    hostile = Customer(
        name='<img src="http://evil.example/x.png"> Evil & <b>Sons</b>',
        email="evil@example.com",
        gstin=None,
        state_code="29",
        address=Address(
            line1='<link rel="stylesheet" href="http://evil.example/s.css">',
            city="Bengaluru",
            state="Karnataka",
            postal_code="560001",
        ),
    )
    asked: list[str] = []
    resolve = renderer.resolve
    monkeypatch.setattr(renderer, "resolve", lambda uri, rel=None: asked.append(uri) or resolve(uri, rel))

    # When
    pdf = renderer.render(invoice(customer=hostile, notes='<img src="file:///etc/passwd">'))

    # Then the characters are on the page, and only the bundled fonts were looked up
    text = text_of(pdf)
    assert '<img src="http://evil.example/x.png"> Evil & <b>Sons</b>' in text
    assert '<link rel="stylesheet" href="http://evil.example/s.css">' in text
    assert '<img src="file:///etc/passwd">' in text
    assert sorted(asked) == ["fonts/DejaVuSans-Bold.ttf", "fonts/DejaVuSans.ttf"]
    assert no_network == []


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="http://evil.example/x.png">',
        '<img src="https://evil.example/x.png">',
        '<img src="file:///etc/passwd">',
        '<img src="/etc/passwd">',
        '<img src="../../../../etc/passwd">',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<img src="fonts/missing.png">',
        '<p style="background-image: url(http://evil.example/y.png)">x</p>',
        "<style>@import url(http://evil.example/a.css);</style><p>x</p>",
        '<style>@font-face { font-family: X; src: url("http://evil.example/f.ttf"); }</style><p>x</p>',
    ],
)
def test_the_renderer_refuses_anything_but_bundled_assets(renderer, markup, no_network):
    with pytest.raises(ResourceRefusedError):
        renderer.to_pdf(f"<html><body>{markup}</body></html>", timestamp=ISSUED_AT)
    assert no_network == []


def test_bundled_assets_resolve_inside_the_assets_folder(renderer):
    assert Path(renderer.resolve("fonts/DejaVuSans.ttf")) == (ASSETS / "fonts" / "DejaVuSans.ttf").resolve()
    with pytest.raises(ResourceRefusedError):
        renderer.resolve("fonts/../../invoice_api/handler.py")


# --------------------------------------------------------------------------- determinism


def test_the_same_version_renders_to_the_same_bytes(renderer):
    first = invoice()
    other = invoice(intra_state=False)

    before = rendered()  # this process's first render of it (by another renderer), or now
    renderer.render(other)  # another document in between shares the process's font state
    after = renderer.render(first)

    assert before == after


def test_the_pdf_is_dated_by_the_invoice_not_by_the_clock(renderer):
    demo = invoice()
    later = demo.model_copy(update={"updated_at": demo.updated_at + timedelta(hours=1), "version": 3})

    info = PdfReader(io.BytesIO(rendered())).metadata

    assert info["/CreationDate"].startswith("D:20261001063000")
    assert info["/Title"] == "Tax Invoice INV/2627/000042"
    assert renderer.render(later) != rendered()


def test_a_fresh_process_renders_the_same_bytes():
    expected = hashlib.sha256(rendered()).hexdigest()
    script = (
        "import hashlib, sys\n"
        "from tests.unit.pdf_documents import ASSETS, invoice\n"
        "from invoicing.adapters.pdf import InvoicePdfRenderer\n"
        "sys.stdout.write(hashlib.sha256(InvoicePdfRenderer(ASSETS).render(invoice())).hexdigest())\n"
    )
    env_path = f"{REPO / 'shared'}:{REPO}"

    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )

    assert result.stdout == expected


# --------------------------------------------------------------------------- length


def test_a_200_line_invoice_renders_with_numbered_pages_and_repeated_headers(renderer):
    # Given 200 lines (a billing run's invoice: the domain allows 500, the manual create route 50)
    base = invoice(lines=5)
    lines = tuple(base.line_items[i % 5] for i in range(200))
    taxable = sum(line.amount for line in lines)
    tax = gst.compute_tax(taxable, base.supplier.state_code, base.place_of_supply)
    long_invoice = base.model_copy(
        update={"line_items": lines, "taxable_amount": taxable, "tax": tax, "amount": taxable + tax.total}
    )

    # When
    pdf = renderer.render(long_invoice)

    # Then (each page's text extracted once)
    texts = page_texts(pdf)
    pages = page_count(pdf)
    assert pages > 5 and len(texts) == pages
    assert f"Page 1 of {pages}" in texts[0]
    assert f"Page {pages} of {pages}" in texts[-1]
    assert all("Amount (₹)" in page for page in texts[:-1])
    text = folded(texts)
    assert f"Total ₹{format_inr(long_invoice.amount)}" in text
    assert "200 support-plan" in text  # the lines keep their order: the 200th is the 5th kind


def test_a_one_page_invoice_says_page_1_of_1():
    assert "Page 1 of 1" in printed_text(lines=3)


def test_a_short_invoice_that_spills_over_counts_its_pages(renderer):
    # Given few lines but long notes, so the one-page guess is wrong
    long_notes = "\n".join(f"Note {n}: usage is metered per second and billed per hour." for n in range(90))

    # When
    pdf = renderer.render(invoice(lines=3, notes=long_notes))

    # Then
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page.extract_text()


def test_quantities_keep_their_precision(renderer):
    precise = invoice(
        lines=1,
        line_items=[
            LineItem(
                resource_type="network",
                resource_name="egress",
                description="Internet egress",
                usage_start=datetime(2026, 9, 1, tzinfo=UTC),
                usage_end=datetime(2026, 9, 30, 18, 29, tzinfo=UTC),
                quantity=str(Decimal("0.000001")),
                unit="TB",
                unit_rate="123456.789012",
            )
        ],
    )

    text = text_of(renderer.render(precise))

    assert "0.000001 TB 1,23,456.789012 0.12" in text


def test_rendering_never_adds_or_removes_environment_variables(renderer, monkeypatch):
    # Other threads of the local stack copy os.environ while a PDF renders: a key that appears
    # or vanishes mid-copy raises KeyError there. Compare the keys while ReportLab dates the PDF.
    from reportlab.lib import utils

    before = set(os.environ)
    during: list[set[str]] = []
    original = utils.TimeStamp.__init__

    def spy(self, *args, **kwargs):
        during.append(set(os.environ))
        original(self, *args, **kwargs)

    monkeypatch.setattr(utils.TimeStamp, "__init__", spy)
    renderer.render(invoice())

    assert during and all(keys == before for keys in during)
    assert set(os.environ) == before


def test_a_line_used_outside_the_billing_period_says_when_it_was_used(renderer):
    # Given a VM that ran for the last five days of the period only
    base = invoice(lines=2)
    late = base.line_items[1].model_copy(
        update={"usage_start": datetime(2026, 9, 25, 18, 30, tzinfo=UTC)}  # 26 Sep 00:00 IST
    )

    # When
    text = text_of(renderer.render(invoice(lines=2, line_items=[base.line_items[0], late])))

    # Then the other line goes by the period, and this one carries its own window
    assert "Usage period of every line: 01 Sep 2026 00:00 – 01 Oct 2026 00:00 IST" in text
    assert "1 gpu-a100-train-01 — NVIDIA A100 80GB pod · GPU pod 998315" in text
    assert (
        "2 vm-build-4x16 — 4 vCPU / 16 GiB VM · VM usage 26 Sep 2026 00:00 – 01 Oct 2026 00:00 IST 998315"
        in text
    )


def test_rendering_leaves_xhtml2pdf_and_reportlab_as_it_found_them(renderer):
    # The renderer swaps xhtml2pdf's canvas class and lets frames share their boundary value,
    # for the duration of a render only, even one that fails.
    from reportlab.pdfgen.canvas import ShowBoundaryValue
    from xhtml2pdf import xhtml2pdf_reportlab

    canvas = xhtml2pdf_reportlab.MarkedCanvas

    renderer.render(invoice())
    with pytest.raises(ResourceRefusedError):
        refused = '<html><body><img src="http://evil.example/x.png"></body></html>'
        renderer.to_pdf(refused, timestamp=ISSUED_AT, page_label=PageLabel())

    assert xhtml2pdf_reportlab.MarkedCanvas is canvas
    assert "__deepcopy__" not in vars(ShowBoundaryValue)
