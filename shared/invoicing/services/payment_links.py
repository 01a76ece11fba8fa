"""The payment link follows the balance: after a credit note (or a payment on an older link) the
invoice's ``payment_url`` collects exactly its new ``amount_due``, or is null when nothing is due.

Razorpay cannot change what an issued invoice collects, so the link is replaced. What Razorpay
allows decides how (adapters/razorpay.py):

- an ``issued`` Razorpay invoice (nothing paid on it) can be cancelled: it is, and a new one is made
  for the balance, under our invoice number as its receipt — a receipt Razorpay lets a second
  invoice carry only once the first is cancelled;
- a ``partially_paid`` one cannot be cancelled: it stays payable (its pointer keeps leading its
  payments to our invoice, and money beyond what is due is refunded automatically by the
  overpayment rule), and the new one carries a suffixed receipt (``INV/2627/000042-2``);
- a ``paid``, ``cancelled`` or ``expired`` one collects nothing more and is left as it is.

The replacement is made in two steps so that no payable Razorpay invoice is ever unknown to us: a
*draft* (never payable) is created and recorded on our invoice (``razorpay_invoice_id``, with a
``LinkProvider`` pointer) in a conditional commit, and only then issued and its ``payment_url``
recorded. Every step reads what Razorpay and our table hold first, so a retry after any failure, or
a second relink racing this one, converges: a recorded draft is issued, a link that already
collects the balance is kept, a stale one is replaced. A commit that loses a race reads again.

The dispatcher calls this for a ``Relink`` effect, after the commit that changed the balance.
"""

from __future__ import annotations

from dataclasses import dataclass

from invoicing.domain.changes import Change, LinkProvider, SaveInvoice
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.errors import ConflictError
from invoicing.domain.invoice import PAYABLE_STATUSES, Invoice, InvoiceStatus
from invoicing.observability import logger
from invoicing.services.ports import Clock, InvoiceStore, PaymentProvider, Transactions
from invoicing.services.retry import Backoff

# Razorpay's statuses (the provider's own words).
DRAFT, ISSUED, PARTIALLY_PAID = "draft", "issued", "partially_paid"
COLLECTING = frozenset({ISSUED, PARTIALLY_PAID})
MIN_LINK_PAISE = 100  # Razorpay collects at least ₹1.00


def balance_to_collect(invoice: Invoice) -> int:
    """What the payment link must collect: the balance of a payable invoice, else nothing."""
    return invoice.amount_due if invoice.status in PAYABLE_STATUSES else 0


@dataclass
class PaymentLinkService:
    invoices: InvoiceStore
    transactions: Transactions
    payments: PaymentProvider
    clock: Clock
    backoff: Backoff

    def relink(self, invoice_id: str) -> Invoice:
        """Converge the invoice's link on its balance (idempotent). Raises ``NotFoundError`` for an
        unknown invoice, ``PaymentProviderError`` when Razorpay fails (the outbox retries)."""
        for attempt in self.backoff.tries():
            invoice = self.invoices.get(invoice_id)
            try:
                return self._converge(invoice)
            except ConflictError:
                logger.info(
                    "Invoice changed while relinking; reading it again",
                    extra={"invoice_id": invoice_id, "attempt": attempt},
                )
        raise ConflictError(f"Invoice {invoice_id} kept changing while its payment link was replaced.")

    def _converge(self, invoice: Invoice) -> Invoice:
        if invoice.status is InvoiceStatus.DRAFT:
            return invoice  # issuing makes its link
        due = balance_to_collect(invoice)
        current = self.payments.fetch(invoice.razorpay_invoice_id) if invoice.razorpay_invoice_id else None
        if current is not None:
            collects = current.amount_due if current.amount_due is not None else current.amount
            if current.status == DRAFT and due >= MIN_LINK_PAISE and current.amount == due:
                issued = self.payments.issue_draft(current.provider_id)  # recorded, not issued yet
                return self._record(invoice, issued.provider_id, issued.payment_url)
            if current.status in COLLECTING and due >= MIN_LINK_PAISE and collects == due:
                return self._record(invoice, current.provider_id, current.payment_url)
            if current.status == ISSUED:
                self.payments.cancel(current.provider_id)
        if due < MIN_LINK_PAISE:
            if due:
                logger.warning(
                    "Balance below Razorpay's minimum: no payment link",
                    extra={"invoice_id": invoice.id, "amount_due": due},
                )
            return self._record(invoice, invoice.razorpay_invoice_id, None)
        draft = self.payments.draft_balance(invoice)
        invoice = self._record(invoice, draft.provider_id, None, point=True)
        issued = self.payments.issue_draft(draft.provider_id)
        relinked = self._record(invoice, issued.provider_id, issued.payment_url)
        logger.info(
            "Payment link replaced",
            extra={"invoice_id": invoice.id, "razorpay_invoice_id": issued.provider_id, "amount_due": due},
        )
        return relinked

    def _record(
        self, invoice: Invoice, provider_id: str | None, payment_url: str | None, *, point: bool = False
    ) -> Invoice:
        """Store the link on the invoice (conditional on its version); unchanged: nothing written."""
        if (provider_id, payment_url) == (invoice.razorpay_invoice_id, invoice.payment_url):
            return invoice
        now = self.clock()
        after = invoice.relink(provider_id, payment_url, now)
        changes: list[Change] = [SaveInvoice(invoice, after)]
        if point and provider_id is not None:
            changes.append(LinkProvider(provider_id, invoice.id, invoice.account_id))
        changes += emit(after.account_id, invoice_effects(invoice, after), now)
        self.transactions.commit(changes)
        return after
