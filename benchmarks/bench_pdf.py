"""PDF rendering figures (no AWS involved: the renderer is pure bytes out).

- ``pdf.render_ms.10_lines``, ``pdf.render_ms.200_lines``: median of warm renders of a demo
  invoice (``infra.demo``), template to PDF bytes. 200 lines is past the domain's 50-line cap, so
  that invoice is built with ``model_copy`` (no validation) and totals recomputed.
- ``pdf.ratio_to_bare_xhtml2pdf``: the 10-line invoice against the same 10 lines as a bare
  ``<table>`` in minimal HTML (default font, no CSS), measured alternately so machine load hits
  both alike. Goal <= 1.5.
- ``pdf.cold_import_s``: a fresh interpreter importing ``functions/pdf_renderer/handler.py`` the
  way Lambda does (function folder and layer on ``sys.path``); xhtml2pdf is not imported yet.
- ``pdf.cold_first_render_s``: in that fresh interpreter, the first render after the import (the
  cost the lazy imports move into the first job of a cold container).
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
    return invoice.model_copy(
        update={"line_items": items, "taxable_amount": taxable, "tax": tax, "amount": taxable + tax.total}
    )


def bare_html(invoice) -> str:  # type: ignore[no-untyped-def]
    rows = "".join(
        f"<tr><td>{n}</td><td>{line.resource_name} {line.description}</td><td>{line.sac_code}</td>"
        f"<td>{line.quantity}</td><td>{line.unit}</td><td>{line.unit_rate}</td><td>{line.amount}</td></tr>"
        for n, line in enumerate(invoice.line_items, start=1)
    )
    header = (
        "<tr><th>#</th><th>Service</th><th>SAC</th><th>Qty</th><th>Unit</th><th>Rate</th><th>Amount</th></tr>"
    )
    return f"<html><body><table>{header}{rows}</table></body></html>"


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


def run() -> dict[str, float]:
    from xhtml2pdf import pisa

    from invoicing.adapters.pdf import InvoicePdfRenderer

    renderer = InvoicePdfRenderer(ASSETS)
    ten, two_hundred = demo_invoice(10), demo_invoice(200)
    bare = bare_html(ten)

    def render_bare() -> None:
        pisa.CreatePDF(bare, dest=io.BytesIO())

    renderer.render(ten)
    render_bare()
    ours, theirs = [], []
    for _ in range(15):
        ours.append(_ms(lambda: renderer.render(ten)))
        theirs.append(_ms(render_bare))
    ten_ms = statistics.median(ours)

    cold_import, cold_render = _cold()
    return {
        "pdf.render_ms.10_lines": round(ten_ms, 1),
        "pdf.render_ms.200_lines": round(_median_ms(lambda: renderer.render(two_hundred), runs=5), 1),
        "pdf.ratio_to_bare_xhtml2pdf": round(ten_ms / statistics.median(theirs), 2),
        "pdf.cold_import_s": round(cold_import, 3),
        "pdf.cold_first_render_s": round(cold_render, 3),
    }
