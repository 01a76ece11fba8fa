"""The IRP's INV-01 JSON (schema version 1.1) for an invoice or a credit note, built and checked here.

Pure: a document in, a payload (or :class:`PayloadRuleError` naming the rule it breaks) out. Every
rule einvoice.md asks to check locally is checked before anything is sent:

- 1 to 1,000 items;
- the document number matches ``^[A-Za-z1-9][A-Za-z0-9/-]{0,15}$``;
- a B2B buyer: a GSTIN, not the supplier's own;
- CGST + SGST only intra-state (supplier's state = place of supply), IGST only inter-state;
- the items add up: their assessable values to ``AssVal``, and ``TotInvVal`` within ±₹1 of the
  items' ``TotItemVal``; a 6-digit PIN for seller and buyer; a credit note names its invoice;
- the 30-day rule (``check_reporting_window``) for suppliers with AATO above ₹10 crore.

**Line-level tax.** The document's tax components are computed on its taxable total (api.md); the
IRP wants them per item too, and the items must add up to the document exactly. Each item's tax is
``AssAmt × rate`` with the rounding carried from line to line: item *i* gets
``round(cumulative taxable × rate) − tax already given to items 1..i-1`` (half-up), so no item is
more than half a paisa from its own exact tax, and the items add up to ``round(total × rate)`` —
the document's component. Whatever a component differs from that (a full credit note takes exactly
what remains of each, which can be a paisa off) lands on the last item.

**Services.** Every line is a service (``IsServc`` ``Y``, the SAC as ``HsnCd``, ``GstRt`` 18). INV-01
lets a service item leave out ``Qty`` and ``Unit``; ours carry quantities with up to 6 decimals
(INV-01 allows 3) and a credit note's lines have none, so an item is priced as one unit of its
taxable value (``UnitPrice`` = ``TotAmt`` = ``AssAmt``); the quantities stay on our own PDF.

**Credit notes.** :func:`from_credit_note` takes a ``domain.credit_notes.CreditNote`` (which carries
its invoice's parties, place of supply, number and date); the payload is a ``CRN`` with
``RefDtls.PrecDocDtls`` naming that invoice.

Money is integer paise; the payload's rupee values are ``Decimal`` with two places, written as JSON
numbers by :func:`payload_json` (never through ``float``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from invoicing.domain.credit_notes import CreditNote
from invoicing.domain.einvoice import REPORTING_WINDOW_DAYS
from invoicing.domain.errors import InvoicingError
from invoicing.domain.gst import TaxBreakdown
from invoicing.domain.invoice import Address, Customer, Invoice, InvoiceStatus, Supplier

SCHEMA_VERSION = "1.1"
MAX_ITEMS = 1000
DOCUMENT_NUMBER = re.compile(r"^[A-Za-z1-9][A-Za-z0-9/-]{0,15}$")
TOTAL_TOLERANCE_PAISE = 100  # TotInvVal within ±₹1 of the items
DocType = Literal["INV", "CRN"]
DocumentKind = Literal["invoice", "credit_note"]

_HUNDRED = Decimal(100)


class PayloadRuleError(InvoicingError):
    """The document breaks a rule of the IRP's; ``rule`` names it. Nothing is sent."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


# ---------------------------------------------------------------------------------------------
# What is registered: one shape for invoices and credit notes
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    description: str
    sac: str
    taxable: int  # paise


@dataclass(frozen=True)
class Registrable:
    """A document as the IRP sees it."""

    document: DocumentKind
    document_id: str
    account_id: str
    doc_type: DocType
    number: str
    date: date
    supplier: Supplier
    buyer: Customer
    place_of_supply: str
    items: tuple[Item, ...]
    taxable_amount: int
    tax: TaxBreakdown
    amount: int
    preceding: tuple[str, dt.date] | None = None  # a credit note's invoice (number, date)


def from_invoice(invoice: Invoice) -> Registrable:
    if invoice.status is InvoiceStatus.DRAFT or invoice.invoice_number is None or invoice.date is None:
        raise PayloadRuleError("issued", f"Invoice {invoice.id} is a draft; only issued documents register.")
    return Registrable(
        document="invoice",
        document_id=invoice.id,
        account_id=invoice.account_id,
        doc_type="INV",
        number=invoice.invoice_number,
        date=invoice.date,
        supplier=invoice.supplier,
        buyer=invoice.customer,
        place_of_supply=invoice.place_of_supply,
        items=tuple(
            Item(_line_description(line.resource_name, line.description), line.sac_code, line.amount)
            for line in invoice.line_items
        ),
        taxable_amount=invoice.taxable_amount,
        tax=invoice.tax,
        amount=invoice.amount,
    )


def from_credit_note(note: CreditNote) -> Registrable:
    """A credit note: parties and place of supply are its invoice's (copied onto the note)."""
    return Registrable(
        document="credit_note",
        document_id=note.id,
        account_id=note.account_id,
        doc_type="CRN",
        number=note.credit_note_number,
        date=note.date,
        supplier=note.supplier,
        buyer=note.customer,
        place_of_supply=note.place_of_supply,
        items=tuple(Item(line.description, line.sac_code, line.taxable_amount) for line in note.lines),
        taxable_amount=note.taxable_amount,
        tax=note.tax,
        amount=note.amount,
        preceding=(note.invoice_number, note.invoice_date),
    )


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------
def check_reporting_window(document_date: date, today: date, *, aato_above_10_crore: bool) -> None:
    """Above ₹10 crore AATO the IRP refuses a document more than 30 days after its date."""
    if aato_above_10_crore and today - document_date > timedelta(days=REPORTING_WINDOW_DAYS):
        raise PayloadRuleError(
            "reporting_window",
            f"30-day rule: a supplier with AATO above ₹10 crore cannot register a document more than "
            f"{REPORTING_WINDOW_DAYS} days after its date (dated {document_date.isoformat()}, "
            f"{(today - document_date).days} days ago).",
        )


def _check(doc: Registrable) -> None:
    if not 1 <= len(doc.items) <= MAX_ITEMS:
        raise PayloadRuleError(
            "item_count", f"An e-invoice has 1 to {MAX_ITEMS:,} items; this document has {len(doc.items)}."
        )
    if not DOCUMENT_NUMBER.fullmatch(doc.number):
        raise PayloadRuleError(
            "document_number",
            f"Document number {doc.number!r} does not match the IRP's pattern {DOCUMENT_NUMBER.pattern}.",
        )
    if not doc.buyer.gstin:
        raise PayloadRuleError("buyer_gstin", "A B2B e-invoice needs the buyer's GSTIN; the buyer has none.")
    if doc.buyer.gstin == doc.supplier.gstin:
        raise PayloadRuleError("buyer_gstin", "The buyer's GSTIN is the supplier's own; it is not B2B.")
    intra = doc.supplier.state_code == doc.place_of_supply
    if intra and doc.tax.igst:
        raise PayloadRuleError(
            "tax_regime",
            "IGST on an intra-state supply: CGST and SGST apply when supplier and place of supply are "
            f"both in state {doc.place_of_supply}.",
        )
    if not intra and (doc.tax.cgst or doc.tax.sgst):
        raise PayloadRuleError(
            "tax_regime",
            f"CGST/SGST on an inter-state supply (supplier in {doc.supplier.state_code}, place of "
            f"supply {doc.place_of_supply}): IGST applies.",
        )
    if sum(item.taxable for item in doc.items) != doc.taxable_amount:
        raise PayloadRuleError(
            "assessable_value", "The items' assessable values do not add up to the document's taxable value."
        )
    if any(item.taxable < 0 for item in doc.items):
        raise PayloadRuleError("assessable_value", "An item's assessable value is negative.")
    for who, address in (("seller", doc.supplier.address), ("buyer", doc.buyer.address)):
        if not re.fullmatch(r"[1-9][0-9]{5}", address.postal_code.strip()):
            raise PayloadRuleError("pin", f"The {who}'s PIN code {address.postal_code!r} is not 6 digits.")
    if doc.doc_type == "CRN" and doc.preceding is None:
        raise PayloadRuleError("preceding_document", "A credit note must name the invoice it corrects.")


# ---------------------------------------------------------------------------------------------
# The payload
# ---------------------------------------------------------------------------------------------
def build_payload(doc: Registrable) -> dict[str, Any]:
    """INV-01 JSON for ``doc``; raises :class:`PayloadRuleError` if it breaks a rule."""
    _check(doc)
    rate = Decimal(doc.tax.rate)
    intra = doc.supplier.state_code == doc.place_of_supply
    components = {"Cgst": doc.tax.cgst, "Sgst": doc.tax.sgst} if intra else {"Igst": doc.tax.igst}
    component_rate = rate / 2 if intra else rate
    taxable = [item.taxable for item in doc.items]
    shares = {name: carried_shares(taxable, component_rate, total) for name, total in components.items()}
    for name, values in shares.items():
        # each item's share within ₹1 of its own exact tax: |share × 100 − taxable × rate| ≤ 100 × 100
        if any(
            v < 0 or abs(v * 100 - t * component_rate) > 10_000 for v, t in zip(values, taxable, strict=True)
        ):
            raise PayloadRuleError(
                "item_tax",
                f"The document's {name.upper()} cannot be spread over its items at {component_rate}% "
                "within ₹1 of each item's own tax.",
            )
    items = []
    item_total = 0
    for index, item in enumerate(doc.items):
        taxes = {name: shares.get(name, [0] * len(doc.items))[index] for name in ("Igst", "Cgst", "Sgst")}
        total = item.taxable + sum(taxes.values())
        item_total += total
        items.append(
            {
                "SlNo": str(index + 1),
                "PrdDesc": _text(item.description or f"Services (SAC {item.sac})", 300),
                "IsServc": "Y",
                "HsnCd": item.sac,
                "UnitPrice": rupees(item.taxable),
                "TotAmt": rupees(item.taxable),
                "AssAmt": rupees(item.taxable),
                "GstRt": _number(rate),
                "IgstAmt": rupees(taxes["Igst"]),
                "CgstAmt": rupees(taxes["Cgst"]),
                "SgstAmt": rupees(taxes["Sgst"]),
                "TotItemVal": rupees(total),
            }
        )
    if abs(doc.amount - item_total) > TOTAL_TOLERANCE_PAISE:
        raise PayloadRuleError(
            "total_value",
            f"TotInvVal {rupees(doc.amount)} is not within ₹1 of the items' total {rupees(item_total)}.",
        )
    payload: dict[str, Any] = {
        "Version": SCHEMA_VERSION,
        "TranDtls": {"TaxSch": "GST", "SupTyp": "B2B", "RegRev": "N", "IgstOnIntra": "N"},
        "DocDtls": {"Typ": doc.doc_type, "No": doc.number, "Dt": nic_date(doc.date)},
        "SellerDtls": {"Gstin": doc.supplier.gstin, "LglNm": _text(doc.supplier.name, 100)}
        | _address(doc.supplier.address, doc.supplier.state_code),
        "BuyerDtls": {
            "Gstin": doc.buyer.gstin,
            "LglNm": _text(doc.buyer.name, 100),
            "Pos": doc.place_of_supply,
        }
        | _address(doc.buyer.address, doc.buyer.state_code),
        "ItemList": items,
        "ValDtls": {
            "AssVal": rupees(doc.taxable_amount),
            "CgstVal": rupees(doc.tax.cgst),
            "SgstVal": rupees(doc.tax.sgst),
            "IgstVal": rupees(doc.tax.igst),
            "TotInvVal": rupees(doc.amount),
        },
    }
    if doc.preceding is not None:
        number, when = doc.preceding
        payload["RefDtls"] = {"PrecDocDtls": [{"InvNo": number, "InvDt": nic_date(when)}]}
    return payload


def carried_shares(taxable: Sequence[int], rate: Decimal, total: int) -> list[int]:
    """``total`` (paise) spread over the items: each gets its cumulative taxable × ``rate`` % (half-up)
    minus what the items before it got; the last takes whatever is left of ``total``."""
    shares: list[int] = []
    cumulative = 0
    given = 0
    for index, value in enumerate(taxable):
        cumulative += value
        if index == len(taxable) - 1:
            shares.append(total - given)
            break
        target = int((Decimal(cumulative) * rate / _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        shares.append(target - given)
        given = target
    return shares


def _address(address: Address, state_code: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"Addr1": _text(address.line1, 100)}
    if address.line2 and len(address.line2.strip()) >= 3:
        fields["Addr2"] = _text(address.line2, 100)
    fields |= {"Loc": _text(address.city, 50), "Pin": int(address.postal_code.strip()), "Stcd": state_code}
    return fields


def _line_description(name: str, description: str) -> str:
    return f"{name} — {description}" if description else name


def _text(value: str, limit: int) -> str:
    """The IRP's text fields: single spaces, no control characters, at most ``limit`` characters."""
    cleaned = " ".join(value.split())
    return cleaned[:limit]


def _number(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def rupees(paise: int) -> Decimal:
    """Integer paise as rupees with exactly two places (``94550`` → ``Decimal("945.50")``)."""
    return Decimal(paise).scaleb(-2)


def nic_date(value: date) -> str:
    """``dd/mm/yyyy``, as INV-01 writes dates."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------
def payload_json(payload: Any, *, indent: int | None = None) -> str:
    """JSON with ``Decimal`` written as the number it is (``12.30``, never via ``float``); compact
    unless ``indent`` is given. The stdlib encoder does the work: each ``Decimal`` goes in as a
    string marked with a per-call nonce and comes out unquoted."""
    nonce = secrets.token_hex(8)
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(_marked(payload, nonce), ensure_ascii=False, indent=indent, separators=separators)
    head, *marked = text.split(f'"\\u0000{nonce}')  # each piece starts with a number and its quote
    return head + "".join(piece.replace('"', "", 1) for piece in marked)


def _marked(value: Any, nonce: str) -> Any:
    if isinstance(value, dict):
        return {key: _marked(item, nonce) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_marked(item, nonce) for item in value]
    if isinstance(value, Decimal):
        text = str(value)
        return "\x00" + nonce + (text if "E" not in text else format(value, "f"))
    return value
