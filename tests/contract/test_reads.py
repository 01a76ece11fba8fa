"""The read side of the stores: list pages, the sweep index, owners, documents, downloads, reviews,
the outbox. Runs against the in-memory fake and DynamoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from invoicing.domain.changes import Emit
from invoicing.domain.documents import Download, DownloadStatus, InvoiceOwner
from invoicing.domain.errors import BadRequestError, ConflictError, NotFoundError
from invoicing.domain.invoice import PENDING_STATUSES, Invoice, InvoiceStatus
from invoicing.domain.outbox import OutboxMessage, PublishEvent
from invoicing.domain.queries import InvoiceRow, ListQuery
from invoicing.domain.reviews import FailedPaymentRecord, ReviewItem
from invoicing.domain.sweep import SWEEP_SHARDS
from invoicing.repository import records
from invoicing.repository.records import sweep_shard
from tests.contract.builders import create, issue, overdue, pay, save
from tests.unit.factories import NOW

LATER = NOW + timedelta(hours=1)


def all_pages(stores, query: ListQuery) -> list[list[Invoice]]:
    pages = []
    while True:
        page = stores.invoices.list_page(query)
        pages.append(list(page.items))
        if page.next_cursor is None:
            return pages
        query = replace(query, cursor=page.next_cursor)


def ids(pages: list[list[Invoice]]) -> list[str]:
    return [invoice.id for page in pages for invoice in page]


def history(stores) -> list[Invoice]:
    """Seven issued invoices on seven days (newest last) and two drafts, for acc_1; one for acc_2."""
    issued = []
    for day in range(7):
        stores.clock.set(NOW + timedelta(days=day))
        issued.append(issue(stores, description=f"GPU pods, week {day}"))
    create(stores)
    create(stores)
    issue(stores, account_id="acc_2")
    return issued


# ----------------------------------------------------------------------------------------- listing


def test_a_page_lists_the_account_s_issued_invoices_newest_first_without_drafts(stores):
    issued = history(stores)

    page = stores.invoices.list_page(ListQuery(account_id="acc_1", limit=25))

    assert [i.id for i in page.items] == [i.id for i in reversed(issued)]
    assert page.next_cursor is None
    assert page.items[0] == InvoiceRow.of(issued[-1])  # the list row, not the whole invoice


def test_a_row_carries_what_a_list_csv_and_statement_show_paid_credited_and_due(stores):
    invoice = issue(stores)
    paid = pay(stores, invoice, 1000)

    (row,) = stores.invoices.list_page(ListQuery(account_id="acc_1")).items

    assert row == InvoiceRow.of(paid)
    assert (row.amount_paid, row.amount_due, row.customer) == (1000, paid.amount - 1000, paid.customer)


def test_operators_see_drafts_first_then_the_rest(stores):
    issued = history(stores)

    listed = ids(all_pages(stores, ListQuery(account_id="acc_1", include_drafts=True, limit=4)))

    assert len(listed) == 9
    drafts = [stores.invoices.get(i) for i in listed[:2]]
    assert {d.status for d in drafts} == {InvoiceStatus.DRAFT}
    assert listed[2:] == [i.id for i in reversed(issued)]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_paging_returns_every_invoice_once_in_order(stores, limit):
    issued = history(stores)

    pages = all_pages(stores, ListQuery(account_id="acc_1", limit=limit))

    assert ids(pages) == [i.id for i in reversed(issued)]
    assert all(1 <= len(page) <= limit for page in pages)


def test_filters_narrow_the_list(stores):
    issued = history(stores)
    paid = pay(stores, issued[1], issued[1].amount)
    late = overdue(stores, issued[2])

    def listed(**filters) -> list[str]:
        return ids(all_pages(stores, ListQuery(account_id="acc_1", limit=2, **filters)))

    assert listed(statuses=frozenset({InvoiceStatus.PAID})) == [paid.id]
    assert listed(statuses=frozenset({InvoiceStatus.OVERDUE, InvoiceStatus.PAID})) == [late.id, paid.id]
    assert len(listed(statuses=PENDING_STATUSES)) == 5
    assert listed(date_from=issued[5].date) == [issued[6].id, issued[5].id]
    assert listed(date_to=issued[0].date) == [issued[0].id]
    assert listed(date_from=issued[2].date, date_to=issued[3].date) == [issued[3].id, late.id]
    assert listed(q="WEEK 4") == [issued[4].id]
    assert listed(q=issued[3].invoice_number.lower()) == [issued[3].id]
    assert listed(q="nothing like it") == []


def test_drafts_only_when_asked_and_never_in_a_date_range(stores):
    history(stores)

    only_drafts = ListQuery(account_id="acc_1", statuses=frozenset({InvoiceStatus.DRAFT}))
    assert len(ids(all_pages(stores, replace(only_drafts, include_drafts=True)))) == 2
    assert ids(all_pages(stores, only_drafts)) == []
    ranged = ListQuery(account_id="acc_1", include_drafts=True, date_from=date(2026, 1, 1))
    assert len(ids(all_pages(stores, ranged))) == 7
    mixed = ListQuery(
        account_id="acc_1", include_drafts=True, statuses=frozenset({InvoiceStatus.DRAFT, InvoiceStatus.PAID})
    )
    paid = pay(
        stores, stores.invoices.get(ids(all_pages(stores, ListQuery(account_id="acc_1", limit=1)))[0]), 106200
    )
    listed = ids(all_pages(stores, replace(mixed, limit=2)))
    assert len(listed) == 3 and listed[-1] == paid.id


def test_another_account_s_list_is_its_own(stores):
    history(stores)
    (theirs,) = stores.invoices.list_page(ListQuery(account_id="acc_2")).items
    assert theirs.account_id == "acc_2"
    assert stores.invoices.list_page(ListQuery(account_id="acc_none")).items == []


@pytest.mark.parametrize("tamper", ["garbage", "flip", "other-query", "other-account"])
def test_a_cursor_that_is_not_this_query_s_is_a_bad_request(stores, tamper):
    history(stores)
    query = ListQuery(account_id="acc_1", limit=2)
    cursor = stores.invoices.list_page(query).next_cursor
    assert cursor is not None

    if tamper == "garbage":
        query = replace(query, cursor="not-a-cursor")
    elif tamper == "flip":
        query = replace(query, cursor=cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:])
    elif tamper == "other-query":
        query = replace(query, cursor=cursor, q="week")
    else:
        query = replace(query, cursor=cursor, account_id="acc_2")

    with pytest.raises(BadRequestError) as bad:
        stores.invoices.list_page(query)
    assert bad.value.details == [{"loc": ["query", "cursor"], "msg": "invalid cursor"}]


# ------------------------------------------------------------------------------------------ owners


def test_owners_name_the_account_and_status_of_what_exists(stores):
    invoice, other = issue(stores), create(stores, account_id="acc_2")

    owners = stores.invoices.owners([invoice.id, "inv_nope", other.id, invoice.id])

    assert owners == {
        invoice.id: InvoiceOwner(invoice.id, "acc_1", InvoiceStatus.ISSUED),
        other.id: InvoiceOwner(other.id, "acc_2", InvoiceStatus.DRAFT),
    }
    assert stores.invoices.owners([]) == {}


# ------------------------------------------------------------------------------------- sweep index


def due_ids(stores, through: date, *, limit: int = 500) -> list[str]:
    found = []
    for shard in range(SWEEP_SHARDS):
        start = None
        while True:
            page = stores.invoices.due_for_sweep(shard, through, start_key=start, limit=limit)
            assert all(sweep_shard(i.id) == shard for i in page.items)
            found += [i.id for i in page.items]
            if page.last_key is None:
                break
            start = page.last_key
    return found


def test_the_sweep_reads_only_what_is_due_by_the_day(stores):
    pending = issue(stores)  # due 16 Oct: swept from the 17th
    expiring = issue(stores, expire_by=NOW + timedelta(days=3))  # swept the day after expire_by
    paid = pay(stores, issue(stores), 106200)
    create(stores, expire_by=NOW + timedelta(days=2))  # drafts are never swept

    assert due_ids(stores, date(2026, 10, 1)) == []
    assert due_ids(stores, date(2026, 10, 5)) == [expiring.id]
    assert sorted(due_ids(stores, date(2026, 10, 17))) == sorted([pending.id, expiring.id])
    assert paid.next_sweep_on is None


def test_the_sweep_index_follows_each_change(stores):
    invoice = issue(stores)
    late = overdue(stores, invoice)  # next: the day-3 reminder
    assert due_ids(stores, late.due_date + timedelta(days=2)) == []
    assert due_ids(stores, late.due_date + timedelta(days=3)) == [late.id]

    save(stores, late, late.expire(LATER))

    assert due_ids(stores, date(2027, 12, 31)) == []


def test_the_sweep_pages_through_a_shard(stores):
    invoices = [issue(stores) for _ in range(40)]
    shard = max(range(SWEEP_SHARDS), key=lambda s: sum(sweep_shard(i.id) == s for i in invoices))
    mine = sorted(i.id for i in invoices if sweep_shard(i.id) == shard)
    assert len(mine) >= 3

    seen, start, pages = [], None, 0
    while True:
        page = stores.invoices.due_for_sweep(shard, date(2026, 10, 17), start_key=start, limit=2)
        pages += 1
        assert len(page.items) <= 2
        seen += [i.id for i in page.items]
        if page.last_key is None:
            break
        start = page.last_key

    assert sorted(seen) == mine and len(seen) == len(mine)
    assert pages >= (len(mine) + 1) // 2


# --------------------------------------------------------------------------------------- documents


def test_a_document_records_which_version_has_its_pdf(stores):
    invoice = issue(stores)
    assert stores.documents.get(invoice.id).pdf_version is None

    assert stores.documents.mark_rendered(invoice.id, invoice.version) is True

    document = stores.documents.get(invoice.id)
    assert (document.invoice, document.pdf_version, document.pdf_is_current) == (
        invoice,
        invoice.version,
        True,
    )


def test_marking_a_pdf_again_or_an_older_version_changes_nothing(stores):
    invoice = issue(stores)
    stores.documents.mark_rendered(invoice.id, invoice.version)

    assert stores.documents.mark_rendered(invoice.id, invoice.version) is False
    assert stores.documents.mark_rendered(invoice.id, invoice.version - 1) is False
    assert stores.documents.get(invoice.id).pdf_version == invoice.version


def test_a_failed_render_is_recorded_once_and_never_over_a_rendered_version(stores):
    invoice = issue(stores)

    assert stores.documents.mark_failed(invoice.id, invoice.version, "boom") is True
    assert stores.documents.mark_failed(invoice.id, invoice.version, "boom") is False
    document = stores.documents.get(invoice.id)
    assert (document.pdf_failed, document.pdf_is_current, document.invoice) == (True, False, invoice)

    paid = pay(stores, invoice, invoice.amount)
    assert stores.documents.get(paid.id).pdf_failed is False  # a new version is rendered afresh
    assert stores.documents.mark_rendered(paid.id, paid.version) is True
    assert stores.documents.mark_failed(paid.id, paid.version, "late dead letter") is False
    assert stores.documents.get(paid.id).pdf_failed is False


def test_a_render_is_requested_once_per_version_until_the_request_is_stale(stores):
    invoice = issue(stores)
    again = timedelta(minutes=30)

    assert stores.documents.request_render(invoice.id, invoice.version, NOW, again_after=again) is True
    assert stores.documents.request_render(invoice.id, invoice.version, NOW, again_after=again) is False
    soon = NOW + timedelta(minutes=29)
    assert stores.documents.request_render(invoice.id, invoice.version, soon, again_after=again) is False
    assert stores.documents.request_render(invoice.id, invoice.version - 1, soon, again_after=again) is False
    assert stores.documents.request_render(invoice.id, invoice.version + 1, soon, again_after=again) is True
    late = soon + timedelta(minutes=31)
    assert stores.documents.request_render(invoice.id, invoice.version + 1, late, again_after=again) is True


def test_a_credit_note_or_receipt_render_is_requested_once_per_version_and_document(stores):
    again, ask = timedelta(minutes=30), stores.render_requests.request_render

    assert ask("credit_note", "cn_1", 1, NOW, again_after=again) is True
    assert ask("credit_note", "cn_1", 1, NOW + timedelta(minutes=29), again_after=again) is False
    assert ask("receipt", "cn_1", 1, NOW, again_after=again) is True  # another kind, another document
    assert ask("credit_note", "cn_2", 1, NOW, again_after=again) is True
    assert ask("credit_note", "cn_1", 2, NOW, again_after=again) is True
    assert ask("credit_note", "cn_1", 1, NOW, again_after=again) is False  # never backwards
    assert ask("credit_note", "cn_1", 2, NOW + timedelta(minutes=31), again_after=again) is True


def test_a_change_of_the_invoice_leaves_its_new_version_without_a_pdf(stores):
    invoice = issue(stores)
    stores.documents.mark_rendered(invoice.id, invoice.version)

    paid = pay(stores, invoice, invoice.amount)

    document = stores.documents.get(invoice.id)
    assert (document.invoice, document.pdf_is_current) == (paid, False)
    assert stores.documents.mark_rendered(invoice.id, invoice.version) is False
    assert stores.documents.mark_rendered(paid.id, paid.version) is True
    assert stores.documents.get(paid.id).pdf_is_current


def test_an_unknown_document_is_not_found(stores):
    with pytest.raises(NotFoundError):
        stores.documents.get("inv_nope")


# --------------------------------------------------------------------------------------- downloads


def download(download_id: str = "dl_1") -> Download:
    return Download(
        id=download_id,
        account_id="acc_1",
        invoice_ids=("inv_1", "inv_2"),
        status=DownloadStatus.PENDING,
        key=f"exports/acc_1/{download_id}.zip",
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )


def test_a_download_job_is_stored_read_and_finished_once(stores):
    job = stores.downloads.create(download())
    assert stores.downloads.get(job.id) == job

    assert stores.downloads.finish(job.id, DownloadStatus.READY) is True
    assert stores.downloads.finish(job.id, DownloadStatus.FAILED, reason="late") is False
    assert stores.downloads.get(job.id).status is DownloadStatus.READY


def test_a_download_job_never_overwrites_another_and_unknown_ones_are_not_found(stores):
    stores.downloads.create(download())
    with pytest.raises(ConflictError):
        stores.downloads.create(download())
    with pytest.raises(NotFoundError):
        stores.downloads.get("dl_nope")
    assert stores.downloads.finish("dl_nope", DownloadStatus.READY) is False


# ----------------------------------------------------------------------------------------- reviews


def test_a_review_item_and_a_failed_payment_are_kept_once(stores):
    item = ReviewItem(
        reason="unhandled_event",
        message="Event type order.paid is not handled.",
        event_id="evt_1",
        event_type="order.paid",
        occurred_at=NOW,
        received_at=LATER,
    )
    failed = FailedPaymentRecord(
        invoice_id="inv_1",
        payment_id="pay_1",
        amount=100,
        currency="INR",
        method="upi",
        attempted_at=NOW,
        event_id="evt_2",
        recorded_at=LATER,
        error_code="BAD_REQUEST_ERROR",
    )

    assert (stores.reviews.add(item), stores.reviews.add(item)) == (True, False)
    assert stores.reviews.add(replace(item, event_id="evt_3")) is True
    assert (stores.reviews.add_failed_payment(failed), stores.reviews.add_failed_payment(failed)) == (
        True,
        False,
    )
    assert stores.reviews.add_failed_payment(replace(failed, payment_id="pay_2")) is True


# ------------------------------------------------------------------------------------------ outbox


def emit(stores, account: str = "acc_1", **fields: str) -> OutboxMessage:
    message = OutboxMessage(
        **fields,
        account_id=account,
        created_at=stores.clock.now,
        effects=(PublishEvent(detail_type="InvoicePaid", detail={"invoice_id": "inv_1"}),),
    )
    stores.transactions.commit([Emit(message)])
    return message


def test_the_outbox_hands_out_due_messages_oldest_first(stores):
    first = emit(stores)
    stores.clock.set(NOW + timedelta(seconds=10))
    second = emit(stores, "acc_2")

    assert stores.outbox.due(NOW - timedelta(seconds=1)) == []
    assert stores.outbox.due(NOW) == [first]
    assert stores.outbox.due(NOW + timedelta(seconds=10)) == [first, second]
    assert stores.outbox.due(NOW + timedelta(seconds=10), limit=1) == [first]


def test_a_done_message_is_gone(stores):
    message = emit(stores)

    stores.outbox.done(message)
    stores.outbox.done(message)  # twice is harmless

    assert stores.outbox.due(LATER) == []
    assert stores.outbox.get(message) is None


def test_a_message_to_retry_waits_until_then_and_counts_its_attempts(stores):
    message = emit(stores)

    stores.outbox.retry_later(message, NOW + timedelta(seconds=5), "RuntimeError: boom")

    assert stores.outbox.due(NOW + timedelta(seconds=4)) == []
    (again,) = stores.outbox.due(NOW + timedelta(seconds=5))
    assert (again.id, again.attempts, again.effects) == (message.id, 1, message.effects)
    stores.outbox.retry_later(again, NOW + timedelta(seconds=15), "RuntimeError: boom")
    assert stores.outbox.get(message).attempts == 2


def test_messages_backing_off_never_hide_one_that_is_due(stores):
    # Given the oldest messages backing off, in the same shard (they fill any first page of its poll)
    ids = [i for i in (f"obx_shard{n}" for n in range(200)) if records.outbox_shard(i) == 0][:4]
    backing_off = [emit(stores, f"acc_{n}", id=ids[n]) for n in range(3)]
    for message in backing_off:
        stores.outbox.retry_later(message, LATER, "RuntimeError: boom")
    stores.clock.set(NOW + timedelta(seconds=10))
    due = emit(stores, "acc_due", id=ids[3])

    # When the dispatcher polls for one message, then for all
    # Then it gets the one that is due, in both
    assert stores.outbox.due(NOW + timedelta(seconds=10), limit=1) == [due]
    assert stores.outbox.due(NOW + timedelta(seconds=10)) == [due]


def test_retrying_a_message_that_is_gone_does_not_bring_it_back(stores):
    message = emit(stores)
    stores.outbox.done(message)

    stores.outbox.retry_later(message, NOW, "late")

    assert stores.outbox.due(LATER) == [] and stores.outbox.get(message) is None


def test_a_credit_note_or_receipt_render_that_failed_is_marked_once_per_version_and_document(stores):
    requests = stores.render_requests

    assert not requests.failed("credit_note", "cn_1", 1)
    assert requests.mark_failed("credit_note", "cn_1", 1, "ValueError: broken") is True
    assert requests.mark_failed("credit_note", "cn_1", 1, "again") is False
    assert requests.failed("credit_note", "cn_1", 1)
    assert not requests.failed("credit_note", "cn_1", 2)  # a later version is not failed
    assert not requests.failed("receipt", "cn_1", 1) and not requests.failed("credit_note", "cn_2", 1)
    assert requests.mark_failed("credit_note", "cn_1", 2, "broken") is True
    assert requests.mark_failed("credit_note", "cn_1", 1, "late") is False  # never backwards
    assert not requests.failed("credit_note", "cn_1", 1) and requests.failed("credit_note", "cn_1", 2)
