"""What one commit changes, as plain values: the repository writes them in ONE transaction.

Every change is a frozen dataclass deriving from :class:`Change`. The invoice-level changes are
here; a feature with its own documents defines its changes next to its entity (a credit note's
in ``domain.credit_notes``, say), and ``repository.commit`` / the in-memory fake learn to write them
by registration — nothing here needs to know them.

A use case builds the list (the invoice before and after, the number it takes, the idempotency key
it keeps, the outbox message of its side effects, ...) and hands it to ``Transactions.commit``.
Either every change is written or none is. Derived bookkeeping follows the changes inside the same
transaction without the use case asking for it: an invoice's account summary (``summary.delta``).

Each change carries the condition it is written under:

- ``SaveInvoice``: the stored invoice is still ``before`` (status and version), or absent when
  ``before`` is ``None`` — else ``ConflictError`` (read again and retry);
- ``TakeNumber``: the series' counter is still at ``sequence - 1`` and the number unused — else
  ``SequenceTakenError`` (read the counter again, take the next);
- ``LinkProvider``: the provider object points nowhere yet, or already at this document;
- ``KeepIdempotency``: the key is unused (or expired) — else ``IdempotentReplay`` with the first
  result's id when the request is the same, ``ConflictError`` when it is another request;
- ``KeepReview``, ``Emit``: always written (a review item keyed by its event; a new outbox message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from invoicing.domain.errors import InvoicingError
from invoicing.domain.invoice import Invoice
from invoicing.domain.outbox import OutboxMessage
from invoicing.domain.queries import IdempotencyClaim
from invoicing.domain.reviews import ReviewItem


@dataclass(frozen=True)
class Change:
    """Base of every change a commit can carry."""


@dataclass(frozen=True)
class SaveInvoice(Change):
    before: Invoice | None
    after: Invoice

    def __post_init__(self) -> None:
        if self.before is None:
            if self.after.version != 1:
                raise ValueError("a new invoice starts at version 1")
        elif self.after.id != self.before.id or self.after.version != self.before.version + 1:
            raise ValueError("after must be the next version of before")


@dataclass(frozen=True)
class TakeNumber(Change):
    """Advance a gap-free series (``INV/2627``, ``CN/2627``, ``RV/2627``) to ``sequence``."""

    series: str
    sequence: int
    number: str
    document_id: str
    account_id: str


ProviderKind = Literal["razorpay_invoice", "razorpay_payment_link"]


@dataclass(frozen=True)
class LinkProvider(Change):
    """A pointer from a provider object to ours, so a webhook naming only the provider's id finds it."""

    provider_id: str
    document_id: str
    account_id: str
    kind: ProviderKind = "razorpay_invoice"


@dataclass(frozen=True)
class KeepIdempotency(Change):
    """Remember that ``claim`` produced ``result_id`` (for 24 h), within ``scope`` and account."""

    scope: str
    account_id: str
    claim: IdempotencyClaim
    result_id: str


@dataclass(frozen=True)
class KeepReview(Change):
    """A review item for a person (written as is: the same event writes the same item)."""

    item: ReviewItem


@dataclass(frozen=True)
class Emit(Change):
    """The side effects of this commit, dispatched after it (``domain.outbox``)."""

    message: OutboxMessage


class IdempotentReplay(InvoicingError):
    """The same request was already handled under this ``Idempotency-Key``; its result is ``result_id``."""

    def __init__(self, result_id: str) -> None:
        super().__init__(f"Replay of the request that produced {result_id}.")
        self.result_id = result_id
