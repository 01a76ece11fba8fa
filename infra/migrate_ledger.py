"""One-off: backfill the ledger of accounts whose invoices are older than it (README, "Ledger backfill").

    python -m infra.migrate_ledger --account acc_1 [--account acc_2 ...]
    python -m infra.migrate_ledger --accounts-file accounts.txt      # one account id a line
    python -m infra.migrate_ledger --all-from-index [--since-fy 2017] [--prefix INV]
    ... [--dry-run] [--table NAME]                                    # table: $INVOICES_TABLE

Each account goes through ``services.ledger_backfill`` — the same code a statement runs on first
use: a complete ledger is left alone (so running this twice changes nothing), an incomplete one is
rebuilt from the account's invoices (listed through AccountIndex) and switched to in one conditional
write; a commit racing it makes it start over. ``--all-from-index`` finds the accounts without a
Scan: every issued invoice number has a marker item naming its account, so one Query per page of
each financial year's series (``{prefix}/{fy}``, from ``--since-fy`` to this year) lists every
account that was ever invoiced. ``--dry-run`` only reports which ledgers are incomplete.

AWS credentials, region (and ``AWS_ENDPOINT_URL`` for the local stack) come from the environment.
Exit status 1 if any account failed (the others are done; run it again for the rest).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime

from invoicing.adapters.aws import client
from invoicing.domain.numbering import IST, financial_year
from invoicing.repository.ledger_rebuild import DynamoLedgerHistory, invoiced_accounts
from invoicing.repository.table import Table
from invoicing.services.ledger_backfill import LedgerBackfill
from invoicing.services.retry import Backoff


def fiscal_series(prefix: str, since_year: int, today: date) -> list[str]:
    """``INV/1718`` … the current financial year's series."""
    last = int(financial_year(today)[:2]) + 2000
    return [f"{prefix}/{financial_year(date(year, 4, 1))}" for year in range(since_year, last + 1)]


def accounts(args: argparse.Namespace, table: Table) -> Iterator[str]:
    yield from args.account or []
    if args.accounts_file:
        with open(args.accounts_file, encoding="utf-8") as lines:
            yield from (line.strip() for line in lines if line.strip() and not line.startswith("#"))
    if args.all_from_index:
        today = datetime.now(UTC).astimezone(IST).date()
        yield from invoiced_accounts(table, fiscal_series(args.prefix, args.since_fy, today))


def account_arguments(
    module: str, description: str, dry_run: str, argv: Sequence[str] | None
) -> argparse.Namespace:
    """The options every per-account one-off takes (which accounts, which table, a dry run), parsed."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--dry-run", action="store_true", help=dry_run)
    parser.add_argument("--account", action="append", help="an account id (repeatable)")
    parser.add_argument("--accounts-file", help="a file of account ids, one a line")
    parser.add_argument(
        "--all-from-index", action="store_true", help="every account holding an invoice number (no Scan)"
    )
    parser.add_argument("--since-fy", type=int, default=2017, help="first financial year's start (2017: GST)")
    parser.add_argument("--prefix", default=os.environ.get("INVOICE_NUMBER_PREFIX", "INV"))
    parser.add_argument("--table", default=os.environ.get("INVOICES_TABLE"))
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("name the table: --table or INVOICES_TABLE")
    if not (args.account or args.accounts_file or args.all_from_index):
        parser.error("name accounts: --account, --accounts-file or --all-from-index")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = account_arguments(
        "infra.migrate_ledger",
        "Backfill the ledger of accounts older than it.",
        "report incomplete ledgers, change nothing",
        argv,
    )

    table = Table(args.table, client("dynamodb"))
    history = DynamoLedgerHistory(table)
    backfill = LedgerBackfill(history=history, backoff=Backoff(attempts=8, cap_seconds=2.0))

    def one(account: str) -> str:
        if args.dry_run:
            head = history.head(account)
            return f"{'complete' if head.complete else 'incomplete'}\t{head.seq} entries"
        result = backfill.run(account)
        return f"{result.outcome.value}\t{result.entries} entries\t{result.attempts} rebuild(s)"

    return each_account(args, table, one)


def each_account(args: argparse.Namespace, table: Table, work: Callable[[str], str]) -> int:
    """``work`` on each account named, once, printing ``account<TAB>what it said``; one that fails
    is reported on stderr and the others go on. The exit status: 1 if any failed."""
    failed = done = 0
    for account in dict.fromkeys(accounts(args, table)):
        try:
            line = work(account)
        except Exception as exc:  # report and go on with the next account
            failed += 1
            print(f"{account}\tfailed\t{type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        done += 1
        print(f"{account}\t{line}")
    print(f"{done} account(s) done, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
