"""Notices as the webhook adapter hands them to PaymentService, for cases the stand-in cannot make
(an older link's payment, another currency, money for a closed invoice)."""

from __future__ import annotations

from datetime import timedelta

from invoicing.domain.notices import NoticeKind, PaymentNotice
from tests.unit.factories import NOW, payment

LATER = NOW + timedelta(hours=1)


def paid_notice(
    invoice, amount: int, payment_id: str = "pay_Late0001", event_id: str = "evt_late", **extra
) -> PaymentNotice:
    """What ``invoice.partially_paid``/``invoice.paid`` says: our ids echoed in the invoice's notes."""
    return PaymentNotice(
        event_id=event_id,
        event_type="invoice.paid",
        kind=NoticeKind.PAYMENT,
        occurred_at=LATER,
        invoice_id=invoice.id,
        account_id=invoice.account_id,
        ours=True,
        provider_invoice_id=invoice.razorpay_invoice_id,
        payment=payment(amount, payment_id, paid_at=LATER, **extra),
    )
