"""Backfilling the ledger of an account whose invoices are older than the ledger.

Run on first use (a statement job finds the account's ledger incomplete) or for one account at a
time by the one-off migration (``python -m infra.migrate_ledger``). Each attempt:

1. reads the head; a complete ledger needs nothing (so running it twice changes nothing);
2. lists the account's invoices from its index (never a Scan) and reads the entries already
   booked in the head's generation;
3. rebuilds the whole ledger from them (``domain.backfill``) as a new generation;
4. switches the head to it in one conditional write: only if the head is still the one read.

A commit that books an entry for the account meanwhile moves the head, so the switch fails and
nothing visible changed: the attempt starts over and the rebuild now includes that entry. The
entries of a generation that never became current are removed. Balances can therefore never mix
two histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from invoicing.domain.backfill import rebuild
from invoicing.domain.errors import RetryableError
from invoicing.domain.ids import new_id
from invoicing.domain.ledger import LedgerHead
from invoicing.services.ports import LedgerHistory
from invoicing.services.retry import Backoff


class BackfillOutcome(StrEnum):
    ALREADY_COMPLETE = "already_complete"
    REBUILT = "rebuilt"


@dataclass(frozen=True)
class Backfill:
    account_id: str
    outcome: BackfillOutcome
    head: LedgerHead
    entries: int  # entries in the ledger now
    attempts: int  # rebuilds tried (0: it was complete)


@dataclass
class LedgerBackfill:
    history: LedgerHistory
    backoff: Backoff

    def run(self, account_id: str) -> Backfill:
        """Make the account's ledger complete (at most ``backoff.attempts`` rebuilds)."""
        tries = 0
        for _ in self.backoff.tries():
            head = self.history.head(account_id)
            if head.complete:
                return Backfill(account_id, BackfillOutcome.ALREADY_COMPLETE, head, head.seq, tries)
            tries += 1
            entries, rebuilt = rebuild(
                account_id,
                self.history.invoices(account_id),
                self.history.booked(account_id, head.generation),
                generation=new_id("g"),
            )
            if self.history.replace(account_id, head, entries, rebuilt):
                return Backfill(account_id, BackfillOutcome.REBUILT, rebuilt, len(entries), tries)
        raise RetryableError(
            f"The ledger of {account_id} kept moving while it was rebuilt ({tries} tries); retry."
        )
