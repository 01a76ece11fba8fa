"""``python -m infra.migrate_ledger``: the one-off backfill, under moto."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from infra.migrate_ledger import fiscal_series, main
from invoicing.repository.ledger import DynamoLedger, ledger_partition
from invoicing.repository.table import serialize
from tests.integration.statements.conftest import Stack
from tests.integration.statements.test_statements_api import history
from tests.support.ledger import forget_head


def forget(stack: Stack, account_id: str) -> None:
    """As if the account's invoices were older than the ledger."""
    table = stack.table
    items = table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues=serialize({":pk": ledger_partition(account_id)}),
    )["Items"]
    for item in items:
        table.call("delete_item", Key={"pk": item["pk"], "sk": item["sk"]})
    forget_head(table, account_id)


def test_the_series_of_every_financial_year_since_gst() -> None:
    assert fiscal_series("INV", 2017, date(2026, 12, 1)) == [
        f"INV/{y % 100:02d}{(y + 1) % 100:02d}" for y in range(2017, 2027)
    ]
    assert fiscal_series("INV", 2025, date(2026, 3, 31)) == ["INV/2526"]


def test_all_accounts_from_the_index_are_backfilled_once_and_a_second_run_changes_nothing(
    stack: Stack, capsys: pytest.CaptureFixture[str], aws_calls: Any
) -> None:
    history(stack)  # acc_1: four events, acc_2: one
    for account in ("acc_1", "acc_2"):
        forget(stack, account)

    assert main(["--all-from-index", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "acc_1\tincomplete\t0 entries",
        "acc_2\tincomplete\t0 entries",
    ]

    aws_calls.clear()
    assert main(["--all-from-index"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "acc_1\trebuilt\t4 entries\t1 rebuild(s)",
        "acc_2\trebuilt\t1 entries\t1 rebuild(s)",
    ]
    assert aws_calls.count("Scan") == 0
    ledger = DynamoLedger(stack.table)
    head = ledger.head("acc_1")
    assert (head.complete, head.seq, head.balance) == (True, 4, 106_200)
    assert ledger.balance_before("acc_1", date(2026, 10, 3), generation=head.generation) == 56_200

    assert main(["--account", "acc_1", "--account", "acc_2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "acc_1\talready_complete\t4 entries\t0 rebuild(s)",
        "acc_2\talready_complete\t1 entries\t0 rebuild(s)",
    ]
    assert ledger.head("acc_1") == head


def test_accounts_from_a_file_and_a_refusal_without_any(
    stack: Stack, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    history(stack)
    forget(stack, "acc_2")
    listed = tmp_path / "accounts.txt"
    listed.write_text("# accounts to backfill\nacc_2\n\nacc_2\n")

    assert main(["--accounts-file", str(listed)]) == 0
    assert capsys.readouterr().out.splitlines() == ["acc_2\trebuilt\t1 entries\t1 rebuild(s)"]
    with pytest.raises(SystemExit):
        main([])
