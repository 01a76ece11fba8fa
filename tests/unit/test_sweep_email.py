"""The reminder e-mail (adapters/email.py): what it says, in both parts, and that it escapes data."""

from __future__ import annotations

from datetime import date, timedelta

from invoicing.adapters.email import long_date, render_reminder, rupees
from invoicing.domain.sweep import Reminder
from tests.unit.factories import NOW, customer, issued, payment

DUE = date(2026, 10, 16)


def overdue(**overrides):  # type: ignore[no-untyped-def]
    invoice = issued(**overrides)
    return invoice.mark_overdue(DUE + timedelta(days=1), NOW)


def test_the_overdue_notice_names_number_amount_due_date_and_link_in_both_parts():
    invoice = overdue()

    message = render_reminder(Reminder(invoice=invoice, today=DUE + timedelta(days=1), first_notice=True))

    assert message.to == "billing@acme.example"
    assert message.subject == "Invoice INV/2627/000001 is overdue: ₹1,062.00 due"
    for part in (message.text, message.html):
        assert "INV/2627/000001" in part
        assert "₹1,062.00" in part
        assert "16 Oct 2026" in part
        assert "https://rzp.io/i/example" in part
        assert "23 Oct 2026" in part  # the grace period's end: service may be affected after it
    assert "<html" not in message.text and "<html" in message.html


def test_a_reminder_says_how_late_and_what_is_left_after_a_part_payment():
    invoice = overdue(partial_payment=True)
    invoice = invoice.apply_payment(payment(62_00), NOW)

    message = render_reminder(Reminder(invoice=invoice, today=DUE + timedelta(days=7), first_notice=False))

    assert message.subject == "Reminder: invoice INV/2627/000001 is 7 days overdue (₹1,000.00 due)"
    assert "7 days overdue" in message.text and "7 days overdue" in message.html
    assert "of ₹1,062.00" in message.text
    assert "suspended until it is paid" in message.text  # past the 7-day grace period


def test_one_day_is_singular():
    message = render_reminder(Reminder(invoice=overdue(), today=DUE + timedelta(days=1), first_notice=False))
    assert "is 1 day overdue" in message.subject


def test_without_a_payment_link_the_mail_points_to_the_portal():
    invoice = overdue().model_copy(update={"payment_url": None})

    message = render_reminder(Reminder(invoice=invoice, today=DUE + timedelta(days=3), first_notice=False))

    for part in (message.text, message.html):
        assert "Pay Now" in part and "None" not in part


def test_customer_data_is_escaped_in_the_html_part_only():
    invoice = overdue(customer=customer(name="<script>alert('x')</script> & Sons"))

    message = render_reminder(Reminder(invoice=invoice, today=DUE + timedelta(days=1), first_notice=True))

    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html and "&amp; Sons" in message.html
    assert "<script>alert('x')</script> & Sons" in message.text


def test_formats():
    assert rupees(386650150) == "₹38,66,501.50"
    assert long_date(date(2027, 3, 5)) == "5 Mar 2027"
