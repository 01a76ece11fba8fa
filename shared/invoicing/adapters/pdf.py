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

The output is a function of the invoice alone: ReportLab takes the document's creation date and
its ``/ID`` from ``SOURCE_DATE_EPOCH``, which is set to the invoice's ``updated_at`` for the
duration of the render, so rendering one version twice gives the same bytes.

An e-invoiced document prints its IRN, Ack No and Ack Date and the IRP's signed QR JWT as a QR
code 6 cm wide (over 5 cm without its quiet zone), drawn by ReportLab's own QR widget through
xhtml2pdf's ``<pdf:barcode type="qr">``: ReportLab comes with xhtml2pdf already, draws vector
modules (sharp at any print size) and needs no image library, so no dependency is added for it.

xhtml2pdf, ReportLab and Jinja2 are imported on first use, not when this module is imported.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from invoicing.domain.gst import state_name
from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.numbering import IST as _IST
from invoicing.domain.words import amount_in_words, format_inr

TEMPLATE = "invoice.html"
ONE_PAGE_LINES = 12  # invoices with more lines (almost) never fit on one A4 page
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
}
_RESOURCE_TYPES = {"pod": "GPU pod", "vm": "VM", "storage": "Storage", "network": "Network"}
_STAMPS = {
    InvoiceStatus.PAID: ("Paid", "ok"),
    InvoiceStatus.PARTIALLY_PAID: ("Partially paid", "warn"),
    InvoiceStatus.OVERDUE: ("Overdue", "alert"),
    InvoiceStatus.CANCELLED: ("Cancelled", "alert"),
    InvoiceStatus.EXPIRED: ("Expired", "alert"),
}


class ResourceRefusedError(Exception):
    """The document asked for a resource outside the assets directory (or on the network)."""


# ---------------------------------------------------------------------------------------------
# Formatting (pure)
# ---------------------------------------------------------------------------------------------


def group_indian(digits: str) -> str:
    """``"3866501"`` → ``"38,66,501"``: the last three digits, then groups of two."""
    head, tail = digits[:-3], digits[-3:]
    groups = []
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


def _address_lines(address: Any) -> list[str]:
    """Two printed lines: street (line1, line2), then city, state, PIN and country."""
    country = "India" if address.country.upper() in ("IN", "IND") else address.country
    street = ", ".join(part for part in (address.line1, address.line2) if part)
    return [street, f"{address.city}, {address.state} {address.postal_code}, {country}"]


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    """The invoice as the printed page shows it: plain strings and small dicts, nothing to compute."""
    rate = Decimal(invoice.tax.rate)
    intra_state = invoice.supplier.state_code == invoice.place_of_supply
    half = format_decimal(rate / 2)
    taxes = (
        [
            {"label": f"CGST @ {half}%", "amount": format_inr(invoice.tax.cgst)},
            {"label": f"SGST @ {half}%", "amount": format_inr(invoice.tax.sgst)},
        ]
        if intra_state
        else [{"label": f"IGST @ {format_decimal(rate)}%", "amount": format_inr(invoice.tax.igst)}]
    )
    stamp = _STAMPS.get(invoice.status)
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
            "address": _address_lines(invoice.supplier.address),
            "gstin": invoice.supplier.gstin,
            "state": f"{state_name(invoice.supplier.state_code)} ({invoice.supplier.state_code})",
        },
        "customer": {
            "name": invoice.customer.name,
            "email": invoice.customer.email,
            "address": _address_lines(invoice.customer.address),
            "gstin": invoice.customer.gstin,
            "state": f"{state_name(invoice.customer.state_code)} ({invoice.customer.state_code})",
        },
        "place_of_supply": f"{state_name(invoice.place_of_supply)} ({invoice.place_of_supply})",
        "supply_type": "Intra-state (CGST + SGST)" if intra_state else "Inter-state (IGST)",
        "reverse_charge": "No",
        "currency": invoice.currency,
        "lines": [
            {
                "number": index,
                "resource_type": _RESOURCE_TYPES.get(
                    line.resource_type.value, line.resource_type.value.title()
                ),
                "resource_name": line.resource_name,
                "description": line.description,
                "usage": f"{format_ist(line.usage_start)} – {format_ist(line.usage_end)} IST",
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
                "id": payment.id,
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
        "e_invoice": e_invoice_view(invoice),
    }


QR_SIZE = "6cm"  # with its 4-module quiet zone: the symbol itself stays over 5 cm wide (einvoice.md)


def e_invoice_view(invoice: Invoice) -> dict[str, Any] | None:
    """IRN, Ack No, Ack Date and the signed QR JWT, once the IRP registered the document."""
    state = invoice.e_invoice
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


class InvoicePdfRenderer:
    """Renders invoices with the template and fonts of one assets directory."""

    def __init__(self, assets: Path | str) -> None:
        self._assets = Path(assets).resolve()
        if not (self._assets / "templates" / TEMPLATE).is_file():
            raise FileNotFoundError(f"no templates/{TEMPLATE} under {self._assets}")
        self._env: Any = None
        self._policy: Any = None

    @property
    def assets(self) -> Path:
        return self._assets

    def html(self, invoice: Invoice, *, pages: int | None = 1) -> str:
        return self.html_from_view(invoice_view(invoice), pages=pages)

    def html_from_view(self, view: dict[str, Any], *, pages: int | None = 1) -> str:
        """The page's HTML; ``pages=None`` lets xhtml2pdf count the pages (a second layout pass)."""
        return self._environment().get_template(TEMPLATE).render(invoice=view, pages=pages)

    def render(self, invoice: Invoice) -> bytes:
        """The invoice's PDF; the same invoice (same ``updated_at``) always gives the same bytes."""
        return self.render_view(invoice_view(invoice), timestamp=invoice.updated_at)

    def render_view(self, view: dict[str, Any], *, timestamp: datetime) -> bytes:
        """PDF bytes with "Page n of N" in the footer, at the least cost.

        Most invoices fit on one page: they are laid out once, assuming one page, and only laid
        out again, with the real count, if they spilled over. A long invoice surely spills, so it
        asks xhtml2pdf for ``<pdf:pagecount>`` instead: one parse, two layouts.
        """
        if len(view["lines"]) > ONE_PAGE_LINES:
            return self.to_pdf(self.html_from_view(view, pages=None), timestamp=timestamp)
        pdf = self.to_pdf(self.html_from_view(view, pages=1), timestamp=timestamp)
        pages = page_count(pdf)
        if pages > 1:
            pdf = self.to_pdf(self.html_from_view(view, pages=pages), timestamp=timestamp)
        return pdf

    def to_pdf(self, html: str, *, timestamp: datetime) -> bytes:
        """Trusted HTML (our template's output) to PDF bytes, dated ``timestamp``."""
        from xhtml2pdf import pisa

        out = io.BytesIO()
        with _source_date(timestamp):
            status = pisa.CreatePDF(
                html,
                dest=out,
                encoding="utf-8",
                link_callback=self.resolve,
                resource_policy=self._resource_policy(),
            )
        if status.err:
            raise RuntimeError(f"xhtml2pdf reported {status.err} error(s) rendering the invoice")
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
    def _environment(self) -> Any:
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
