"""Reminder e-mails through Amazon SES (API v2 ``SendEmail``, simple content: HTML and text).

The message is rendered from Jinja2 templates in ``templates/`` (HTML autoescaped: customer names
and notes are data, never markup). Neither the address nor the content is ever logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from invoicing.domain.errors import RetryableError
from invoicing.domain.sweep import Reminder
from invoicing.domain.words import format_inr

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).with_name("templates")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RETRYABLE = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable"}
)


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    """Jinja2 is imported with the first e-mail, not with the module (every function wires a mailer)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def long_date(day: date) -> str:
    """``16 Oct 2026``: unambiguous in India and independent of the process locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def rupees(paise: int) -> str:
    return f"₹{format_inr(paise)}"


def render_reminder(reminder: Reminder) -> EmailMessage:
    """Subject, plain text and HTML of an overdue notice or reminder."""
    invoice = reminder.invoice
    assert invoice.due_date is not None and invoice.invoice_number is not None
    late = reminder.days_past_due
    grace = invoice.grace_period_days
    context: dict[str, Any] = {
        "customer_name": invoice.customer.name,
        "supplier_name": invoice.supplier.name,
        "invoice_number": invoice.invoice_number,
        "amount_due": rupees(invoice.amount_due),
        "amount": rupees(invoice.amount),
        "partly_paid": invoice.amount_paid > 0,
        "due_date": long_date(invoice.due_date),
        "days_past_due": late,
        "days_word": "day" if late == 1 else "days",
        "payment_url": invoice.payment_url,
        "first_notice": reminder.first_notice,
        # Service may be affected after the grace period (customer help page, "Overdue Invoices").
        "suspension_from": (
            long_date(invoice.due_date + timedelta(days=grace))
            if grace is not None and late < grace
            else None
        ),
        "suspension_due": grace is not None and late >= grace,
    }
    if reminder.first_notice:
        subject = f"Invoice {invoice.invoice_number} is overdue: {context['amount_due']} due"
    else:
        subject = (
            f"Reminder: invoice {invoice.invoice_number} is {late} {context['days_word']} overdue "
            f"({context['amount_due']} due)"
        )
    env = _environment()
    return EmailMessage(
        to=invoice.customer.email,
        subject=subject,
        text=env.get_template("reminder_email.txt").render(context),
        html=env.get_template("reminder_email.html").render(context),
    )


class SesReminderMailer:
    """``ReminderMailer`` over SES v2. ``sender`` must be a verified SES identity."""

    def __init__(self, sender: str, client: Any) -> None:
        self._sender = sender
        self._client = client

    def send_reminder(self, reminder: Reminder) -> None:
        message = render_reminder(reminder)
        try:
            self._client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": message.text, "Charset": "UTF-8"},
                            "Html": {"Data": message.html, "Charset": "UTF-8"},
                        },
                    }
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _RETRYABLE:
                raise RetryableError(f"SES is unavailable: {code}.") from exc
            raise
