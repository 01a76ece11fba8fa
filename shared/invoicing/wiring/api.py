"""The invoice API's object graph: the service with its real adapters, built once per warm Lambda."""

from __future__ import annotations

from functools import cache

from invoicing.adapters import secrets
from invoicing.adapters.razorpay import RazorpayPaymentProvider
from invoicing.config import invoice_settings
from invoicing.services.invoices import InvoiceService
from invoicing.wiring import common


@cache
def invoice_service() -> InvoiceService:
    settings = invoice_settings()
    return InvoiceService(
        repository=common.repository(),
        policy=common.policy(settings),
        payments=RazorpayPaymentProvider(
            lambda: secrets.razorpay_credentials(settings.razorpay_secret_name),
            base_url=settings.razorpay_base_url,
            timeout_seconds=settings.razorpay_timeout_seconds,
        ),
        events=common.events(),
        renders=common.renders(),
    )


def reset() -> None:
    """Forget the service and everything it was built from (tests that change the environment)."""
    invoice_service.cache_clear()
    common.reset()
