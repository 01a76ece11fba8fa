"""What services need from the outside world, as protocols. Adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from invoicing.domain.invoice import Invoice


@dataclass(frozen=True)
class ProviderInvoice:
    """The payment provider's view of our invoice."""

    provider_id: str
    status: str  # the provider's own status: draft, issued, partially_paid, paid, cancelled, expired
    payment_url: str | None
    amount: int
    receipt: str | None


class PaymentProvider(Protocol):
    """Razorpay, seen from the services. Every method is safe to call again after a failure."""

    def create_draft(self, invoice: Invoice) -> ProviderInvoice:
        """A provider invoice in draft (not payable) for ``invoice``."""

    def publish(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        """Make the provider invoice match ``invoice`` (receipt = its number) and issue it."""

    def update(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        """Carry edits allowed after issue (partial_payment, expire_by) to the issued provider invoice."""

    def cancel(self, provider_id: str) -> None:
        """Cancel it at the provider; already cancelled is fine."""

    def withdraw(self, provider_id: str) -> None:
        """Make sure it can never collect: delete a draft, cancel an issued one (gone is fine).

        Refuses (``PaymentProviderError``) when the provider already took money for it."""


class EventPublisher(Protocol):
    def publish(self, detail_type: str, invoice: Invoice) -> None:
        """Publish a domain event about ``invoice`` (at-least-once)."""


class RenderQueue(Protocol):
    def enqueue(self, invoice: Invoice) -> None:
        """Ask for the invoice's PDF at its current version to be rendered."""
