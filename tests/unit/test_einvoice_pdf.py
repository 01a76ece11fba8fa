"""The e-invoiced PDFs (invoice and credit note): IRN, Ack No, Ack Date, and a QR code that scans back
to the signed JWT.

The QR is decoded with zxing-cpp, an independent decoder: from the PDF page rasterised by
``pdftoppm`` (poppler; skipped where it is not installed) to grey levels, uncompressed (PNG would
cost ~0.5 s a page to write, for the same pixels), and from the module matrix ReportLab's encoder
produces, drawn with Pillow (always).
"""

from __future__ import annotations

import io
import itertools
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from pypdf import PdfReader

from invoicing.adapters.pdf import QR_SIZE, InvoicePdfRenderer, credit_note_view, invoice_view
from invoicing.adapters.pdf_qr import BarcodeNotDrawnError, module_matrix
from invoicing.domain.einvoice_payload import build_payload, from_credit_note, from_invoice
from tests.support.irp import gsp_client, irp_standin_responses
from tests.unit.einvoice_factories import INTER_BUYER_GSTIN, NOW, credit_note_of, issued

ASSETS = Path(__file__).resolve().parents[2] / "functions" / "pdf_renderer"
DPI = 200


@pytest.fixture(scope="module")
def generated():
    invoice = issued(gstin=INTER_BUYER_GSTIN)
    with irp_standin_responses():
        registration = gsp_client().register(build_payload(from_invoice(invoice)))
    assert invoice.e_invoice is not None
    return invoice.record_e_invoice(invoice.e_invoice.generated(registration), NOW)


@pytest.fixture(scope="module")
def renderer() -> InvoicePdfRenderer:
    return InvoicePdfRenderer(ASSETS)


@pytest.fixture(scope="module")
def pdf(renderer, generated) -> bytes:
    return renderer.render(generated)


def qr_codes(image: Image.Image) -> list:
    return [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def printed_qr(pdf: bytes, folder: Path) -> tuple[zxingcpp.Barcode, float]:
    """The one QR code on the PDF's first page as printed (rasterised at ``DPI``), and its width in cm."""
    source, page = folder / "document.pdf", folder / "page"
    source.write_bytes(pdf)
    rasterise = ["pdftoppm", "-r", str(DPI), "-gray", "-singlefile", "-f", "1", "-l", "1"]
    subprocess.run([*rasterise, str(source), str(page)], check=True)
    (code,) = qr_codes(Image.open(page.with_suffix(".pgm")))
    return code, abs(code.position.top_right.x - code.position.top_left.x) / DPI * 2.54


def test_the_pdf_prints_irn_ack_no_and_ack_date(generated, pdf):
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    state = generated.e_invoice
    assert state.irn in text and state.ack_no in text
    assert invoice_view(generated)["e_invoice"]["ack_date"] in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_the_printed_qr_scans_back_to_the_signed_jwt_and_is_at_least_5_cm_wide(generated, pdf, tmp_path):
    code, width_cm = printed_qr(pdf, tmp_path)
    assert code.text == generated.e_invoice.signed_qr
    assert width_cm >= 5.0


def test_the_qr_module_matrix_round_trips_through_an_independent_decoder(generated):
    modules = module_matrix(generated.e_invoice.signed_qr, "L")  # what the PDF draws
    border, scale = 4, 6
    side = (len(modules) + 2 * border) * scale
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    for row, cells in enumerate(modules):
        for col, dark in enumerate(cells):
            if dark:
                x, y = (col + border) * scale, (row + border) * scale
                draw.rectangle([x, y, x + scale - 1, y + scale - 1], fill=0)
    (code,) = qr_codes(image)
    assert code.text == generated.e_invoice.signed_qr
    assert QR_SIZE == "6cm"


def test_the_pdf_draws_the_qr_through_the_segno_widget_as_one_path(generated, pdf):
    # ReportLab's own encoder took ~0.5 s of an e-invoiced render; a widget per run of modules as well
    from reportlab.graphics.barcode import getCodes

    assert getCodes()["QR"].__name__ == "SegnoQrCodeWidget"
    widget = getCodes()["QR"](generated.e_invoice.signed_qr, barWidth=170, barHeight=170)
    _frame, path = widget.draw().contents
    modules = module_matrix(widget.value, "L")
    dark_runs = sum(1 for row in modules for dark, _ in itertools.groupby(row) if dark)
    assert dark_runs > 1000 and len(path.operators) == 5 * dark_runs  # moveTo, 3 lineTo, closePath each
    assert module_matrix(widget.value, "L") is modules  # encoded once per value


def test_a_document_awaiting_its_irn_has_no_e_invoice_block():
    assert invoice_view(issued(gstin=INTER_BUYER_GSTIN))["e_invoice"] is None


# ------------------------------------------------------------------------------- credit notes
@pytest.fixture(scope="module")
def registered_note():
    invoice = issued(gstin=INTER_BUYER_GSTIN)
    note = credit_note_of(invoice, [30_000, 1_550])
    with irp_standin_responses():
        registration = gsp_client().register(build_payload(from_credit_note(note)))
    assert note.e_invoice is not None
    return note.record_e_invoice(note.e_invoice.generated(registration), NOW)


def test_a_registered_credit_note_prints_its_irn_ack_and_a_qr_of_its_signed_jwt(
    renderer, registered_note, tmp_path
):
    pdf = renderer.render_credit_note(registered_note)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    state = registered_note.e_invoice
    assert state.irn in text and state.ack_no in text and "Credit Note" in text
    assert credit_note_view(registered_note)["e_invoice"]["ack_date"] in text
    if shutil.which("pdftoppm") is None:
        return
    code, width_cm = printed_qr(pdf, tmp_path)
    assert code.text == state.signed_qr
    assert width_cm >= 5.0


def test_a_credit_note_awaiting_its_irn_has_no_e_invoice_block():
    note = credit_note_of(issued(gstin=INTER_BUYER_GSTIN), [1_000])
    assert credit_note_view(note)["e_invoice"] is None


def test_a_qr_that_cannot_be_drawn_fails_the_render_without_logging_the_jwt(renderer, generated, pdf, caplog):
    # xhtml2pdf would log the barcode's value and print the document without it
    too_long = "eyJ" + "x" * 8000  # over a QR code's capacity
    unprintable = generated.model_copy(
        update={"e_invoice": generated.e_invoice.model_copy(update={"signed_qr": too_long})}
    )

    with caplog.at_level(logging.DEBUG), pytest.raises(BarcodeNotDrawnError, match="QR barcode"):
        renderer.render(unprintable)

    assert too_long[:40] not in caplog.text
    assert renderer.render(generated) == pdf  # the next document renders as before
