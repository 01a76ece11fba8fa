"""Statements of account: the PDF ("Statement of account", ``templates/statement.html``) and the CSV.

The PDF goes through the invoice renderer's own pipeline (``InvoicePdfRenderer.to_pdf``): the same
fonts, the same refusal of anything outside the assets directory, the same reproducible output
(dated by when the statement was generated). Every value reaches the template through Jinja2
autoescaping. The CSV is ``date,type,reference,description,debit,credit,balance`` with money in
rupees and two decimals, one CRLF-terminated RFC 4180 line at a time, cells a spreadsheet would
run as a formula neutralised.

Balances print as Indian accountants read them: ``12,345.00 Dr`` (the customer owes) or
``500.00 Cr`` (money held for the customer, an advance not yet used).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from invoicing.adapters.pdf import InvoicePdfRenderer, address_lines, format_date
from invoicing.contracts.common import csv_cell, rupees
from invoicing.domain.gst import state_name
from invoicing.domain.ledger import EntryType, LedgerEntry
from invoicing.domain.numbering import IST
from invoicing.domain.statements import StatementDocument
from invoicing.domain.words import format_inr

TEMPLATE = "statement.html"
CSV_COLUMNS = ("date", "type", "reference", "description", "debit", "credit", "balance")
_TYPES = {
    EntryType.INVOICE: "Invoice",
    EntryType.PAYMENT: "Payment",
    EntryType.CREDIT_NOTE: "Credit note",
    EntryType.REFUND: "Refund",
}


def balance_text(paise: int) -> str:
    """``1234500`` → ``"12,345.00 Dr"``; ``-50000`` → ``"500.00 Cr"``; ``0`` → ``"0.00"``."""
    if paise == 0:
        return "0.00"
    return f"{format_inr(abs(paise))} {'Dr' if paise > 0 else 'Cr'}"


def statement_view(document: StatementDocument) -> dict[str, Any]:
    """Everything the page prints, already formatted."""
    statement, figures, supplier = document.statement, document.figures, document.supplier
    customer = statement.customer
    closing = figures.closing_balance
    if closing > 0:
        standing = {"text": f"Amount due ₹{format_inr(closing)}", "tone": "due"}
    elif closing < 0:
        standing = {"text": f"In credit ₹{format_inr(-closing)} (advance not yet used)", "tone": "ok"}
    else:
        standing = {"text": "Nothing is due", "tone": "ok"}
    return {
        "title": f"Statement of account {statement.account_id}, {format_date(statement.start)} – "
        f"{format_date(statement.end)}",
        "supplier": {
            "name": supplier.name,
            "address": address_lines(supplier.address),
            "gstin": supplier.gstin,
            "state": f"{state_name(supplier.state_code)} ({supplier.state_code})",
        },
        "customer": (
            {
                "name": customer.name,
                "email": customer.email,
                "address": address_lines(customer.address),
                "gstin": customer.gstin,
            }
            if customer
            else None
        ),
        "account_id": statement.account_id,
        "statement_id": statement.id,
        "period": f"{format_date(statement.start)} – {format_date(statement.end)}",
        "from": format_date(statement.start),
        "to": format_date(statement.end),
        "generated": format_date(document.generated_at.astimezone(IST).date()),
        "currency": statement.currency,
        "opening": balance_text(figures.opening_balance),
        "closing": balance_text(closing),
        "standing": standing,
        "totals": {
            "invoiced": format_inr(figures.totals.invoiced),
            "paid": format_inr(figures.totals.paid),
            "credited": format_inr(figures.totals.credited),
            "refunded": format_inr(figures.totals.refunded),
            "debits": format_inr(figures.totals.debits),
            "credits": format_inr(figures.totals.credits),
        },
        "count": figures.entry_count,
        "entries": [
            {
                "date": format_date(entry.date),
                "type": _TYPES[entry.type],
                "reference": entry.reference,
                "description": entry.description,
                "debit": format_inr(entry.debit) if entry.debit else "",
                "credit": format_inr(entry.credit) if entry.credit else "",
                "balance": balance_text(entry.balance),
            }
            for entry in document.entries
        ],
    }


class StatementPdfRenderer:
    """``services.ports.StatementRenderer``: the PDF from ``templates/statement.html``, and the CSV."""

    def __init__(self, assets: Path | str, pdf: InvoicePdfRenderer | None = None) -> None:
        self._pdf = pdf or InvoicePdfRenderer(assets)
        self._assets = self._pdf.assets
        if not (self._assets / "templates" / TEMPLATE).is_file():
            raise FileNotFoundError(f"no templates/{TEMPLATE} under {self._assets}")

    def html(self, document: StatementDocument) -> str:
        return self._pdf.render_template(TEMPLATE, statement=statement_view(document))

    def render(self, document: StatementDocument) -> bytes:
        """The statement's PDF; the same statement generated at the same moment gives the same bytes."""
        return self._pdf.to_pdf(self.html(document), timestamp=document.generated_at)

    # ---------------------------------------------------------------------------------- CSV
    def csv_header(self) -> str:
        return _line(CSV_COLUMNS)

    def csv_row(self, entry: LedgerEntry) -> str:
        return _line(
            (
                entry.date.isoformat(),
                entry.type.value,
                csv_cell(entry.reference),
                csv_cell(entry.description),
                rupees(entry.debit),
                rupees(entry.credit),
                rupees(entry.balance),
            )
        )


def _line(cells: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()
