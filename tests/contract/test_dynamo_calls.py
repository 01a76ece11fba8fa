"""Reads grow with the work, never with the table: each DynamoDB store operation makes the calls
its docstring promises, proved on a table holding other accounts' and other days' invoices."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from invoicing.domain.changes import (
    Emit,
    IdempotentReplay,
    KeepIdempotency,
    KeepReview,
    LinkProvider,
    SaveInvoice,
)
from invoicing.domain.documents import DownloadStatus
from invoicing.domain.invoice import InvoiceStatus
from invoicing.domain.outbox import OutboxMessage, RenderDocument
from invoicing.domain.queries import IdempotencyClaim, InvoiceRow, ListQuery
from invoicing.domain.sweep import SWEEP_SHARDS
from invoicing.repository import records
from invoicing.repository.records import OUTBOX_SHARDS, sweep_shard
from invoicing.repository.table import serialize
from tests.contract.builders import create, issue, old_shape, pay
from tests.contract.conftest import counted, dynamo_only
from tests.contract.test_commit import review
from tests.contract.test_reads import download
from tests.unit.factories import NOW, dispute, payment

pytestmark = dynamo_only
LATER = NOW + timedelta(hours=1)


@pytest.fixture
def busy(stores):
    """A table with several accounts' invoices in several states, so a scan would show."""
    for account in ("acc_1", "acc_2"):
        for n in range(3):
            invoice = issue(stores, account_id=account)
            if n % 2:
                pay(stores, invoice, invoice.amount, f"pay_{account}_{n}")
        create(stores, account_id=account)
    return stores


def test_get_is_one_get_item(busy):
    invoice = issue(busy)
    with counted(busy) as calls:
        busy.invoices.get(invoice.id)
    assert calls == ["GetItem"]


def test_summary_is_one_get_item_however_many_invoices(busy):
    with counted(busy) as calls:
        busy.invoices.summary("acc_1")
    assert calls == ["GetItem"]


def test_next_sequence_is_one_get_item(busy):
    with counted(busy) as calls:
        busy.invoices.next_sequence("INV/2627")
    assert calls == ["GetItem"]


def test_finding_by_the_provider_invoice_is_the_pointer_then_the_invoice(busy):
    invoice = create(busy)
    busy.transactions.commit([LinkProvider("inv_RzpX", invoice.id, "acc_1")])
    with counted(busy) as calls:
        busy.invoices.find_by_provider_invoice("inv_RzpX")
    assert calls == ["GetItem", "GetItem"]


@pytest.mark.parametrize(
    "filters",
    [{}, {"q": "week"}, {"statuses": "paid"}, {"date_from": date(2026, 10, 1)}, {"include_drafts": True}],
    ids=["plain", "search", "status", "dated", "drafts"],
)
def test_a_list_page_is_one_query(busy, filters):
    if "statuses" in filters:
        filters = {"statuses": frozenset({InvoiceStatus.PAID})}
    query = ListQuery(account_id="acc_1", limit=1, **filters)
    with counted(busy) as calls:
        page = busy.invoices.list_page(query)
    assert calls == ["Query"]
    if page.next_cursor:
        with counted(busy) as calls:
            busy.invoices.list_page(
                ListQuery(account_id="acc_1", limit=1, cursor=page.next_cursor, **filters)
            )
        assert calls == ["Query"]


def test_a_list_page_holds_rows_and_reads_whole_only_items_of_the_old_shape(stores):
    # Given two invoices: one written now, one as an item written before documents were packed
    fresh, legacy = issue(stores), issue(stores)
    stores.invoices._table.call("put_item", Item=serialize(old_shape(legacy)))
    assert stores.invoices.get(legacy.id) == legacy  # the old shape still reads

    # When a page is read
    with counted(stores) as calls:
        page = stores.invoices.list_page(ListQuery(account_id="acc_1"))

    # Then both rows are right; only the old item cost a read of its whole invoice
    assert {row.id: row for row in page.items} == {i.id: InvoiceRow.of(i) for i in (fresh, legacy)}
    assert calls == ["Query", "BatchGetItem"]
    with counted(stores) as calls:
        stores.transactions.commit([SaveInvoice(legacy, legacy.revise({"notes": "rewritten"}, NOW))])
        stores.invoices.list_page(ListQuery(account_id="acc_1"))
    assert calls[-1:] == ["Query"] and "BatchGetItem" not in calls  # rewritten: packed, row and all
    raw = stores.invoices._table.query(
        IndexName="AccountIndex",
        KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues=serialize({":pk": "ACCOUNT#acc_1"}),
    )["Items"]
    assert raw and all("doc" in entry and "line_items" not in entry for entry in raw)


def test_an_invoice_item_is_its_index_keys_what_conditions_read_and_the_packed_document(stores):
    invoice = issue(stores)
    item = stores.invoices._table.get(records.invoice_key(invoice.id))
    assert set(item) == {
        *("pk", "sk", "entity", "id", "account_id", "status", "version", "doc"),
        *("gsi1pk", "gsi1sk", "search_text", "sweep_pk", "sweep_sk"),
    }
    assert records.item_to_invoice(item) == invoice


def test_owners_of_up_to_100_invoices_is_one_batch_get(busy):
    ids = [f"inv_{n}" for n in range(100)]
    with counted(busy) as calls:
        busy.invoices.owners(ids)
    assert calls == ["BatchGetItem"]
    with counted(busy) as calls:
        busy.invoices.owners([*ids, "inv_100"])
    assert calls == ["BatchGetItem", "BatchGetItem"]


def test_a_sweep_page_is_one_query_of_one_shard(busy):
    expected = []
    with counted(busy) as calls:
        for shard in range(SWEEP_SHARDS):
            page = busy.invoices.due_for_sweep(shard, date(2026, 10, 17))
            expected += ["Query", *(["BatchGetItem"] if page.items else [])]  # a few due: one batch
    assert calls == expected and calls.count("Query") == SWEEP_SHARDS


def test_the_sweep_reads_only_what_is_due(busy):
    # Given many invoices not yet due and one that is, in one shard
    due = issue(busy, now=NOW - timedelta(days=30), today=date(2026, 9, 1))
    shard = sweep_shard(due.id)
    with counted(busy) as calls:
        page = busy.invoices.due_for_sweep(shard, date(2026, 9, 17))
    assert calls == ["Query", "BatchGetItem"]  # the keys-only index, then the one invoice it names
    assert [i.id for i in page.items] == [due.id]


def test_the_sweep_s_reads_grow_with_the_invoices_due_one_batch_get_per_hundred(stores):
    # Given 230 issued invoices in one shard (stored items: an arrangement, not a use case), one
    # invoice under ids drawn until 230 fall in the shard (~1 in SWEEP_SHARDS does)
    from invoicing.domain.ids import new_id
    from tests.unit.factories import issued

    shard, due, template = 3, [], issued()
    while len(due) < 230:
        invoice_id = new_id("inv")
        if sweep_shard(invoice_id) == shard:
            invoice = template.model_copy(update={"id": invoice_id})
            stores.invoices._table.call("put_item", Item=serialize(records.invoice_to_item(invoice)))
            due.append(invoice)
    through = date(2030, 1, 1)

    # When the shard is read in one page of 500
    with counted(stores) as calls:
        page = stores.invoices.due_for_sweep(shard, through)

    # Then one Query of the keys and one BatchGetItem per 100 invoices, in the index's order
    assert calls == ["Query", "BatchGetItem", "BatchGetItem", "BatchGetItem"]
    assert sorted(i.id for i in page.items) == sorted(i.id for i in due)
    assert [i.id for i in page.items] == [
        i.id for i in sorted(page.items, key=lambda i: (str(i.next_sweep_on), i.id))
    ]
    # and a page of 100 is one Query and one BatchGetItem
    with counted(stores) as calls:
        page = stores.invoices.due_for_sweep(shard, through, limit=100)
    assert calls == ["Query", "BatchGetItem"] and len(page.items) == 100


def test_a_one_change_commit_is_one_single_write(busy):
    invoice = issue(busy)
    with counted(busy) as calls:
        busy.transactions.commit([SaveInvoice(invoice, invoice.revise({"partial_payment": True}, LATER))])
    assert calls == ["PutItem"]  # no summary change: one item, no transaction
    with counted(busy) as calls:
        busy.transactions.commit([KeepReview(review())])
    assert calls == ["PutItem"]


def test_a_commit_of_several_items_is_one_transaction(busy):
    invoice = issue(busy)
    disputed = invoice.open_dispute(dispute(invoice_id=invoice.id), LATER)
    message = OutboxMessage(
        account_id="acc_1", created_at=NOW, effects=(RenderDocument(document_id=invoice.id),)
    )
    with counted(busy) as calls:
        busy.transactions.commit([SaveInvoice(invoice, disputed), Emit(message)])
    assert calls == ["TransactWriteItems"]


def test_a_money_commit_reads_the_ledger_head_once_then_is_one_transaction(busy):
    invoice = issue(busy)
    paid = invoice.apply_payment(payment(invoice.amount), LATER)
    message = OutboxMessage(
        account_id="acc_1", created_at=NOW, effects=(RenderDocument(document_id=paid.id),)
    )
    with counted(busy) as calls:
        busy.transactions.commit([SaveInvoice(invoice, paid), Emit(message)])
    assert calls == ["GetItem", "TransactWriteItems"]  # the account's ledger head, then the commit


def test_a_replayed_idempotency_key_reads_the_first_result_once(busy):
    keep = KeepIdempotency("invoices", "acc_1", IdempotencyClaim.of("k", b"{}"), "inv_1")
    invoice = create(busy)
    busy.transactions.commit([keep])
    with counted(busy) as calls, pytest.raises(IdempotentReplay):
        busy.transactions.commit([SaveInvoice(invoice, invoice.revise({"notes": "x"}, LATER)), keep])
    assert calls == ["TransactWriteItems", "GetItem"]


def test_documents_downloads_reviews_and_outbox_are_one_call_each(busy):
    invoice = issue(busy)
    with counted(busy) as calls:
        busy.documents.get(invoice.id)
        busy.documents.mark_rendered(invoice.id, invoice.version)
        busy.documents.mark_failed(invoice.id, invoice.version + 1, "boom")
        busy.documents.request_render(invoice.id, invoice.version, NOW, again_after=timedelta(minutes=5))
        busy.downloads.create(download())
        busy.downloads.get("dl_1")
        busy.downloads.finish("dl_1", DownloadStatus.READY)
        busy.reviews.add(review("evt_9"))
    assert calls == [
        *["Query", "UpdateItem", "UpdateItem", "UpdateItem"],  # the invoice with its render state
        *["PutItem", "GetItem", "UpdateItem", "PutItem"],
    ]


def test_the_outbox_poll_is_one_query_per_shard_and_bookkeeping_one_write(busy):
    for n in range(6):
        busy.transactions.commit(
            [
                Emit(
                    OutboxMessage(
                        account_id="acc_1", created_at=NOW, effects=(RenderDocument(document_id=f"inv_{n}"),)
                    )
                )
            ]
        )
    (message, *_) = busy.outbox.due(LATER)
    with counted(busy) as calls:
        busy.outbox.due(LATER)
    assert calls == ["Query"] * OUTBOX_SHARDS
    with counted(busy) as calls:
        busy.outbox.retry_later(message, LATER, "boom")
        busy.outbox.done(message)
    assert calls == ["UpdateItem", "DeleteItem"]


def test_scan_is_refused_suite_wide(stores):
    table = stores.invoices._table
    with pytest.raises(AssertionError, match="Scan"):
        table.client.scan(TableName=table.name)


def test_each_number_has_a_marker_naming_its_invoice(stores):
    first, second = issue(stores), issue(stores, account_id="acc_2")
    table = stores.invoices._table

    markers = [table.get(records.marker_key("INV/2627", n)) for n in (1, 2)]

    assert [(m["number"], m["document_id"], m["account_id"]) for m in markers] == [
        (first.invoice_number, first.id, "acc_1"),
        (second.invoice_number, second.id, "acc_2"),
    ]
    assert table.get(records.counter_key("INV/2627"))["last"] == 2


def test_while_a_stage_keeps_list_index_the_functions_list_through_it(stores):
    # Given a table created before AccountIndex (ListIndex as template.yaml declares it while
    # KeepListIndex is true), and invoices of both shapes on it
    from infra.cfn import load_template
    from invoicing.repository.invoices import DynamoInvoiceStore
    from invoicing.repository.table import Table
    from tests.contract.conftest import CURSOR_KEY

    client = stores.invoices._table.client
    (kept,) = [
        index["Fn::If"][1]
        for index in load_template()["Resources"]["InvoicesTable"]["Properties"]["GlobalSecondaryIndexes"]
        if "Fn::If" in index
    ]
    name = stores.invoices._table.name
    client.update_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "gsi1pk", "AttributeType": "S"},
            {"AttributeName": "gsi1sk", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[{"Create": kept}],
    )
    old, new = issue(stores), issue(stores)
    stores.invoices._table.call("put_item", Item=serialize(old_shape(old)))
    listing = DynamoInvoiceStore(Table(name, client, list_index="ListIndex"), cursor_key=CURSOR_KEY)

    read_whole: list[str] = []
    real_items = listing.items
    listing.items = lambda ids, **options: (read_whole.extend(ids), real_items(ids, **options))[1]  # type: ignore[method-assign]

    # When a page is read through ListIndex
    with counted(stores) as calls:
        page = listing.list_page(ListQuery(account_id="acc_1"))

    # Then both rows are right: the old shape's from its entry, the packed one's read whole
    assert {row.id: row for row in page.items} == {i.id: InvoiceRow.of(i) for i in (old, new)}
    assert calls == ["Query", "BatchGetItem"] and read_whole == [new.id]
