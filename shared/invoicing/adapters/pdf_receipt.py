"""Receipt-voucher PDFs ("Receipt Voucher", ``templates/receipt.html``): the GST document a wallet
top-up gets when its advance is received (CGST Rule 50).

The PDF goes through the invoice renderer's own pipeline (``InvoicePdfRenderer.to_pdf``): the same
fonts, the same refusal of anything outside the assets directory, the same reproducible output
(dated by the voucher's ``created_at``), and "Page n of N" drawn at the right-hand end of the
footer, whose frame the template copies from ``invoice.html``. Every value reaches the template
through Jinja2 autoescaping.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from invoicing.adapters.pdf import (
    InvoicePdfRenderer,
    PageLabel,
    format_date,
    format_decimal,
    format_ist,
    party_view,
)
from invoicing.adapters.pdf import payment_method as method_label
from invoicing.domain.gst import state_name
from invoicing.domain.wallet import ReceiptVoucher
from invoicing.domain.words import amount_in_words, format_inr

TEMPLATE = "receipt.html"


def receipt_view(receipt: ReceiptVoucher) -> dict[str, Any]:
    """A receipt voucher as printed: every field CGST Rule 50 asks for, already formatted."""
    rate = Decimal(receipt.tax.rate)
    half, full = format_decimal(rate / 2), format_decimal(rate)
    if receipt.intra_state:
        taxes = [
            {"name": "CGST", "rate": f"{half}%", "amount": format_inr(receipt.tax.cgst)},
            {"name": "SGST", "rate": f"{half}%", "amount": format_inr(receipt.tax.sgst)},
        ]
    else:
        taxes = [{"name": "IGST", "rate": f"{full}%", "amount": format_inr(receipt.tax.igst)}]
    return {
        "title": f"Receipt Voucher {receipt.receipt_number}",
        "number": receipt.receipt_number,
        "date": format_date(receipt.date),
        "supplier": party_view(receipt.supplier),
        "customer": party_view(receipt.customer) | {"email": receipt.customer.email},
        "place_of_supply": f"{state_name(receipt.place_of_supply)} ({receipt.place_of_supply})",
        "supply_type": "Intra-state (CGST + SGST)" if receipt.intra_state else "Inter-state (IGST)",
        "reverse_charge": "No",
        "currency": receipt.currency,
        "description": receipt.description,
        "sac": receipt.sac_code,
        "amount": format_inr(receipt.amount),
        "taxes": taxes,
        "tax_total": format_inr(receipt.tax_amount),
        "total": format_inr(receipt.total),
        "total_in_words": amount_in_words(receipt.total),
        "payment_id": receipt.payment_id,
        "method": method_label(receipt.method),
        "received": f"{format_ist(receipt.paid_at)} IST",
        "top_up_id": receipt.top_up_id,
    }


class ReceiptPdfRenderer:
    """``services.ports.ReceiptRenderer``: the PDF from ``templates/receipt.html``."""

    def __init__(self, assets: Path | str, pdf: InvoicePdfRenderer | None = None) -> None:
        self._pdf = pdf or InvoicePdfRenderer(assets)
        self._assets = self._pdf.assets
        if not (self._assets / "templates" / TEMPLATE).is_file():
            raise FileNotFoundError(f"no templates/{TEMPLATE} under {self._assets}")

    def html(self, receipt: ReceiptVoucher) -> str:
        return self._pdf.render_template(TEMPLATE, receipt=receipt_view(receipt))

    def render_receipt(self, receipt: ReceiptVoucher) -> bytes:
        """The voucher's PDF; the same voucher always gives the same bytes."""
        return self._pdf.to_pdf(self.html(receipt), timestamp=receipt.created_at, page_label=PageLabel())
