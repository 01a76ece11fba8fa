"""The ledger's history for backfills in service and contract tests, over one :class:`InMemoryStore`.

``LedgerHistory.replace`` holds the same condition as DynamoDB's (the head still at the ``seq`` and
``generation`` read); ``before_replace`` lets a test run a concurrent commit just before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from invoicing.domain.invoice import Invoice, InvoiceStatus
from invoicing.domain.ledger import LedgerEntry, LedgerHead
from tests.fakes.store import InMemoryStore, Ledger


@dataclass
class LedgerHistory:
    """``LedgerHistory`` over an :class:`InMemoryStore` (one list of entries per account)."""

    store: InMemoryStore
    before_replace: Callable[[], None] | None = None
    replaced: int = 0  # successful switches
    refused: int = 0  # switches refused because the head moved

    def head(self, account_id: str) -> LedgerHead:
        return Ledger(self.store).head(account_id)

    def invoices(self, account_id: str) -> Iterator[Invoice]:
        for invoice in list(self.store.invoices.values()):
            if invoice.account_id == account_id and invoice.status is not InvoiceStatus.DRAFT:
                yield invoice

    def booked(self, account_id: str, generation: str) -> Iterator[LedgerEntry]:
        if self.head(account_id).generation == generation:
            yield from list(self.store.ledger_entries.get(account_id, []))

    def replace(
        self, account_id: str, expected: LedgerHead, entries: Sequence[LedgerEntry], head: LedgerHead
    ) -> bool:
        if self.before_replace is not None:
            hook, self.before_replace = self.before_replace, None
            hook()
        current = self.head(account_id)
        if (current.seq, current.generation) != (expected.seq, expected.generation):
            self.refused += 1
            return False
        self.store.ledger_entries[account_id] = list(entries)
        self.store.ledger_heads[account_id] = head
        self.replaced += 1
        return True


def forget_ledger(store: InMemoryStore, account_id: str) -> None:
    """The account as it was before the ledger existed: invoices, but no head and no entries."""
    store.ledger_heads.pop(account_id, None)
    store.ledger_entries.pop(account_id, None)
