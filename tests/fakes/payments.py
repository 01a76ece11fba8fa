"""The payment provider in service tests: the real Razorpay adapter talking to the local stand-in.

:class:`StandInProvider` is the ``PaymentProvider`` port as the services see it: every call goes
through :class:`~invoicing.adapters.razorpay.RazorpayPaymentProvider` to a fresh
:class:`~infra.local.razorpay_standin.RazorpayStandIn` (in-process, through ``responses``), and is
recorded. Two things the stand-in cannot do are done here, in the open:

- ``fail_next("publish")`` makes the next call of a method fail the way the adapter fails
  (``PaymentProviderError``) before it reaches Razorpay — the stand-in has no failure switch;
- ``refund`` is recorded here (idempotent on our refund id, as Razorpay's
  ``X-Refund-Idempotency`` is): the stand-in has no refunds API.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from infra.local.razorpay_standin import RazorpayStandIn
from invoicing.adapters.razorpay import RazorpayPaymentProvider
from invoicing.adapters.secrets import RazorpayCredentials
from invoicing.domain.errors import PaymentProviderError
from invoicing.domain.invoice import Invoice
from invoicing.domain.provider import ProviderInvoice, ProviderRefund
from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET

CREDENTIALS = RazorpayCredentials(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET)


@dataclass
class StandInProvider:
    standin: RazorpayStandIn
    adapter: RazorpayPaymentProvider = field(
        default_factory=lambda: RazorpayPaymentProvider(lambda: CREDENTIALS, timeout_seconds=2)
    )
    calls: list[str] = field(default_factory=list)
    refunds: dict[str, ProviderRefund] = field(default_factory=dict)  # by our refund id
    refund_requests: list[tuple[str, int, str]] = field(default_factory=list)
    _failures: Counter[str] = field(default_factory=Counter)

    def fail_next(self, method: str, times: int = 1) -> None:
        self._failures[method] += times

    def _call(self, method: str) -> None:
        self.calls.append(method)
        if self._failures[method]:
            self._failures[method] -= 1
            raise PaymentProviderError(f"Razorpay did not answer ({method}, injected).")

    # ------------------------------------------------------------------ port
    def create_draft(self, invoice: Invoice) -> ProviderInvoice:
        self._call("create_draft")
        return self.adapter.create_draft(invoice)

    def publish(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        self._call("publish")
        return self.adapter.publish(provider_id, invoice)

    def update(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        self._call("update")
        return self.adapter.update(provider_id, invoice)

    def cancel(self, provider_id: str) -> None:
        self._call("cancel")
        self.adapter.cancel(provider_id)

    def withdraw(self, provider_id: str) -> None:
        self._call("withdraw")
        self.adapter.withdraw(provider_id)

    def refund(
        self, payment_id: str, amount: int, *, refund_id: str, notes: dict[str, str]
    ) -> ProviderRefund:
        self._call("refund")
        self.refund_requests.append((payment_id, amount, refund_id))
        self.refunds[refund_id] = self.adapter.refund(payment_id, amount, refund_id=refund_id, notes=notes)
        return self.refunds[refund_id]

    def fetch(self, provider_id: str) -> ProviderInvoice:
        self._call("fetch")
        return self.adapter.fetch(provider_id)

    def draft_balance(self, invoice: Invoice) -> ProviderInvoice:
        self._call("draft_balance")
        return self.adapter.draft_balance(invoice)

    def issue_draft(self, provider_id: str) -> ProviderInvoice:
        self._call("issue_draft")
        return self.adapter.issue_draft(provider_id)

    # ------------------------------------------------------------------ stand-in side
    def status(self, provider_id: str) -> str:
        return str(self.standin.fetch_invoice(provider_id)["status"])

    def invoice(self, provider_id: str) -> dict[str, Any]:
        return self.standin.fetch_invoice(provider_id)
