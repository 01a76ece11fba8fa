"""The invoice's line table, drawn by ReportLab where the template places it (adapters/pdf_tables.py):
its text is the lines' text whatever characters they hold, in the regular face, and a template and
a renderer that disagree about where tables go fail instead of printing a placeholder."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from invoicing.adapters.pdf import InvoicePdfRenderer
from invoicing.adapters.pdf_tables import TablePlacementError, invoice_lines, placeholder
from invoicing.domain.invoice import LineItem
from tests.unit import factories, test_pdf_document
from tests.unit.pdf_documents import ASSETS, ISSUED_AT, invoice, rendered, text_of

no_network = test_pdf_document.no_network  # any resolve or connect fails the test (autouse)


@pytest.fixture(scope="module")
def renderer() -> InvoicePdfRenderer:
    return InvoicePdfRenderer(ASSETS)


# An A100 pod over the billing period (IST midnight to midnight): 720 hours at ₹245.50, ₹1,76,760.00.
A100 = {
    "resource_type": "pod",
    "resource_name": "gpu-a100-train-01",
    "description": "NVIDIA A100 80GB pod",
    "usage_end": datetime(2026, 9, 30, 18, 30, tzinfo=UTC),
    "unit_rate": "245.50",
}


def line(**fields: object) -> LineItem:
    return factories.line(**(A100 | fields))


def test_markup_in_a_line_is_printed_as_the_characters_it_is_made_of(renderer, no_network):
    # Given a line whose name, description and unit carry ReportLab's and HTML's markup
    hostile = line(
        resource_name='<img src="http://evil.example/x.png"/>',
        description='<b>Evil</b> & <font color="red">Sons</font> "quoted"',
        unit="<br/>hour",
    )

    # When
    text = text_of(renderer.render(invoice(line_items=[hostile])))

    # Then every character is on the page and nothing was fetched
    assert '<img src="http://evil.example/x.png"/> — <b>Evil</b> & <font color="red">Sons</font>' in text
    assert '</font> "quoted"' in text
    assert "<br/>hour" in text
    assert no_network == []


def test_a_long_description_wraps_inside_the_service_cell_and_the_figures_stay_on_its_first_line(renderer):
    # Given a description several times the width of the service column
    long = line(description="Reserved capacity for the quarterly training run of the research team " * 3)

    # When
    page = PdfReader(io.BytesIO(renderer.render(invoice(line_items=[long])))).pages[0]
    runs: list[tuple[str, float, float]] = []
    page.extract_text(visitor_text=lambda text, cm, tm, font, size: runs.append((text.strip(), tm[4], tm[5])))

    # Then the description takes several lines of the service column, and the amount is printed once
    wrapped = [(x, y) for text, x, y in runs if "training run" in text]
    assert len({y for _, y in wrapped}) >= 3
    assert all(x < 300 for x, _ in wrapped)  # the service column ends at about 57 % of the page
    assert [text for text, _, _ in runs].count("1,76,760.00") == 1


def test_the_service_cell_is_set_in_the_regular_face():
    # ReportLab's paragraph parser would look the face up by a name that xhtml2pdf's @font-face
    # registration maps to the bold face; the table must not print its lines in bold.
    page = PdfReader(io.BytesIO(rendered(lines=3))).pages[0]
    faces: dict[str, str] = {}

    def visit(text, cm, tm, font, size):  # type: ignore[no-untyped-def]
        if font and text.strip():
            faces[text.strip()] = str(font.get("/BaseFont", ""))

    page.extract_text(visitor_text=visit)

    service = [face for text, face in faces.items() if text.startswith("gpu-a100-train-01")]
    assert service and all(face.endswith("+DejaVuSans") for face in service), service
    heading = faces["Amount (₹)"]
    assert heading.endswith("+DejaVuSans-Bold")


def test_a_template_placing_a_table_nobody_built_fails(renderer):
    html = (
        f"<html><body><p>{placeholder('lines', 'tok')}</p><p>{placeholder('other', 'tok')}</p></body></html>"
    )

    with pytest.raises(TablePlacementError, match="'other'"):
        renderer.to_pdf(html, timestamp=ISSUED_AT, tables={"lines": invoice_lines([])}, token="tok")


def test_a_table_the_template_has_no_place_for_fails(renderer):
    html = f"<html><body><p>No table here.</p><p>{placeholder('lines', 'someone-else')}</p></body></html>"

    with pytest.raises(TablePlacementError, match="no place"):
        renderer.to_pdf(html, timestamp=ISSUED_AT, tables={"lines": invoice_lines([])}, token="tok")


def test_text_that_looks_like_a_placeholder_is_printed_as_text(renderer):
    # Given a customer and notes that spell out placeholders, as far as they could be guessed
    demo = invoice(lines=2)
    named = demo.model_copy(
        update={
            "customer": demo.customer.model_copy(update={"name": "[[table:lines]]"}),
            "notes": "[[table:other]]",
        }
    )

    # When
    text = text_of(renderer.render(named))

    # Then they are text, and the invoice has its one line table
    assert "[[table:lines]]" in text and "[[table:other]]" in text
    assert text.count("Rate (₹)") == 1


def test_a_placed_table_prints_its_rows_where_the_placeholder_stood(renderer):
    rows = [
        {
            "number": "1",
            "resource_name": "vm-build",
            "description": "",
            "resource_type": "VM",
            "usage": "",
            "sac": "998315",
            "quantity": "2",
            "unit": "month",
            "rate": "4,999.00",
            "amount": "9,998.00",
        }
    ]
    html = f"<html><body><p>Before</p><p>{placeholder('lines', 'tok')}</p><p>After</p></body></html>"

    text = text_of(
        renderer.to_pdf(html, timestamp=ISSUED_AT, tables={"lines": invoice_lines(rows)}, token="tok")
    )

    assert "[[table:" not in text
    row = text.index("vm-build · VM 998315 2 month 4,999.00 9,998.00")
    assert text.index("Before") < row < text.index("After")
