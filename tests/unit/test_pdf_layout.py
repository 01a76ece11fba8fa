"""How the printed pages are laid out: page numbers, the running header and column headings on
continuation pages, a one-line footer, and columns whose text never runs together.

Geometry comes from pypdf's text visitor: where each run of text starts and on which baseline; its
end is measured with the shipped fonts, the ones the PDF embeds. Invoices of 1, 50 and 500 lines
(past the domain's current cap of 50, which is lifted for the test) go through the real renderer,
once each, and each of their pages is parsed once (``pages_of``) for the tests that only read them.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import pytest
from pypdf import PdfReader

import invoicing.domain.invoice as invoice_module
from invoicing.adapters.pdf import InvoicePdfRenderer, PageLabel
from invoicing.domain.invoice import LineItem, Payment
from invoicing.domain.words import format_inr
from tests.unit.pdf_documents import ASSETS, ISSUED_AT, folded, invoice, rendered

A4_WIDTH = 595.2756
HEADINGS = "# Service SAC Qty Unit Rate (₹) Amount (₹)"
ROW = re.compile(r"(?:^| )(\d+) [\w.-]+ — ")


@pytest.fixture(scope="module")
def renderer() -> InvoicePdfRenderer:
    return InvoicePdfRenderer(ASSETS)


@pytest.fixture
def uncapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Billing runs will issue invoices of up to 500 lines; the domain still caps them at 50."""
    monkeypatch.setattr(invoice_module, "MAX_LINES", 500)


@dataclass(frozen=True)
class Run:
    """One run of text as drawn: its baseline and where it starts and ends, in points."""

    text: str
    baseline: float
    x0: float
    x1: float


@cache
def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase.pdfmetrics import registerFont
    from reportlab.pdfbase.ttfonts import TTFont

    registerFont(TTFont("layout-test-regular", str(ASSETS / "fonts" / "DejaVuSans.ttf")))
    registerFont(TTFont("layout-test-bold", str(ASSETS / "fonts" / "DejaVuSans-Bold.ttf")))
    return "layout-test-regular", "layout-test-bold"


def runs_of(page) -> list[Run]:  # type: ignore[no-untyped-def]
    return text_and_runs(page)[1]


def text_and_runs(page) -> tuple[str, list[Run]]:  # type: ignore[no-untyped-def]
    """The page's text and its runs, from one pass over its content."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    regular, bold = _fonts()
    found: list[Run] = []
    pen: dict[str, object] = {}

    def visit(text, cm, tm, font, size):  # type: ignore[no-untyped-def]
        if not font:
            return
        # pypdf reports the text matrix of the text object, not how far the runs before this one
        # in the same object moved it: a run drawn right after another starts where that one ended.
        where = (tuple(cm), tuple(tm))
        x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
        y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
        if pen.get("where") == where:
            x = pen["x"]
        face = bold if "Bold" in str(font.get("/BaseFont", "")) else regular
        line = text.split("\n")[0]
        end = x + stringWidth(line, face, size) * tm[0] * cm[0]
        pen.update(where=where, x=end)
        if line.strip():
            lead = stringWidth(line[: len(line) - len(line.lstrip())], face, size) * tm[0] * cm[0]
            trail = stringWidth(line[len(line.rstrip()) :], face, size) * tm[0] * cm[0]
            found.append(Run(line.strip(), round(y, 2), x + lead, end - trail))

    text = page.extract_text(visitor_text=visit)
    return text, found


@cache
def pages_of(lines: int) -> tuple[tuple[str, tuple[Run, ...]], ...]:
    """Each page's text and runs of the demo invoice of ``lines`` lines, rendered and parsed once
    for the tests that only read them (a 500-line render is ~0.6 s, parsing its pages ~1 s;
    rendering the same invoice twice gives the same bytes, which
    ``test_a_multi_page_invoice_renders_to_the_same_bytes_every_time`` checks)."""
    pages = PdfReader(io.BytesIO(rendered(lines=lines))).pages
    return tuple((text, tuple(runs)) for text, runs in map(text_and_runs, pages))


def overlaps(runs: list[Run]) -> list[tuple[str, str]]:
    """Pairs of runs on one baseline whose ink would run into each other."""
    clashes = []
    ordered = sorted(runs, key=lambda run: (run.baseline, run.x0))
    for a, b in itertools.pairwise(ordered):
        if abs(a.baseline - b.baseline) < 0.5 and b.x0 < a.x1 - 0.5:
            clashes.append((a.text, b.text))
    return clashes


def gap_after(runs: list[Run], text: str) -> float:
    """The space between the run that is exactly ``text`` and the next run on its baseline."""
    (run,) = [r for r in runs if r.text == text]
    right = [r for r in runs if abs(r.baseline - run.baseline) < 0.5 and r.x0 >= run.x0 and r is not run]
    return min(r.x0 for r in right) - run.x1


# --------------------------------------------------------------------------- pages


@pytest.mark.parametrize("lines", [1, 50, 500])
def test_every_page_is_numbered_and_continuation_pages_name_the_invoice(uncapped, lines):
    # Given
    demo = invoice(lines=lines)

    # When
    parsed = pages_of(lines)

    # Then every page says which of how many it is, once, and no text runs into other text
    total = len(parsed)
    texts = [" ".join(text.split()) for text, _ in parsed]
    page_runs = [runs for _, runs in parsed]
    for number, (runs, text) in enumerate(zip(page_runs, texts, strict=True), start=1):
        assert text.count(f"Page {number} of {total}") == 1
        assert overlaps(runs) == [], f"page {number}"
    # the first page has the full heading; every later one names the invoice and the customer at the top
    assert "continued" not in texts[0]
    for number, runs in enumerate(page_runs[1:], start=2):
        top = max(run.baseline for run in runs)
        header = " ".join(run.text for run in runs if run.baseline == top)
        assert "Tax Invoice INV/2627/000042" in header and "01 Oct 2026" in header, f"page {number}"
        assert "Vyom Analytics LLP · continued" in " ".join(header.split()), f"page {number}"
    # every page with line rows on it starts them under the column headings
    with_rows = [text for text in texts if ROW.search(text)]
    assert with_rows and all(HEADINGS in text for text in with_rows)
    # and the rows are all there, in order, with the total after them
    numbers = [int(n) for n in ROW.findall(" ".join(texts))]
    assert numbers == list(range(1, lines + 1))
    assert f"Total ₹{format_inr(demo.amount)}" in " ".join(texts)


def test_a_500_line_invoice_fits_a_line_on_one_row(uncapped):
    # Rows of one text line each: 500 lines take 13 pages, where they took 21 with a usage line per row.
    reader = PdfReader(io.BytesIO(rendered(lines=500)))

    assert len(reader.pages) <= 14


def test_the_page_number_sits_on_the_footer_line_at_the_right_margin(uncapped):
    for number, (_, runs) in enumerate(pages_of(50), start=1):
        (label,) = [run for run in runs if run.text.startswith(f"Page {number} of ")]
        (footer,) = [run for run in runs if run.text.startswith("Shakti Cloud Compute Pvt Ltd  ·  GSTIN")]
        assert abs(label.baseline - footer.baseline) < 0.1
        assert abs(label.x1 - (A4_WIDTH - PageLabel().right)) < 0.5
        assert footer.x0 == pytest.approx(36.0) and footer.x1 < label.x0 - 20


def test_the_footer_stays_on_one_line_with_a_long_supplier_name(renderer):
    from infra.demo import DEMO_SUPPLIER

    long_name = DEMO_SUPPLIER.model_copy(
        update={"name": "Shakti Cloud Compute and Data Centre Services Private Limited"}
    )
    demo = invoice(lines=3).model_copy(update={"supplier": long_name})

    page = PdfReader(io.BytesIO(renderer.render(demo))).pages[0]

    footer = [run for run in runs_of(page) if run.baseline < 54]  # the bottom margin
    assert len({run.baseline for run in footer}) == 1, footer
    assert "Tax Invoice INV/2627/000042" in " ".join(run.text for run in footer)


# --------------------------------------------------------------------------- columns


def test_payment_ids_stand_apart_from_their_amounts(renderer):
    # Given two payments with Razorpay-length ids and crore-sized amounts
    demo = invoice(
        lines=1,
        partial_payment=True,
        line_items=[
            LineItem(
                resource_type="pod",
                resource_name="gpu-h100-cluster",
                description="Reserved H100 cluster",
                usage_start=datetime(2026, 9, 1, tzinfo=UTC),
                usage_end=datetime(2026, 9, 30, 18, 29, tzinfo=UTC),
                quantity="1",
                unit="month",
                unit_rate="32766950",
            )
        ],
    )
    first = Payment(id="pay_n8hOCKKGE6NViC", amount=1_87_804_08, method="netbanking", paid_at=ISSUED_AT)
    demo = demo.apply_payment(first, ISSUED_AT)
    rest = Payment(id="pay_PxT4kq9LmN2aQw", amount=demo.amount_due, method="bank_transfer", paid_at=ISSUED_AT)
    demo = demo.apply_payment(rest, ISSUED_AT)

    # When
    pdf = renderer.render(demo)

    # Then each id has clear space before its amount (each page parsed once)
    parsed = [text_and_runs(page) for page in PdfReader(io.BytesIO(pdf)).pages]
    runs = parsed[0][1]
    assert gap_after(runs, "pay_n8hOCKKGE6NViC") > 20
    assert gap_after(runs, "pay_PxT4kq9LmN2aQw") > 20
    assert "pay_n8hOCKKGE6NViC 1,87,804.08" in folded([text for text, _ in parsed])
    assert overlaps(runs) == []


def test_units_and_rates_stand_apart(renderer):
    # Given long units next to long rates: 6 decimals, and a lakh with 6 decimals
    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 30, 18, 29, tzinfo=UTC)
    common = {"usage_start": start, "usage_end": end, "resource_type": "pod"}
    demo = invoice(
        lines=2,
        line_items=[
            LineItem(
                resource_name="gpu-h100-infer-07",
                description="NVIDIA H100 80GB SXM pod, inference",
                quantity="647.5",
                unit="GPU-hour",
                unit_rate="289.999999",
                **common,
            ),
            LineItem(
                resource_name="archive",
                description="Cold storage",
                quantity="0.000001",
                unit="GB-month",
                unit_rate="123456.789012",
                **common,
            ),
        ],
    )

    runs = runs_of(PdfReader(io.BytesIO(renderer.render(demo))).pages[0])

    assert gap_after(runs, "GPU-hour") > 4
    assert gap_after(runs, "GB-month") > 4
    assert overlaps(runs) == []


def test_the_checks_see_text_running_together():
    # The reviewer's page: a payment id printed over the start of its amount.
    clashing = [Run("pay_n8hOCKKGE6NViC", 441.5, 182.5, 274.4), Run("1,87,804.08", 441.5, 268.7, 317.0)]

    assert overlaps(clashing) == [("pay_n8hOCKKGE6NViC", "1,87,804.08")]
    assert gap_after(clashing, "pay_n8hOCKKGE6NViC") < 0


def test_a_multi_page_invoice_renders_to_the_same_bytes_every_time(renderer):
    # Page labels are forms filled in when the file is written: the bytes still depend on the
    # invoice alone, whatever was rendered in between.
    demo = invoice(lines=50)

    first = rendered(lines=50)  # this process's first render of it (by another renderer), or now
    renderer.render(invoice(lines=3, intra_state=False))

    assert renderer.render(demo) == first
