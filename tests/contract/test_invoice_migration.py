"""``python -m infra.migrate_invoices``: invoice items of the old shape are packed, once."""

from __future__ import annotations

from typing import Any

import pytest

from infra import migrate_invoices
from invoicing.repository import records
from invoicing.repository.invoices import repack_old_invoices
from invoicing.repository.table import Table, serialize
from tests.contract.builders import create, issue, old_shape, pay
from tests.contract.conftest import Stores, counted, dynamo_only

pytestmark = dynamo_only


def table(stores: Stores) -> Table:
    return stores.invoices._table  # type: ignore[attr-defined]


def test_old_items_are_packed_as_they_were_and_a_second_run_packs_nothing(
    stores: Stores, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    invoices = [issue(stores), create(stores)]
    invoices[0] = pay(stores, invoices[0], 1_000, "pay_1")
    packed = issue(stores)
    other = issue(stores, account_id="acc_2")
    for invoice in (*invoices, other):
        table(stores).call("put_item", Item=serialize(old_shape(invoice)))

    assert repack_old_invoices(table(stores), "acc_1", dry_run=True) == 2
    monkeypatch.setattr(migrate_invoices, "client", lambda _: table(stores).client)
    with counted(stores) as calls:
        assert migrate_invoices.main(["--table", table(stores).name, "--account", "acc_1"]) == 0
    assert capsys.readouterr().out == "acc_1\t2 repacked\n"
    assert calls == ["Query", "BatchGetItem", "PutItem", "PutItem"]  # the packed one is not read

    for invoice in (*invoices, packed):
        item: dict[str, Any] = table(stores).get(records.invoice_key(invoice.id)) or {}
        assert "doc" in item and "line_items" not in item
        assert stores.invoices.get(invoice.id) == invoice
    assert "doc" not in (table(stores).get(records.invoice_key(other.id)) or {})  # another account
    assert repack_old_invoices(table(stores), "acc_1") == 0


def test_an_invoice_changed_while_the_migration_read_it_is_left_as_the_change_wrote_it(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = issue(stores)
    table(stores).call("put_item", Item=serialize(old_shape(invoice)))
    real_items = type(stores.invoices).items
    paid: dict[str, Any] = {}

    def changed_meanwhile(self: Any, ids: Any, **options: Any) -> Any:
        found = real_items(self, ids, **options)
        paid["invoice"] = pay(stores, invoice, 1_000, "pay_meanwhile")
        return found

    monkeypatch.setattr(type(stores.invoices), "items", changed_meanwhile)
    assert repack_old_invoices(table(stores), "acc_1") == 0
    monkeypatch.undo()
    assert stores.invoices.get(invoice.id) == paid["invoice"]
