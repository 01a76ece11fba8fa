"""One-off: rewrite invoice items of the shape before the packed document (``doc``).

    python -m infra.migrate_invoices --account acc_1 [--account acc_2 ...]
    python -m infra.migrate_invoices --accounts-file accounts.txt    # one account id a line
    python -m infra.migrate_invoices --all-from-index [--since-fy 2017] [--prefix INV]
    ... [--dry-run] [--table NAME]                                    # table: $INVOICES_TABLE

Invoices used to be stored with every field a plain attribute; they are now a few plain attributes
and the rest packed (``repository.packing``). Both shapes read the same, and any change to an
invoice writes the new shape, so nothing needs this to be correct; but an invoice of the old
shape that never changes again has no row in AccountIndex, and each list page holding such
invoices reads them whole (one ``BatchGetItem``). Run this once per stage after its move to
AccountIndex (docs/deploy.md): it rewrites them through ``repository.invoices.repack_old_invoices``,
each on condition that it did not change meanwhile, so it is safe to run twice and alongside the
functions. ``--all-from-index`` finds the accounts without a Scan, from the invoice numbers'
marker items (as ``infra.migrate_ledger`` does); an account that only ever had drafts is not
found that way — name it with ``--account``.

AWS credentials, region (and ``AWS_ENDPOINT_URL`` for the local stack) come from the environment.
Exit status 1 if any account failed (the others are done; run it again for the rest).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from infra.migrate_ledger import account_arguments, each_account
from invoicing.adapters.aws import client
from invoicing.repository.invoices import repack_old_invoices
from invoicing.repository.table import Table


def main(argv: Sequence[str] | None = None) -> int:
    args = account_arguments(
        "infra.migrate_invoices",
        "Pack invoice items of the old shape.",
        "count old-shape invoices, change nothing",
        argv,
    )
    table = Table(args.table, client("dynamodb"))

    def one(account: str) -> str:
        count = repack_old_invoices(table, account, dry_run=args.dry_run)
        return f"{count} {'of the old shape' if args.dry_run else 'repacked'}"

    return each_account(args, table, one)


if __name__ == "__main__":
    sys.exit(main())
