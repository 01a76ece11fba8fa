"""The demo invoice the PDF tests print, and its renders, made once per process for the tests that
only read them.

A render costs ~0.1 s (a 500-line one ~0.6 s) and pypdf's text extraction ~20-40 ms a page, so a
document that several tests read is rendered and read once (``rendered``, ``printed_text``).
Rendering one invoice twice gives the same bytes (``test_the_same_version_renders_to_the_same_bytes``
and ``test_a_fresh_process_renders_the_same_bytes``), so a test reading the cached bytes reads what a
render of its own would have given. A test about the act of rendering (what it fetches, what it
leaves behind, what it changes) still renders for itself.

pypdf is imported on first use: the fresh-process determinism test builds its invoice from here,
and that process should only pay for what it renders.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from infra.demo import DEMO_SUPPLIER, draft_fields
from invoicing.adapters.pdf import InvoicePdfRenderer
from invoicing.domain.invoice import Customer, Invoice, Payment

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "functions" / "pdf_renderer"
ISSUED_AT = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)  # 12:00 IST
PAID_AT = datetime(2026, 10, 5, 9, 12, tzinfo=UTC)  # 14:42 IST
PAY_URL = "https://rzp.io/i/Xq7LmZp0"
NOTES = "Usage is metered per second.\nQueries: billing@shakti.example"
TERMS = "Payment due within 15 days of the invoice date."


def invoice(
    *,
    intra_state: bool = True,
    lines: int = 5,
    customer: Customer | None = None,
    **fields,  # type: ignore[no-untyped-def]
) -> Invoice:
    """An issued demo invoice: INV/2627/000042 of 01 Oct 2026, due 16 Oct 2026, September's usage."""
    data = draft_fields(date(2026, 9, 1), intra_state=intra_state, lines=lines, notes=NOTES, terms=TERMS)
    if customer is not None:
        data["customer"] = customer
    draft = Invoice.create_draft(
        account_id="acc_demo",
        supplier=DEMO_SUPPLIER,
        now=ISSUED_AT,
        invoice_id="inv_Demo0000000042",
        **(data | fields),
    )
    return draft.issue(
        invoice_number="INV/2627/000042",
        today=date(2026, 10, 1),
        now=ISSUED_AT,
        payment_url=PAY_URL,
        razorpay_invoice_id="inv_RzpDemo0042",
    )


def paid(unpaid: Invoice) -> Invoice:
    return unpaid.apply_payment(
        Payment(id="pay_PxT4kq9LmN2a", amount=unpaid.amount, method="upi", paid_at=PAID_AT), PAID_AT
    )


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text as pypdf extracts it, every page read once."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def folded(texts: list[str]) -> str:
    """The pages' text as one line, whitespace folded, so wrapped phrases read as one line."""
    return " ".join(" ".join(texts).split())


def text_of(pdf: bytes) -> str:
    """The PDF's text, whitespace folded, so wrapped phrases read as one line."""
    return folded(page_texts(pdf))


def rendered(*, lines: int = 5, intra_state: bool = True) -> bytes:
    """``invoice(lines=lines, intra_state=intra_state)`` as rendered, once per process."""
    return _rendered(lines, intra_state)


def printed_text(*, lines: int = 5, intra_state: bool = True) -> str:
    """``text_of(rendered(...))``, extracted once per process."""
    return _printed_text(lines, intra_state)


@cache
def _renderer() -> InvoicePdfRenderer:
    return InvoicePdfRenderer(ASSETS)  # its template compiled once (~40 ms a renderer)


@cache
def _rendered(lines: int, intra_state: bool) -> bytes:
    return _renderer().render(invoice(lines=lines, intra_state=intra_state))


@cache
def _printed_text(lines: int, intra_state: bool) -> str:
    return text_of(_rendered(lines, intra_state))
