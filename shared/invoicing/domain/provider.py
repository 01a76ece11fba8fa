"""The payment provider's view of the objects we create there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderInvoice:
    """The payment provider's view of our invoice."""

    provider_id: str
    status: str  # the provider's own status: draft, issued, partially_paid, paid, cancelled, expired
    payment_url: str | None
    amount: int
    receipt: str | None
    amount_due: int | None = None  # what it still collects (None: the provider did not say)


@dataclass(frozen=True)
class ProviderRefund:
    """A refund the provider accepted (usually still pending there)."""

    provider_refund_id: str
    payment_id: str
    amount: int
    status: str  # pending | processed | failed


@dataclass(frozen=True)
class ProviderLink:
    """The payment provider's payment link that collects a wallet top-up."""

    provider_id: str
    status: str  # the provider's own: created, partially_paid, paid, expired, cancelled
    payment_url: str | None
    amount: int
    reference_id: str | None
