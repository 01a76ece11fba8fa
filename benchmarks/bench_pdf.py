"""PDF rendering figures (no AWS involved: the renderer is pure bytes out).

- ``pdf.render_ms.10_lines``, ``pdf.render_ms.200_lines`` (goal <= 1000), ``pdf.render_ms.500_lines``
  (goal <= 2500): median of warm renders of a demo invoice (``infra.demo``), template to PDF bytes.
  Past the domain's 50-line cap the invoice is built with ``model_copy`` (no validation) and its
  totals recomputed; billing runs will issue invoices of up to 500 lines.
- ``pdf.render_ms.e_invoiced``: median render of a registered B2B invoice (2 lines, its IRN block
  and the QR code of the IRP stand-in's signed JWT, ~1 KB), the QR encoded afresh each time (its
  per-value cache cleared), as the first render of a newly registered document pays it.
- ``pdf.ratio_to_bare_xhtml2pdf.200_lines`` (goal <= 1.5): the 200-line invoice against the same
  200 lines as a bare ``<table>`` of the same columns in the same font (the invoice's DejaVu Sans,
  embedded the same way) and nothing else: no CSS, no page template. What the template and the
  renderer add to what xhtml2pdf costs for that much table anyway. Below 1 since the line table
  is drawn by ReportLab directly (``invoicing.adapters.pdf_tables``), not parsed from HTML.
- ``pdf.ratio_to_bare_xhtml2pdf``: the 10-line invoice against its 10 lines as a bare ``<table>``
  in minimal HTML (xhtml2pdf's default font, no CSS). A figure, not a goal: at 10 lines it mostly
  measures the fixed cost of an invoice's header, totals and footer. Both ratios are measured
  alternately, so machine load hits both sides alike.
- ``pdf.peak_rss_mb.500_lines``: peak RSS (``VmHWM``) of a fresh interpreter that rendered one
  10-line invoice (warm) and then the 500-line one; ``pdf.baseline_rss_mb``: the same
  interpreter's peak before the 500-line render. The difference is what one long invoice holds:
  xhtml2pdf keeps the parsed document and the whole story in memory, so it grows with the lines
  (about 50 KB a line), and is freed after the render.
- ``pdf.cold_import_s``: a fresh interpreter importing ``functions/pdf_renderer/handler.py`` the
  way Lambda does (function folder and layer on ``sys.path``); xhtml2pdf is not imported yet.
- ``pdf.cold_first_render_s``: in that fresh interpreter, the first render after the import (the
  cost the lazy imports move into the first job of a cold container).

``python -m benchmarks.bench_pdf --profile [LINES]`` prints the cProfile summary of one warm render
(200 lines unless told), the source of ``benchmarks/PDF_PROFILE.md``.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "functions" / "pdf_renderer"

_COLD = """
import json, sys, time
sys.path[:0] = [{function!r}, {layer!r}, {repo!r}]
started = time.perf_counter()
import handler
imported = time.perf_counter()
from benchmarks.bench_pdf import demo_invoice
from invoicing.adapters.pdf import InvoicePdfRenderer
invoice = demo_invoice(10)
prepared = time.perf_counter()
InvoicePdfRenderer(handler.ASSETS).render(invoice)
rendered = time.perf_counter()
print(json.dumps({{"import": imported - started, "first_render": rendered - prepared}}))
"""


def demo_invoice(lines: int):  # type: ignore[no-untyped-def]
    """An issued demo invoice with ``lines`` lines (past 50 without validation)."""
    from infra.demo import DEMO_SUPPLIER, draft_fields
    from invoicing.domain import gst
    from invoicing.domain.invoice import Invoice

    now = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)
    fields = draft_fields(
        date(2026, 9, 1), lines=min(lines, 50), notes="Metered per second.", terms="Net 15."
    )
    invoice = Invoice.create_draft(account_id="acc_bench", supplier=DEMO_SUPPLIER, now=now, **fields).issue(
        invoice_number="INV/2627/000042",
        today=date(2026, 10, 1),
        now=now,
        payment_url="https://rzp.io/i/bench",
    )
    if lines <= 50:
        return invoice
    items = tuple(invoice.line_items[i % len(invoice.line_items)] for i in range(lines))
    taxable = sum(item.amount for item in items)
    tax = gst.compute_tax(taxable, invoice.supplier.state_code, invoice.place_of_supply)
    amount = taxable + tax.total
    return invoice.model_copy(
        update={
            "line_items": items,
            "taxable_amount": taxable,
            "tax": tax,
            "amount": amount,
            "amount_due": amount - invoice.amount_paid,
        }
    )


def e_invoiced_invoice():  # type: ignore[no-untyped-def]
    """A B2B invoice registered with the local IRP stand-in (IRN, Ack and the signed QR JWT)."""
    from invoicing.domain.einvoice_payload import build_payload, from_invoice
    from tests.support.irp import gsp_client, irp_standin_responses
    from tests.unit.einvoice_factories import INTER_BUYER_GSTIN, NOW, issued

    invoice = issued(gstin=INTER_BUYER_GSTIN)
    with irp_standin_responses():
        registration = gsp_client().register(build_payload(from_invoice(invoice)))
    return invoice.record_e_invoice(invoice.e_invoice.generated(registration), NOW)


def bare_html(invoice, *, font: bool = False) -> str:  # type: ignore[no-untyped-def]
    """The invoice's lines as a bare 7-column table; ``font``: in the invoice's embedded font."""
    from markupsafe import escape

    rows = "".join(
        f"<tr><td>{n}</td><td>{escape(line.resource_name)} {escape(line.description)}</td>"
        f"<td>{line.sac_code}</td><td>{line.quantity}</td><td>{escape(line.unit)}</td>"
        f"<td>{line.unit_rate}</td><td>{line.amount}</td></tr>"
        for n, line in enumerate(invoice.line_items, start=1)
    )
    header = (
        "<tr><th>#</th><th>Service</th><th>SAC</th><th>Qty</th><th>Unit</th><th>Rate</th><th>Amount</th></tr>"
    )
    head = (
        '<head><style>@font-face { font-family: "Invoice Sans"; src: url("fonts/DejaVuSans.ttf"); }'
        ' body { font-family: "Invoice Sans"; }</style></head>'
        if font
        else ""
    )
    return f"<html>{head}<body><table>{header}{rows}</table></body></html>"


def _ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm
    return statistics.median(_ms(action) for _ in range(runs))


def _cold(runs: int = 3) -> tuple[float, float]:
    script = _COLD.format(function=str(ASSETS), layer=str(REPO / "shared"), repo=str(REPO))
    env = {
        **os.environ,
        "AWS_REGION": "ap-south-1",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "POWERTOOLS_SERVICE_NAME": "pdf-renderer",
        "POWERTOOLS_METRICS_NAMESPACE": "Invoicing",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    imports, renders = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO, env=env
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        imports.append(figures["import"])
        renders.append(figures["first_render"])
    return statistics.median(imports), statistics.median(renders)


_MEMORY = """
import json, sys
sys.path[:0] = [{layer!r}, {repo!r}]
from benchmarks.bench_pdf import ASSETS, demo_invoice, peak_rss_mb
from invoicing.adapters.pdf import InvoicePdfRenderer
renderer = InvoicePdfRenderer(ASSETS)
renderer.render(demo_invoice(10))
long_invoice = demo_invoice({lines})
baseline = peak_rss_mb()
renderer.render(long_invoice)
print(json.dumps({{"baseline": baseline, "peak": peak_rss_mb()}}))
"""


def peak_rss_mb() -> float:
    """This process's peak resident set size (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _memory(lines: int) -> tuple[float, float]:
    script = _MEMORY.format(layer=str(REPO / "shared"), repo=str(REPO), lines=lines)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return figures["baseline"], figures["peak"]


def _alternating(ours: Callable[[], object], theirs: Callable[[], object], runs: int) -> tuple[float, float]:
    """Medians (ms) of ``ours`` and ``theirs``, timed in turns after one warm run each."""
    ours()
    theirs()
    mine, bare = [], []
    for _ in range(runs):
        mine.append(_ms(ours))
        bare.append(_ms(theirs))
    return statistics.median(mine), statistics.median(bare)


def run() -> dict[str, float]:
    from xhtml2pdf import pisa

    from invoicing.adapters import pdf_qr
    from invoicing.adapters.pdf import InvoicePdfRenderer

    renderer = InvoicePdfRenderer(ASSETS)
    ten, two_hundred, five_hundred = demo_invoice(10), demo_invoice(200), demo_invoice(500)
    bare_ten = bare_html(ten)
    bare_two_hundred = bare_html(two_hundred, font=True)

    def render_bare(html: str) -> Callable[[], None]:
        return lambda: pisa.CreatePDF(html, dest=io.BytesIO(), link_callback=renderer.resolve)

    ten_ms, bare_ten_ms = _alternating(lambda: renderer.render(ten), render_bare(bare_ten), runs=15)
    two_hundred_ms, bare_two_hundred_ms = _alternating(
        lambda: renderer.render(two_hundred), render_bare(bare_two_hundred), runs=7
    )
    five_hundred_ms = _median_ms(lambda: renderer.render(five_hundred), runs=3)
    e_invoiced = e_invoiced_invoice()

    def render_e_invoiced() -> None:
        pdf_qr.module_matrix.cache_clear()
        renderer.render(e_invoiced)

    e_invoiced_ms = _median_ms(render_e_invoiced, runs=7)
    baseline_rss, peak_rss = _memory(500)

    cold_import, cold_render = _cold()
    return {
        "pdf.render_ms.10_lines": round(ten_ms, 1),
        "pdf.render_ms.200_lines": round(two_hundred_ms, 1),
        "pdf.render_ms.500_lines": round(five_hundred_ms, 1),
        "pdf.render_ms.e_invoiced": round(e_invoiced_ms, 1),
        "pdf.ratio_to_bare_xhtml2pdf": round(ten_ms / bare_ten_ms, 2),
        "pdf.ratio_to_bare_xhtml2pdf.200_lines": round(two_hundred_ms / bare_two_hundred_ms, 2),
        "pdf.baseline_rss_mb": round(baseline_rss, 1),
        "pdf.peak_rss_mb.500_lines": round(peak_rss, 1),
        "pdf.cold_import_s": round(cold_import, 3),
        "pdf.cold_first_render_s": round(cold_render, 3),
    }


def profile(lines: int = 200, top: int = 30) -> None:
    """Print where one warm render of a ``lines``-line invoice spends its time."""
    import cProfile
    import pstats

    from invoicing.adapters.pdf import InvoicePdfRenderer

    renderer = InvoicePdfRenderer(ASSETS)
    invoice = demo_invoice(lines)
    renderer.render(invoice)
    profiler = cProfile.Profile()
    profiler.enable()
    renderer.render(invoice)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--profile"]:
        sys.exit("usage: python -m benchmarks.bench_pdf --profile [LINES]  (make bench runs the figures)")
    profile(int(sys.argv[2]) if len(sys.argv) > 2 else 200)
