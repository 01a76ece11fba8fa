"""One-off: move outbox messages written in the old shape to where the dispatcher polls now.

    python -m infra.migrate_outbox [--dry-run] [--table NAME]        # table: $INVOICES_TABLE

Outbox messages used to be ``OUTBOX#{id}`` / ``OUTBOX`` items listed by the sparse ``OutboxIndex``;
they are now keyed by shard and time in the table itself (``records.outbox_key``), so adding and
deleting one writes no index entry. Run this once per stage after deploying the new code: it moves
whatever the old code left waiting (failed effects backing off, or messages the stream had not
delivered yet), through ``repository.outbox.move_legacy_messages`` — one transaction each, safe to
run twice and alongside the dispatcher. When ``--dry-run`` reports 0 on every stage, the
``OutboxIndex`` can be removed from template.yaml.

AWS credentials, region (and ``AWS_ENDPOINT_URL`` for the local stack) come from the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from invoicing.adapters.aws import client
from invoicing.repository.outbox import move_legacy_messages
from invoicing.repository.table import Table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.migrate_outbox", description="Move old-shape outbox messages."
    )
    parser.add_argument("--table", default=os.environ.get("INVOICES_TABLE"))
    parser.add_argument("--dry-run", action="store_true", help="count old-shape messages, move nothing")
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("name the table: --table or INVOICES_TABLE")
    count = move_legacy_messages(Table(args.table, client("dynamodb")), dry_run=args.dry_run)
    print(f"{count} message(s) {'waiting in the old shape' if args.dry_run else 'moved'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
