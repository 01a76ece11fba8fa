"""Invoice PDFs: an autoescaping Jinja2 template rendered to PDF by xhtml2pdf. Bytes out; no AWS.

The template and the fonts live in one *assets* directory that the caller names (the renderer
function ships them next to its handler: ``templates/invoice.html``, ``fonts/*.ttf``). Rendering
reads nothing outside it and fetches nothing at all:

- every value reaches the template through Jinja2 autoescaping, so customer text is text; markup
  in a customer's name prints as the characters it is made of;
- ``link_callback`` resolves only existing files inside the assets directory and raises
  ``ResourceRefusedError`` for anything else (``http(s)://``, ``file://``, ``data:``, paths that
  climb out), which aborts the render;
- xhtml2pdf's own resource policy is set to no network and local reads confined to the assets, as
  a second gate for the few code paths that do not go through ``link_callback``.

An invoice's line table is the one part not written in HTML: xhtml2pdf spends ~5 ms on each row of
an HTML table, so ReportLab draws it where the template's placeholder stands (``pdf_tables``,
``_tables_placed``); a 500-line invoice renders in ~0.7 s instead of ~3 s.

Every page says "Page n of N" from one layout pass: the number is drawn by the canvas into form
XObjects that are filled in once N is known (``_labelled_pages``), instead of xhtml2pdf's
``<pdf:pagecount>``, which lays the whole document out twice.

The output is a function of the invoice alone: ReportLab takes the document's creation date and
its ``/ID`` from ``SOURCE_DATE_EPOCH``, which is set to the invoice's ``updated_at`` for the
duration of the render, so rendering one version twice gives the same bytes.

An e-invoiced document prints its IRN, Ack No and Ack Date and the IRP's signed QR JWT as a QR
code 6 cm wide (over 5 cm without its quiet zone), drawn by ReportLab's QR widget through
xhtml2pdf's ``<pdf:barcode type="qr">`` as vector modules (sharp at any print size, no image
library), from the module matrix segno encodes (``pdf_qr``: ReportLab's own encoding and shapes
took ~0.5 s of a 0.6 s render).

xhtml2pdf, ReportLab and Jinja2 are imported on first use, not when this module is imported.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from invoicing.adapters import pdf_qr
from invoicing.adapters.pdf_tables import (
    FAMILY,
    Fonts,
    TableBuilder,
    invoice_lines,
    new_token,
    place_tables,
    placeholder,
)
from invoicing.domain.credit_notes import CreditNote
from invoicing.domain.einvoice import EInvoice
from invoicing.domain.gst import state_name
from invoicing.domain.invoice import Invoice, InvoiceStatus, RefundStatus
from invoicing.domain.numbering import IST as _IST
from invoicing.domain.words import amount_in_words, format_inr

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATE = "invoice.html"
CREDIT_NOTE_TEMPLATE = "credit_note.html"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RENDER_LOCK = threading.Lock()  # SOURCE_DATE_EPOCH is process-wide; one render at a time

_METHODS = {
    "upi": "UPI",
    "card": "Card",
    "netbanking": "Net banking",
    "wallet": "Wallet",
    "emi": "EMI",
    "bank_transfer": "Bank transfer",
    "paylater": "Pay later",
    "advance": "Advance adjusted",  # a prepaid account's advances (its receipt vouchers)
}
_RESOURCE_TYPES = {"pod": "GPU pod", "vm": "VM", "storage": "Storage", "network": "Network"}
_STAMPS = {
    InvoiceStatus.PAID: ("Paid", "ok"),
    InvoiceStatus.PARTIALLY_PAID: ("Partially paid", "warn"),
    InvoiceStatus.OVERDUE: ("Overdue", "alert"),
    InvoiceStatus.CANCELLED: ("Cancelled", "alert"),
    InvoiceStatus.EXPIRED: ("Expired", "alert"),
}

_REASONS = {
    "deficient_service": "Deficient service",
    "excess_charged": "Excess charged",
    "discount": "Discount",
    "cancellation": "Cancellation of the invoice",
    "other": "Other",
}
_REFUND_STATUSES = {
    RefundStatus.PENDING: "pending",
    RefundStatus.PROCESSED: "refunded",
    RefundStatus.FAILED: "failed",
}


class ResourceRefusedError(Exception):
    """The document asked for a resource outside the assets directory (or on the network)."""


# ---------------------------------------------------------------------------------------------
# Formatting (pure)
# ---------------------------------------------------------------------------------------------


def group_indian(digits: str) -> str:
    """``"3866501"`` → ``"38,66,501"``: the last three digits, then groups of two."""
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([*groups, tail])


def format_decimal(value: Decimal, *, min_places: int = 0) -> str:
    """A quantity or rate as printed: Indian grouping, no exponent, trailing zeros dropped down to
    ``min_places`` decimals. ``Decimal("1530.250")`` → ``"1,530.25"``; ``("4999", 2)`` → ``"4,999.00"``.
    """
    text = format(value.normalize(), "f")
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    fraction = fraction.rstrip("0").ljust(min_places, "0")
    return f"{sign}{group_indian(whole)}" + (f".{fraction}" if fraction else "")


def format_date(value: date | None) -> str:
    """``01 Oct 2026`` (English month names whatever the process locale)."""
    return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year}" if value else ""


def format_ist(value: datetime | None) -> str:
    """A timestamp as India time: ``01 Sep 2026 05:30``."""
    if value is None:
        return ""
    local = value.astimezone(_IST)
    return f"{format_date(local.date())} {local:%H:%M}"


def payment_method(method: str) -> str:
    return _METHODS.get(method.lower(), method.replace("_", " ").capitalize())


# ---------------------------------------------------------------------------------------------
# The view: everything the template prints, already formatted
# ---------------------------------------------------------------------------------------------


def address_lines(address: Any) -> list[str]:
    """Two printed lines: street (line1, line2), then city, state, PIN and country."""
    country = "India" if address.country.upper() in ("IN", "IND") else address.country
    street = ", ".join(part for part in (address.line1, address.line2) if part)
    return [street, f"{address.city}, {address.state} {address.postal_code}, {country}"]


def billing_window(invoice: Invoice) -> tuple[datetime, datetime]:
    """The billing period as instants: from IST midnight on its first day to IST midnight after its last."""
    start = datetime.combine(invoice.billing_period.start, time(), tzinfo=_IST)
    end = datetime.combine(invoice.billing_period.end + timedelta(days=1), time(), tzinfo=_IST)
    return start, end


def _usage(start: datetime, end: datetime, *, unless: tuple[datetime, datetime] | None = None) -> str:
    """``01 Sep 2026 00:00 – 01 Oct 2026 00:00 IST``, or "" when the window is ``unless``."""
    return "" if (start, end) == unless else f"{format_ist(start)} – {format_ist(end)} IST"


def _taxes(rate_text: str, intra_state: bool, cgst: int, sgst: int, igst: int) -> list[dict[str, str]]:
    """The tax rows: CGST and SGST at half the rate (intra-state), or IGST at the rate."""
    rate = Decimal(rate_text)
    half = format_decimal(rate / 2)
    if intra_state:
        return [
            {"label": f"CGST @ {half}%", "rate": f"{half}%", "name": "CGST", "amount": format_inr(cgst)},
            {"label": f"SGST @ {half}%", "rate": f"{half}%", "name": "SGST", "amount": format_inr(sgst)},
        ]
    full = format_decimal(rate)
    return [{"label": f"IGST @ {full}%", "rate": f"{full}%", "name": "IGST", "amount": format_inr(igst)}]


def party_view(party: Any) -> dict[str, Any]:
    return {
        "name": party.name,
        "address": address_lines(party.address),
        "gstin": party.gstin,
        "state": f"{state_name(party.state_code)} ({party.state_code})",
    }


def _corrections_view(invoice: Invoice) -> dict[str, Any]:
    """What the invoice's credit notes and refunds print: the credits applied, money returned."""
    cancelling = (
        invoice.credit_notes[-1].credit_note_number
        if invoice.status is InvoiceStatus.CANCELLED and invoice.credit_notes
        else ""
    )
    return {
        "credits": [
            {"number": c.credit_note_number, "date": format_date(c.date), "amount": format_inr(c.amount)}
            for c in invoice.credit_notes
        ],
        "credited": format_inr(invoice.amount_credited),
        "refunded": format_inr(invoice.amount_refunded),
        "refunds": [
            {
                "date": format_ist(r.created_at),
                "payment_id": r.payment_id,
                "amount": format_inr(r.amount),
                "status": _REFUND_STATUSES[r.status],
                "why": "credit note" if r.credit_note_id else "overpayment",
            }
            for r in invoice.refunds
        ],
        "cancelling_note": cancelling,
        "settled_by_credit": invoice.status is InvoiceStatus.PAID and invoice.amount_credited > 0,
    }


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    """The invoice as the printed page shows it: plain strings and small dicts, nothing to compute."""
    intra_state = invoice.supplier.state_code == invoice.place_of_supply
    t = invoice.tax
    taxes = [
        {"label": row["label"], "amount": row["amount"]}
        for row in _taxes(t.rate, intra_state, t.cgst, t.sgst, t.igst)
    ]
    stamp = _STAMPS.get(invoice.status)
    window = billing_window(invoice)
    common = any((line.usage_start, line.usage_end) == window for line in invoice.line_items)
    last_payment = invoice.payments[-1] if invoice.payments else None
    return {
        "title": f"Tax Invoice {invoice.invoice_number or invoice.id}",
        "number": invoice.invoice_number or "",
        "date": format_date(invoice.date),
        "due_date": format_date(invoice.due_date),
        "period": f"{format_date(invoice.billing_period.start)} – {format_date(invoice.billing_period.end)}",
        "description": invoice.description or "",
        "status": invoice.status.value,
        "stamp": {"text": stamp[0], "tone": stamp[1]} if stamp else None,
        "supplier": {
            "name": invoice.supplier.name,
            "address": address_lines(invoice.supplier.address),
            "gstin": invoice.supplier.gstin,
            "state": f"{state_name(invoice.supplier.state_code)} ({invoice.supplier.state_code})",
        },
        "customer": {
            "name": invoice.customer.name,
            "email": invoice.customer.email,
            "address": address_lines(invoice.customer.address),
            "gstin": invoice.customer.gstin,
            "state": f"{state_name(invoice.customer.state_code)} ({invoice.customer.state_code})",
        },
        "place_of_supply": f"{state_name(invoice.place_of_supply)} ({invoice.place_of_supply})",
        "supply_type": "Intra-state (CGST + SGST)" if intra_state else "Inter-state (IGST)",
        "reverse_charge": "No",
        "currency": invoice.currency,
        "usage_window": _usage(*window) if common else "",
        "lines": [
            {
                "number": index,
                "resource_type": _RESOURCE_TYPES.get(
                    line.resource_type.value, line.resource_type.value.title()
                ),
                "resource_name": line.resource_name,
                "description": line.description,
                # Said per line only where it is not the billing period (the caption says that).
                "usage": _usage(line.usage_start, line.usage_end, unless=window),
                "sac": line.sac_code,
                "quantity": format_decimal(line.quantity),
                "unit": line.unit,
                "rate": format_decimal(line.unit_rate, min_places=2),
                "amount": format_inr(line.amount),
            }
            for index, line in enumerate(invoice.line_items, start=1)
        ],
        "taxable": format_inr(invoice.taxable_amount),
        "taxes": taxes,
        "tax_total": format_inr(invoice.tax_amount),
        "total": format_inr(invoice.amount),
        "total_in_words": amount_in_words(invoice.amount),
        "paid": format_inr(invoice.amount_paid),
        "due": format_inr(invoice.amount_due),
        "due_in_words": amount_in_words(invoice.amount_due),
        "has_balance": invoice.amount_due > 0,
        "payments": [
            {
                "id": ", ".join(payment.receipts) if payment.receipts else payment.id,
                "method": payment_method(payment.method),
                "date": format_ist(payment.paid_at),
                "amount": format_inr(payment.amount),
            }
            for payment in invoice.payments
        ],
        "paid_on": format_date(last_payment.paid_at.astimezone(_IST).date()) if last_payment else "",
        "payment_url": invoice.payment_url,
        "link_expires": f"{format_ist(invoice.expire_by)} IST" if invoice.expire_by else "",
        "cancelled_on": format_date(invoice.cancelled_at.astimezone(_IST).date())
        if invoice.cancelled_at
        else "",
        "expired_on": format_date(invoice.expired_at.astimezone(_IST).date()) if invoice.expired_at else "",
        "notes": invoice.notes or "",
        "terms": invoice.terms or "",
        "e_invoice": e_invoice_view(invoice.e_invoice),
        **_corrections_view(invoice),
    }


def credit_note_view(note: CreditNote) -> dict[str, Any]:
    """A credit note as printed: every field CGST Rule 53 asks for, already formatted."""
    taxes = _taxes(note.tax.rate, note.intra_state, note.tax.cgst, note.tax.sgst, note.tax.igst)
    customer = party_view(note.customer) | {"email": note.customer.email}
    return {
        "title": f"Credit Note {note.credit_note_number}",
        "number": note.credit_note_number,
        "date": format_date(note.date),
        "invoice_number": note.invoice_number,
        "invoice_date": format_date(note.invoice_date),
        "reason": _REASONS.get(note.reason.value, note.reason.value),
        "description": note.description,
        "supplier": party_view(note.supplier),
        "customer": customer,
        "place_of_supply": f"{state_name(note.place_of_supply)} ({note.place_of_supply})",
        "supply_type": "Intra-state (CGST + SGST)" if note.intra_state else "Inter-state (IGST)",
        "reverse_charge": "No",
        "currency": note.currency,
        "lines": [
            {
                "number": index,
                "invoice_line": line.line + 1,
                "description": line.description,
                "sac": line.sac_code,
                "taxable": format_inr(line.taxable_amount),
            }
            for index, line in enumerate(note.lines, start=1)
        ],
        "taxable": format_inr(note.taxable_amount),
        "taxes": taxes,
        "tax_total": format_inr(note.tax_amount),
        "total": format_inr(note.amount),
        "total_in_words": amount_in_words(note.amount),
        "applied_to_due": format_inr(note.applied_to_due),
        "refund_amount": format_inr(note.refund_amount),
        "has_refund": note.refund_amount > 0,
        "cancellation": note.reason.value == "cancellation",
        "e_invoice": e_invoice_view(note.e_invoice),
    }


QR_SIZE = "6cm"  # with its 4-module quiet zone: the symbol itself stays over 5 cm wide (einvoice.md)


def e_invoice_view(state: EInvoice | None) -> dict[str, Any] | None:
    """IRN, Ack No, Ack Date and the signed QR JWT, once the IRP registered the document."""
    if state is None or state.irn is None or state.signed_qr is None:
        return None
    return {
        "irn": state.irn,
        "ack_no": state.ack_no or "",
        "ack_date": f"{format_ist(state.ack_date)} IST" if state.ack_date else "",
        "qr": state.signed_qr,
        "qr_size": QR_SIZE,
        "cancelled_on": f"{format_ist(state.cancelled_at)} IST" if state.cancelled_at else "",
    }


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageLabel:
    """Where and how "Page n of N" is drawn: the right-hand end of the template's footer line.

    The numbers match ``@frame footer`` and ``.footer`` in ``templates/invoice.html``: the label sits
    on the baseline of the footer's text, flush with the right margin, in its font, size and colour.
    """

    font: str = "invoice sans_00"  # xhtml2pdf's name for @font-face "Invoice Sans", normal weight
    size: float = 6.5
    color: str = "#5b6475"
    right: float = 36.0  # from the page's right edge
    baseline: float = 34.06  # from the page's bottom edge


class InvoicePdfRenderer:
    """Renders invoices with the template and fonts of one assets directory."""

    def __init__(self, assets: Path | str, *, page_label: PageLabel | None = None) -> None:
        self._assets = Path(assets).resolve()
        if not (self._assets / "templates" / TEMPLATE).is_file():
            raise FileNotFoundError(f"no templates/{TEMPLATE} under {self._assets}")
        self._page_label = page_label or PageLabel()
        self._env: Environment | None = None
        self._policy: Any = None

    @property
    def assets(self) -> Path:
        return self._assets

    def html(self, invoice: Invoice) -> str:
        return self.html_from_view(invoice_view(invoice))

    def html_from_view(self, view: dict[str, Any], *, template: str = TEMPLATE, token: str = "") -> str:
        """The template's HTML; its table placeholders (``table("lines")``) carry ``token``."""
        name = "note" if template == CREDIT_NOTE_TEMPLATE else "invoice"
        return self.render_template(template, table=partial(placeholder, token=token), **{name: view})

    def render_template(self, template: str, **context: Any) -> str:
        """One of the assets' templates rendered to HTML (every document's renderer uses this one
        Jinja environment: autoescaping, strict undefined, the ``lines`` filter)."""
        return self._environment().get_template(template).render(**context)

    def credit_note_html(self, note: CreditNote) -> str:
        return self.html_from_view(credit_note_view(note), template=CREDIT_NOTE_TEMPLATE)

    def render_credit_note(self, note: CreditNote) -> bytes:
        """The credit note's PDF (its own template); deterministic, like an invoice's."""
        return self.render_view(
            credit_note_view(note), timestamp=note.changed_at, template=CREDIT_NOTE_TEMPLATE
        )

    def render(self, invoice: Invoice) -> bytes:
        """The invoice's PDF; the same invoice (same ``updated_at``) always gives the same bytes."""
        return self.render_view(invoice_view(invoice), timestamp=invoice.updated_at)

    def render_view(self, view: dict[str, Any], *, timestamp: datetime, template: str = TEMPLATE) -> bytes:
        """PDF bytes with "Page n of N" on every page, from one layout pass; an invoice's line
        table is drawn by ReportLab directly (``pdf_tables``)."""
        token = new_token()
        html = self.html_from_view(view, template=template, token=token)
        tables = {"lines": invoice_lines(view["lines"])} if template == TEMPLATE else {}
        return self.to_pdf(html, timestamp=timestamp, page_label=self._page_label, tables=tables, token=token)

    def to_pdf(
        self,
        html: str,
        *,
        timestamp: datetime,
        page_label: PageLabel | None = None,
        tables: Mapping[str, TableBuilder] | None = None,
        token: str = "",
    ) -> bytes:
        """Trusted HTML (our template's output) to PDF bytes, dated ``timestamp``.

        With ``page_label``, every page is labelled "Page n of N" (see ``_labelled_pages``); each
        of ``tables`` is drawn where the template placed it with ``token`` (see ``_tables_placed``).
        """
        from xhtml2pdf import pisa

        pdf_qr.install()  # an e-invoiced document's QR: encoded by segno, once per value
        out = io.BytesIO()
        with (
            _source_date(timestamp),
            _labelled_pages(page_label),
            _frames_copied_cheaply(),
            _tables_placed(tables or {}, token),
            pdf_qr.barcodes_drawn(),
        ):
            status = pisa.CreatePDF(
                html,
                dest=out,
                encoding="utf-8",
                link_callback=self.resolve,
                resource_policy=self._resource_policy(),
            )
        if status.err:
            raise RuntimeError(f"xhtml2pdf reported {status.err} error(s) rendering the document")
        return out.getvalue()

    def resolve(self, uri: str, _relative_to: str | None = None) -> str:
        """``link_callback``: an existing file inside the assets directory, or refusal."""
        parts = urlsplit(str(uri))
        if parts.scheme or parts.netloc or parts.query or parts.fragment:
            raise ResourceRefusedError(f"refused to load {str(uri)[:80]!r}: only bundled assets may be used")
        path = (self._assets / unquote(parts.path).lstrip("/")).resolve()
        if not path.is_relative_to(self._assets) or not path.is_file():
            raise ResourceRefusedError(f"refused to load {str(uri)[:80]!r}: not a bundled asset")
        return str(path)

    # ------------------------------------------------------------------ lazy parts
    def _environment(self) -> Environment:
        if self._env is None:
            from jinja2 import Environment, FileSystemLoader, StrictUndefined
            from markupsafe import Markup, escape

            def lines(text: str) -> Markup:
                """Escaped text with its line breaks kept."""
                return Markup("<br/>").join(escape(line) for line in str(text).splitlines())

            env = Environment(
                loader=FileSystemLoader(self._assets / "templates"),
                autoescape=True,
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=False,
            )
            env.filters["lines"] = lines
            self._env = env
        return self._env

    def _resource_policy(self) -> Any:
        if self._policy is None:
            from xhtml2pdf.config.resources import ResourceAccessPolicy

            self._policy = ResourceAccessPolicy.server(base_dir=self._assets, allow_remote=False)
        return self._policy


@contextmanager
def _labelled_pages(label: PageLabel | None) -> Iterator[None]:
    """Have xhtml2pdf draw on a canvas that labels every page "Page n of N", in one layout pass.

    xhtml2pdf only knows N from a second layout of the whole document (``<pdf:pagecount>`` turns
    on ReportLab's ``multiBuild``), which is a third of a long invoice's render. ReportLab can do
    without: a page may use a form XObject that is defined later, before the file is written. So
    each page ends by using the form ``page-label-n``, and when the document is saved, N is known
    and the forms are defined, each drawing "Page n of N" at the footer's right-hand end.

    xhtml2pdf makes its canvas from ``MarkedCanvas`` in ``xhtml2pdf.xhtml2pdf_reportlab``; that name
    points at a subclass for the duration of the render. Renders are serialised by the caller's
    lock (and xhtml2pdf's own), so no other document sees it.
    """
    if label is None:
        yield
        return
    from reportlab.lib.colors import HexColor
    from xhtml2pdf import xhtml2pdf_reportlab

    base = xhtml2pdf_reportlab.MarkedCanvas
    color = HexColor(label.color)
    drawn: PageLabel = label  # the class below does not see the narrowing above

    class LabelledCanvas(base):  # type: ignore[misc, valid-type]
        def showPage(self) -> None:
            self.doForm(f"page-label-{self.getPageNumber()}")
            super().showPage()

        def save(self) -> None:
            if self._code:  # the last page, if nothing ended it
                self.showPage()
            total = self.getPageNumber() - 1
            width = self._pagesize[0]
            for page in range(1, total + 1):
                self.beginForm(f"page-label-{page}")
                self.setFont(drawn.font, drawn.size)
                self.setFillColor(color)
                self.drawRightString(width - drawn.right, drawn.baseline, f"Page {page} of {total}")
                self.endForm()
            super().save()

    xhtml2pdf_reportlab.MarkedCanvas = LabelledCanvas
    try:
        yield
    finally:
        xhtml2pdf_reportlab.MarkedCanvas = base


@contextmanager
def _tables_placed(tables: Mapping[str, TableBuilder], token: str) -> Iterator[None]:
    """Have xhtml2pdf's story carry ``tables`` where the template's placeholders are.

    xhtml2pdf parses the HTML into a story (``document.pisaStory``) and then lays it out; between
    the two, each placeholder paragraph is swapped for its table, built in the fonts the template
    registered. ``pisaStory`` is looked up in ``xhtml2pdf.document`` when a document is built, so
    that name points at a wrapper for the duration of the render (serialised like the canvas
    above). A placeholder of this render with no table, or a table with no placeholder, fails the
    render loudly; without tables nothing is looked for.
    """
    if not tables:
        yield
        return
    from reportlab.lib.fonts import tt2ps
    from xhtml2pdf import document

    parse = document.pisaStory

    def story(*args: Any, **kwargs: Any) -> Any:
        context = parse(*args, **kwargs)
        family = context.getFontName(FAMILY)  # @font-face maps the family's faces in ReportLab
        fonts = Fonts(regular=tt2ps(family, 0, 0), bold=tt2ps(family, 1, 0))
        place_tables(context.story, tables, fonts, token)
        return context

    document.pisaStory = story
    try:
        yield
    finally:
        document.pisaStory = parse


@contextmanager
def _frames_copied_cheaply() -> Iterator[None]:
    """Let ReportLab's per-cell copies of the page frame share the frame's boundary value.

    ReportLab deep-copies the current frame every time it measures a table cell
    (``flowables._listWrapOn``): thousands of times for a long invoice. A frame declared by an
    ``@page`` rule carries a ``ShowBoundaryValue`` (colour, width, dash array), which
    ``copy.deepcopy`` rebuilds through ``__reduce_ex__`` each time: a tenth of a long invoice's
    render. Nothing ever changes one after it is made (it is only read to draw the boundary), so
    for the render a copy of it is the value itself.
    """
    from reportlab.pdfgen.canvas import ShowBoundaryValue

    if "__deepcopy__" in vars(ShowBoundaryValue):  # ReportLab gave it one of its own
        yield
        return
    ShowBoundaryValue.__deepcopy__ = _same  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del ShowBoundaryValue.__deepcopy__  # type: ignore[attr-defined]


def _same(value: Any, _memo: dict[int, Any]) -> Any:
    return value


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


# The variable exists from import on (when only one thread runs) and is only ever *changed*
# afterwards, never added or removed: other threads copying os.environ (boto3, subprocess) would
# otherwise see a key vanish mid-iteration. ReportLab treats "" as unset.
os.environ.setdefault("SOURCE_DATE_EPOCH", "")


@contextmanager
def _source_date(timestamp: datetime) -> Iterator[None]:
    """ReportLab dates the document (and derives its ``/ID``) from ``SOURCE_DATE_EPOCH``."""
    with _RENDER_LOCK:
        previous = os.environ["SOURCE_DATE_EPOCH"]
        os.environ["SOURCE_DATE_EPOCH"] = str(int(timestamp.timestamp()))
        try:
            yield
        finally:
            os.environ["SOURCE_DATE_EPOCH"] = previous
