"""``python -m infra.migrate_outbox``: old-shape outbox messages move to where the dispatcher polls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra import migrate_outbox
from invoicing.domain.outbox import OutboxMessage, RenderDocument
from invoicing.repository import records
from invoicing.repository.outbox import move_legacy_messages
from invoicing.repository.table import Table, serialize, ts
from tests.contract.conftest import Stores, dynamo_only
from tests.unit.factories import NOW

pytestmark = dynamo_only
LATER = NOW + timedelta(hours=1)


def legacy(stores: Stores, n: int, *, retry_at: str | None = None) -> OutboxMessage:
    """A message as the code before sharded outbox keys wrote it."""
    message = OutboxMessage(
        account_id="acc_1",
        created_at=NOW + timedelta(seconds=n),
        effects=(RenderDocument(document_id=f"inv_{n}"),),
    )
    item = {
        **records.legacy_outbox_key(message.id),
        "entity": "outbox",
        "message": message.model_dump_json(),
        "account_id": message.account_id,
        "attempts": 2 if retry_at else 0,
        "outbox_pk": records.outbox_partition(records.outbox_shard(message.id)),
        "outbox_sk": f"{retry_at or ts(message.created_at)}#{message.id}",
    }
    if retry_at:
        item["last_error"] = "RuntimeError: boom"
    table(stores).call("put_item", Item=serialize(item))
    return message


def table(stores: Stores) -> Table:
    return stores.outbox._table  # type: ignore[attr-defined]


def test_old_messages_move_with_their_attempts_and_backoff_and_a_second_run_moves_nothing(
    stores: Stores, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = [legacy(stores, n) for n in range(3)]
    backing_off = legacy(stores, 3, retry_at=ts(LATER))
    assert stores.outbox.due(LATER) == []  # the dispatcher no longer reads the old shape

    assert move_legacy_messages(table(stores), dry_run=True) == 4
    assert stores.outbox.due(LATER) == []  # a dry run moves nothing
    monkeypatch.setattr(migrate_outbox, "client", lambda _: table(stores).client)
    assert migrate_outbox.main(["--table", table(stores).name]) == 0
    assert capsys.readouterr().out == "4 message(s) moved\n"

    assert stores.outbox.due(LATER - timedelta(seconds=1)) == waiting
    assert [m.id for m in stores.outbox.due(LATER)] == [m.id for m in [*waiting, backing_off]]
    assert stores.outbox.get(backing_off).attempts == 2
    assert move_legacy_messages(table(stores)) == 0
    for message in waiting:
        assert table(stores).get(records.legacy_outbox_key(message.id)) is None


def test_a_message_dispatched_while_the_migration_ran_is_not_brought_back(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = legacy(stores, 0)
    real_transact = Table.transact

    def dispatched_first(self: Table, items: list) -> None:
        self.call("delete_item", Key=serialize(records.legacy_outbox_key(message.id)))  # the stream won
        real_transact(self, items)

    monkeypatch.setattr(Table, "transact", dispatched_first)
    assert move_legacy_messages(table(stores)) == 0
    monkeypatch.undo()
    assert stores.outbox.due(LATER) == []
