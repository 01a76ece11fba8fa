"""What the printed invoice says, before any PDF is involved: formatting and the view model."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from invoicing.adapters.pdf import (
    format_date,
    format_decimal,
    format_ist,
    group_indian,
    invoice_view,
    payment_method,
)
from invoicing.adapters.storage import safe_filename
from invoicing.domain.invoice import Address
from tests.unit.factories import NOW, customer, draft, issued, line, payment


@pytest.mark.parametrize(
    ("digits", "grouped"),
    [
        ("0", "0"),
        ("999", "999"),
        ("1000", "1,000"),
        ("100000", "1,00,000"),
        ("3866501", "38,66,501"),
        ("1234567890", "1,23,45,67,890"),
    ],
)
def test_digits_are_grouped_the_indian_way(digits, grouped):
    assert group_indian(digits) == grouped


@pytest.mark.parametrize(
    ("value", "min_places", "printed"),
    [
        ("720", 0, "720"),
        ("512.5", 0, "512.5"),
        ("1530.250", 0, "1,530.25"),
        ("0.013900", 2, "0.0139"),
        ("6.250000", 2, "6.25"),
        ("4999", 2, "4,999.00"),
        ("1E+3", 0, "1,000"),
        ("245.50", 2, "245.50"),
        ("1234567.5", 2, "12,34,567.50"),
    ],
)
def test_quantities_and_rates_print_without_noise(value, min_places, printed):
    assert format_decimal(Decimal(value), min_places=min_places) == printed


def test_dates_and_timestamps_print_in_india_time():
    assert format_date(date(2026, 10, 1)) == "01 Oct 2026"
    assert format_date(None) == ""
    # 18:29 UTC on 30 September is 23:59 in India.
    assert format_ist(datetime(2026, 9, 30, 18, 29, tzinfo=UTC)) == "30 Sep 2026 23:59"


@pytest.mark.parametrize(
    ("method", "printed"),
    [
        ("upi", "UPI"),
        ("card", "Card"),
        ("netbanking", "Net banking"),
        ("wallet", "Wallet"),
        ("bank_x", "Bank x"),
    ],
)
def test_payment_methods_have_readable_names(method, printed):
    assert payment_method(method) == printed


def test_intra_state_supply_shows_cgst_and_sgst_at_half_the_rate_each():
    invoice = issued(customer=customer(intra_state=True))

    view = invoice_view(invoice)

    assert view["supply_type"] == "Intra-state (CGST + SGST)"
    assert [tax["label"] for tax in view["taxes"]] == ["CGST @ 9%", "SGST @ 9%"]
    assert view["place_of_supply"] == "Maharashtra (27)"
    assert view["reverse_charge"] == "No"


def test_inter_state_supply_shows_igst_at_the_full_rate():
    invoice = issued(customer=customer(intra_state=False))

    view = invoice_view(invoice)

    assert view["supply_type"] == "Inter-state (IGST)"
    assert view["taxes"] == [{"label": "IGST @ 18%", "amount": "162.00"}]
    assert view["place_of_supply"] == "Gujarat (24)"


def test_addresses_print_on_two_lines_with_the_country_spelled_out():
    invoice = issued(
        customer=customer(
            address=Address(
                line1="12 FC Road",
                line2="Shivajinagar",
                city="Pune",
                state="Maharashtra",
                postal_code="411004",
            )
        )
    )

    assert invoice_view(invoice)["customer"]["address"] == [
        "12 FC Road, Shivajinagar",
        "Pune, Maharashtra 411004, India",
    ]


def test_status_stamps_mark_final_and_late_invoices_only():
    open_invoice = issued()
    paid = open_invoice.apply_payment(payment(open_invoice.amount), NOW)
    cancelled = issued().cancel(NOW)

    assert invoice_view(open_invoice)["stamp"] is None
    assert invoice_view(paid)["stamp"] == {"text": "Paid", "tone": "ok"}
    assert invoice_view(cancelled)["stamp"] == {"text": "Cancelled", "tone": "alert"}


def test_a_draft_view_has_no_number_or_dates():
    view = invoice_view(draft())

    assert (view["number"], view["date"], view["due_date"]) == ("", "", "")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("INV-2627-000042.pdf", "INV-2627-000042.pdf"),
        ('a"b\r\n.pdf', "a-b-.pdf"),
        ("../x", "x"),
        ("", "document"),
    ],
)
def test_download_file_names_need_no_quoting(name, safe):
    assert safe_filename(name) == safe


def test_lines_used_for_the_whole_billing_period_leave_the_usage_to_one_caption():
    # Given one line metered over the whole period (IST midnight to IST midnight) and one that is not
    whole = line(
        usage_start=datetime(2026, 8, 31, 18, 30, tzinfo=UTC),
        usage_end=datetime(2026, 9, 30, 18, 30, tzinfo=UTC),
    )
    partial = line(resource_name="vm-web-2", usage_start=datetime(2026, 9, 15, 4, 30, tzinfo=UTC))

    # When
    view = invoice_view(issued(line_items=[whole, partial]))

    # Then
    assert view["usage_window"] == "01 Sep 2026 00:00 – 01 Oct 2026 00:00 IST"
    assert [item["usage"] for item in view["lines"]] == ["", "15 Sep 2026 10:00 – 30 Sep 2026 23:59 IST"]


def test_without_a_line_on_the_billing_period_every_line_says_its_own_usage():
    view = invoice_view(issued(line_items=[line(), line(resource_name="vm-web-2")]))

    assert view["usage_window"] == ""
    assert {item["usage"] for item in view["lines"]} == {"01 Sep 2026 05:30 – 30 Sep 2026 23:59 IST"}
