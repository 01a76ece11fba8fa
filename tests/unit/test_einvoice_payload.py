"""The INV-01 payload builder: golden files, line-level tax that adds up, the local rules.

Golden files live in ``tests/unit/golden/einvoice/``; ``UPDATE_GOLDEN=1`` rewrites them (review the
diff before committing).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.domain.einvoice_payload import (
    PayloadRuleError,
    build_payload,
    carried_shares,
    check_reporting_window,
    from_credit_note,
    from_invoice,
    payload_json,
)
from invoicing.domain.gst import TaxBreakdown
from tests.unit.einvoice_factories import (
    INTER_BUYER_GSTIN,
    INTRA_BUYER_GSTIN,
    SUPPLIER_GSTIN,
    credit_note_of,
    issued,
    lines,
)

GOLDEN = Path(__file__).with_name("golden") / "einvoice"


def golden(name: str, payload: dict) -> None:
    text = payload_json(payload, indent=2) + "\n"
    assert json.loads(text, parse_float=Decimal) == json.loads(payload_json(payload), parse_float=Decimal)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def paise(value: Decimal) -> int:
    return int(value * 100)


def assert_items_add_up(payload: dict) -> None:
    items, totals = payload["ItemList"], payload["ValDtls"]
    for name in ("Cgst", "Sgst", "Igst"):
        assert sum(paise(item[f"{name}Amt"]) for item in items) == paise(totals[f"{name}Val"])
    assert sum(paise(item["AssAmt"]) for item in items) == paise(totals["AssVal"])
    assert abs(sum(paise(item["TotItemVal"]) for item in items) - paise(totals["TotInvVal"])) <= 100


# --------------------------------------------------------------------------------- golden files
def test_intra_state_invoice_carries_cgst_and_sgst_per_item():
    payload = build_payload(from_invoice(issued(gstin=INTRA_BUYER_GSTIN)))
    assert payload["ValDtls"]["IgstVal"] == Decimal("0.00")
    assert payload["BuyerDtls"]["Pos"] == "27"
    assert_items_add_up(payload)
    golden("intra_state", payload)


def test_inter_state_invoice_carries_igst_per_item():
    payload = build_payload(from_invoice(issued(gstin=INTER_BUYER_GSTIN)))
    assert payload["ValDtls"]["CgstVal"] == payload["ValDtls"]["SgstVal"] == Decimal("0.00")
    assert payload["BuyerDtls"]["Pos"] == "24"
    assert_items_add_up(payload)
    golden("inter_state", payload)


def test_credit_note_is_a_crn_naming_its_invoice():
    invoice = issued(gstin=INTER_BUYER_GSTIN)
    note = credit_note_of(invoice, [30000, 1550])
    payload = build_payload(from_credit_note(note))
    assert payload["DocDtls"] == {"Typ": "CRN", "No": "CN/2627/000007", "Dt": "06/10/2026"}
    assert payload["RefDtls"] == {"PrecDocDtls": [{"InvNo": "INV/2627/000042", "InvDt": "01/10/2026"}]}
    assert_items_add_up(payload)
    golden("credit_note", payload)


def test_a_500_line_billing_run_invoice_adds_up_to_the_paisa():
    rates = [f"{(i * 7919) % 100000 / 1000:.3f}" for i in range(1, 501)]
    invoice = issued(gstin=INTRA_BUYER_GSTIN, line_items=lines(rates, quantity="3.5"))
    payload = build_payload(from_invoice(invoice))
    assert len(payload["ItemList"]) == 500
    assert_items_add_up(payload)
    assert paise(payload["ValDtls"]["CgstVal"]) == invoice.tax.cgst
    golden("billing_run_500_lines", payload)


def test_fractional_paise_lines_carry_their_rounding_from_line_to_line():
    # Each line's 9 % is x.5 paise or close to it: rounded on its own, the lines would not add up.
    invoice = issued(gstin=INTRA_BUYER_GSTIN, line_items=lines(["0.50", "0.50", "0.50", "0.17", "0.39"]))
    payload = build_payload(from_invoice(invoice))
    cgst = [paise(item["CgstAmt"]) for item in payload["ItemList"]]
    assert sum(cgst) == invoice.tax.cgst
    assert cgst == [5, 4, 5, 1, 4]  # 4.5 → 5, 9.0 → 9 (4), 13.5 → 14 (5), 15.03 → 15 (1), 18.54 → 19 (4)
    golden("fractional_paise", payload)


def test_amounts_are_json_numbers_with_two_decimals_never_floats():
    text = payload_json(build_payload(from_invoice(issued(gstin=INTRA_BUYER_GSTIN))))
    assert '"AssVal":945.50' in text and '"GstRt":18' in text


# --------------------------------------------------------------------------------- carried tax
@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=60),
    st.sampled_from([Decimal("9"), Decimal("18")]),
)
def test_carried_shares_add_up_and_stay_within_a_paisa_of_each_item(taxable, rate):
    total = int((Decimal(sum(taxable)) * rate / 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    shares = carried_shares(taxable, rate, total)
    assert sum(shares) == total
    for share, value in zip(shares, taxable, strict=True):
        assert abs(share - Decimal(value) * rate / 100) <= 1


# --------------------------------------------------------------------------------- local rules
def rule_of(doc) -> str:
    with pytest.raises(PayloadRuleError) as refused:
        build_payload(doc)
    return refused.value.rule


def test_more_than_1000_items_is_refused():
    invoice = issued(gstin=INTRA_BUYER_GSTIN)
    doc = from_invoice(invoice)
    many = replace(doc, items=doc.items * 501, taxable_amount=doc.taxable_amount * 501)
    assert rule_of(many) == "item_count"


@pytest.mark.parametrize("number", ["0NV/1", "INV 1", "INV/2627/0000000042", "INV_1"])
def test_a_document_number_outside_the_irp_pattern_is_refused(number):
    doc = replace(from_invoice(issued()), number=number)
    assert rule_of(doc) == "document_number"


def test_igst_on_an_intra_state_supply_is_refused():
    doc = from_invoice(issued(gstin=INTRA_BUYER_GSTIN))
    wrong = replace(doc, tax=TaxBreakdown(rate="18", cgst=0, sgst=0, igst=doc.tax.total))
    assert rule_of(wrong) == "tax_regime"


def test_cgst_on_an_inter_state_supply_is_refused():
    doc = from_invoice(issued(gstin=INTER_BUYER_GSTIN))
    half = doc.tax.igst // 2
    assert rule_of(replace(doc, tax=TaxBreakdown(rate="18", cgst=half, sgst=half, igst=0))) == "tax_regime"


def test_a_total_more_than_a_rupee_off_the_items_is_refused():
    doc = from_invoice(issued())
    assert rule_of(replace(doc, amount=doc.amount + 101)) == "total_value"
    build_payload(replace(doc, amount=doc.amount + 100))  # within ±₹1 is accepted


def test_the_supplier_s_own_gstin_is_not_b2b():
    doc = from_invoice(issued(gstin=SUPPLIER_GSTIN))
    assert rule_of(doc) == "buyer_gstin"


def test_a_credit_note_must_name_its_invoice():
    invoice = issued()
    doc = replace(from_credit_note(credit_note_of(invoice, [1000])), preceding=None)
    assert rule_of(doc) == "preceding_document"


def test_the_rule_message_names_the_rule():
    doc = replace(from_invoice(issued()), number="INV 1")
    with pytest.raises(PayloadRuleError, match=r"IRP's pattern"):
        build_payload(doc)


# --------------------------------------------------------------------------------- 30-day rule
def test_thirty_days_after_the_date_is_still_in_time_thirty_one_is_not():
    check_reporting_window(date(2026, 9, 1), date(2026, 10, 1), aato_above_10_crore=True)
    with pytest.raises(PayloadRuleError, match="30-day rule") as late:
        check_reporting_window(date(2026, 9, 1), date(2026, 10, 2), aato_above_10_crore=True)
    assert late.value.rule == "reporting_window"


def test_below_ten_crore_the_window_does_not_apply():
    check_reporting_window(date(2026, 1, 1), date(2026, 10, 2), aato_above_10_crore=False)
