"""The DynamoDB repository under moto, with the tables built from template.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from invoicing.domain import summary
from invoicing.domain.errors import BadRequestError, ConflictError, NotFoundError
from invoicing.domain.invoice import Invoice, InvoiceStatus, Payment
from invoicing.repository import records
from invoicing.repository.invoices import IdempotencyClaim, ListQuery
from invoicing.services.invoices import InvoicePolicy, InvoiceService
from tests.conftest import ScanForbiddenError
from tests.unit.factories import NOW, draft, supplier

UTC = UTC


@pytest.fixture
def service(repository):
    return InvoiceService(repository=repository, policy=InvoicePolicy(prefix="INV", supplier=supplier()))


def _issue(service, repository, account="acc_1", when=NOW, **overrides) -> Invoice:
    invoice = repository.create(draft(account_id=account, **overrides))
    return service.issue(invoice.id, when)


def _pay(repository, invoice: Invoice, amount: int, pay_id: str, when=NOW) -> Invoice:
    payment = Payment(id=pay_id, amount=amount, method="upi", paid_at=when)
    return repository.save(invoice, invoice.apply_payment(payment, when))


# --------------------------------------------------------------------------- reads


def test_get_is_one_getitem_and_round_trips_the_invoice(repository, aws_calls):
    stored = repository.create(draft())
    aws_calls.clear()

    loaded = repository.get(stored.id)

    assert loaded == stored
    assert aws_calls.of("dynamodb") == ["GetItem"]


def test_get_of_an_unknown_invoice_is_not_found(repository):
    with pytest.raises(NotFoundError):
        repository.get("inv_doesnotexist00")


def test_summary_is_one_getitem_and_zero_for_a_new_account(repository, aws_calls):
    aws_calls.clear()
    assert repository.summary("acc_new") == summary.AccountSummary()
    assert aws_calls.of("dynamodb") == ["GetItem"]


def test_scan_is_refused_suite_wide(dynamodb, resources):
    with pytest.raises(ScanForbiddenError):
        dynamodb.scan(TableName=resources["INVOICES_TABLE"])


# --------------------------------------------------------------- idempotent create


def test_same_idempotency_key_and_body_return_the_first_invoice(repository):
    claim = IdempotencyClaim.of("key-1", b'{"a": 1}')
    first = repository.create(draft(), claim)

    again = repository.create(draft(), claim)

    assert again.id == first.id
    assert again == repository.get(first.id)


def test_same_idempotency_key_with_another_body_is_a_conflict(repository):
    repository.create(draft(), IdempotencyClaim.of("key-1", b'{"a": 1}'))

    with pytest.raises(ConflictError, match="different request body"):
        repository.create(draft(), IdempotencyClaim.of("key-1", b'{"a": 2}'))


def test_idempotency_keys_are_scoped_by_account(repository):
    claim = IdempotencyClaim.of("key-1", b"{}")
    first = repository.create(draft(account_id="acc_a"), claim)
    second = repository.create(draft(account_id="acc_b"), claim)
    assert first.id != second.id


# ------------------------------------------------------------- conditional writes


def test_a_competing_write_between_read_and_write_is_never_overwritten(repository):
    # Given two writers that read the same draft
    stored = repository.create(draft())
    mine = repository.get(stored.id)
    theirs = repository.get(stored.id)
    # When the other writer commits first (injected between our read and our write)
    repository.save(theirs, theirs.revise({"notes": "theirs"}, NOW))
    # Then our stale write is refused and their update survives
    with pytest.raises(ConflictError, match="changed by someone else"):
        repository.save(mine, mine.revise({"notes": "mine"}, NOW))
    assert repository.get(stored.id).notes == "theirs"


def test_a_stale_payment_is_refused_and_the_summary_is_untouched(repository, service):
    invoice = _issue(service, repository, partial_payment=True)
    stale = repository.get(invoice.id)
    _pay(repository, repository.get(invoice.id), 1000, "pay_first")
    before = repository.summary(invoice.account_id)

    with pytest.raises(ConflictError):
        _pay(repository, stale, 2000, "pay_second")

    assert repository.get(invoice.id).amount_paid == 1000
    assert repository.summary(invoice.account_id) == before


def test_delete_removes_a_draft_only_at_the_version_read(repository):
    stored = repository.create(draft())
    repository.save(stored, stored.revise({"notes": "x"}, NOW))
    with pytest.raises(ConflictError):
        repository.delete_draft(stored)
    repository.delete_draft(repository.get(stored.id))
    with pytest.raises(NotFoundError):
        repository.get(stored.id)


# ------------------------------------------------------------------ numbering


def _marker(dynamodb, resources, series, seq):
    key = records.serialize(records.marker_key(series, seq))
    return dynamodb.get_item(TableName=resources["INVOICES_TABLE"], Key=key).get("Item")


def test_issue_numbers_are_consecutive_and_each_has_a_marker(repository, service, dynamodb, resources):
    numbers = [_issue(service, repository).invoice_number for _ in range(3)]

    assert numbers == ["INV/2627/000001", "INV/2627/000002", "INV/2627/000003"]
    for seq in (1, 2, 3):
        marker = records.deserialize(_marker(dynamodb, resources, "INV/2627", seq))
        assert marker["invoice_number"] == f"INV/2627/{seq:06d}"
    assert repository.next_sequence("INV/2627") == 4


def test_issue_is_one_transaction_plus_its_reads(repository, service, aws_calls):
    invoice = repository.create(draft())
    aws_calls.clear()

    service.issue(invoice.id, NOW)

    assert aws_calls.of("dynamodb") == ["GetItem", "GetItem", "TransactWriteItems"]


def test_a_number_taken_by_a_concurrent_issue_is_skipped_without_a_gap(repository, service, monkeypatch):
    # Given another issue takes number 1 between our counter read and our transaction
    ours = repository.create(draft())
    theirs = repository.create(draft())
    real_next = repository.next_sequence
    injected: list[Invoice] = []

    def next_sequence_then_compete(series):
        seq = real_next(series)
        if not injected:
            monkeypatch.setattr(repository, "next_sequence", real_next)
            injected.append(service.issue(theirs.id, NOW))
            monkeypatch.setattr(repository, "next_sequence", next_sequence_then_compete)
        return seq

    monkeypatch.setattr(repository, "next_sequence", next_sequence_then_compete)
    # When we issue
    issued = service.issue(ours.id, NOW)
    # Then we get the next number; theirs kept number 1
    assert injected[0].invoice_number == "INV/2627/000001"
    assert issued.invoice_number == "INV/2627/000002"
    assert real_next("INV/2627") == 3


def test_a_failed_issue_leaves_no_gap_and_no_orphan(repository, service, dynamodb, resources):
    # Given a stale copy of a draft that someone else just edited
    stored = repository.create(draft())
    stale = repository.get(stored.id)
    repository.save(stored, stored.revise({"notes": "edited"}, NOW))
    issued = stale.issue(invoice_number="INV/2627/000001", today=NOW.date(), now=NOW)
    # When the issue transaction runs against the stale copy
    with pytest.raises(ConflictError):
        repository.issue(stale, issued, series="INV/2627", sequence=1)
    # Then the counter did not move and no marker was written
    assert repository.next_sequence("INV/2627") == 1
    assert _marker(dynamodb, resources, "INV/2627", 1) is None
    assert repository.get(stored.id).status is InvoiceStatus.DRAFT


def test_numbering_restarts_each_financial_year(repository, service):
    march = datetime(2027, 3, 31, 18, 29, tzinfo=UTC)  # 23:59 IST on 31 March
    april = datetime(2027, 3, 31, 18, 31, tzinfo=UTC)  # 00:01 IST on 1 April
    assert _issue(service, repository, when=march).invoice_number == "INV/2627/000001"
    assert _issue(service, repository, when=april).invoice_number == "INV/2728/000001"


# -------------------------------------------------------------------- summary


def test_summary_follows_every_status_and_payment_change(repository, service):
    a = _issue(service, repository, partial_payment=True)
    b = _issue(service, repository)
    c = _issue(service, repository)
    a = _pay(repository, a, 500, "pay_a1")
    b = _pay(repository, b, b.amount, "pay_b1")
    c = repository.save(c, c.cancel(NOW))
    d = repository.create(draft())

    got = repository.summary("acc_1")

    assert got == summary.summarize([repository.get(i.id) for i in (a, b, c, d)])
    assert got.count_paid == 1 and got.count_pending == 1
    assert got.total_paid == 500 + b.amount
    assert got.total_pending == a.amount - 500


def test_overdue_moves_pending_to_overdue_in_the_summary(repository, service):
    invoice = _issue(service, repository)
    later = invoice.due_date + timedelta(days=1)
    repository.save(invoice, invoice.mark_overdue(later, NOW))

    got = repository.summary("acc_1")

    assert (got.count_pending, got.count_overdue) == (0, 1)
    assert got.total_overdue == invoice.amount


# ----------------------------------------------------------------------- list


def _issue_on(service, repository, day: date, account="acc_1", **overrides):
    when = datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)
    return _issue(service, repository, account=account, when=when, **overrides)


def test_list_page_is_one_query_newest_first(repository, service, aws_calls):
    ids = [_issue_on(service, repository, date(2026, 11, d)).id for d in (1, 2, 3)]
    aws_calls.clear()

    page = repository.list_page(ListQuery(account_id="acc_1"))

    assert [i.id for i in page.items] == ids[::-1]
    assert page.next_cursor is None
    assert aws_calls.of("dynamodb") == ["Query"]


def test_cursor_pages_through_everything_once(repository, service, aws_calls):
    ids = {_issue_on(service, repository, date(2026, 10, d)).id for d in range(1, 8)}
    seen, cursor, pages = [], None, 0
    while True:
        aws_calls.clear()
        page = repository.list_page(ListQuery(account_id="acc_1", limit=3, cursor=cursor))
        assert aws_calls.of("dynamodb") == ["Query"]
        seen += [i.id for i in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    assert pages == 3


def test_filters_by_status_date_range_and_search(repository, service):
    a = _issue_on(service, repository, date(2026, 10, 1), description="GPU pods October")
    b = _issue_on(service, repository, date(2026, 11, 1), description="Storage November")
    b = _pay(repository, b, b.amount, "pay_b")
    c = _issue_on(service, repository, date(2026, 11, 5), description="VMs")

    def ids(**kw):
        return [i.id for i in repository.list_page(ListQuery(account_id="acc_1", **kw)).items]

    assert ids(statuses=frozenset({InvoiceStatus.PAID})) == [b.id]
    assert ids(statuses=frozenset({InvoiceStatus.ISSUED})) == [c.id, a.id]
    assert ids(date_from=date(2026, 11, 1), date_to=date(2026, 11, 1)) == [b.id]
    assert ids(date_from=date(2026, 11, 2)) == [c.id]
    assert ids(q="gpu") == [a.id]
    assert ids(q=c.invoice_number.lower()) == [c.id]


def test_drafts_are_listed_only_for_operators(repository, service):
    issued = _issue(service, repository)
    pending_draft = repository.create(draft())

    customer_view = repository.list_page(ListQuery(account_id="acc_1"))
    operator_view = repository.list_page(ListQuery(account_id="acc_1", include_drafts=True))
    drafts_only = repository.list_page(
        ListQuery(account_id="acc_1", include_drafts=True, statuses=frozenset({InvoiceStatus.DRAFT}))
    )

    assert [i.id for i in customer_view.items] == [issued.id]
    assert {i.id for i in operator_view.items} == {issued.id, pending_draft.id}
    assert [i.id for i in drafts_only.items] == [pending_draft.id]


def test_list_never_shows_another_accounts_invoices(repository, service):
    _issue(service, repository, account="acc_other")
    assert repository.list_page(ListQuery(account_id="acc_1")).items == []


@pytest.mark.parametrize("forged", ["garbage", "a.b", "", "eyJrIjp7fX0.AAAA", "x" * 300])
def test_a_forged_cursor_is_a_bad_request(repository, forged):
    with pytest.raises(BadRequestError):
        repository.list_page(ListQuery(account_id="acc_1", cursor=forged or "."))


def test_a_cursor_cannot_be_replayed_against_another_account_or_filter(repository, service):
    for d in range(1, 4):
        _issue_on(service, repository, date(2026, 9, d))
    cursor = repository.list_page(ListQuery(account_id="acc_1", limit=1)).next_cursor
    assert cursor

    with pytest.raises(BadRequestError):
        repository.list_page(ListQuery(account_id="acc_2", limit=1, cursor=cursor))
    with pytest.raises(BadRequestError):
        repository.list_page(ListQuery(account_id="acc_1", limit=1, q="x", cursor=cursor))
    # and an edited payload fails the signature
    payload, sig = cursor.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + sig
    with pytest.raises(BadRequestError):
        repository.list_page(ListQuery(account_id="acc_1", limit=1, cursor=tampered))


# ---------------------------------------------------------------------- sweep


def test_sweep_index_holds_only_invoices_with_something_left_to_do(repository, service):
    open_invoice = _issue(service, repository)
    paid = _issue(service, repository)
    _pay(repository, paid, paid.amount, "pay_all")
    repository.create(draft())  # drafts are never in the index
    due_day = open_invoice.next_sweep_on

    found = []
    for shard in range(records.SWEEP_SHARDS):
        found += [i.id for i in repository.due_for_sweep(shard, due_day).items]
    early = []
    for shard in range(records.SWEEP_SHARDS):
        early += repository.due_for_sweep(shard, due_day - timedelta(days=1)).items

    assert found == [open_invoice.id]
    assert early == []


# ------------------------------------------------------------- provider pointer


def test_a_razorpay_invoice_id_leads_back_to_our_invoice(repository):
    stored = repository.create(draft())
    linked = repository.link_provider_invoice(stored, stored.attach_payment_link("inv_RzpAbc123", NOW))

    assert repository.find_by_provider_invoice("inv_RzpAbc123") == linked
    with pytest.raises(NotFoundError):
        repository.find_by_provider_invoice("inv_RzpUnknown")


def test_a_stale_link_writes_neither_the_invoice_nor_the_pointer(repository):
    stored = repository.create(draft())
    repository.save(stored, stored.revise({"notes": "edited"}, NOW))

    with pytest.raises(ConflictError):
        repository.link_provider_invoice(stored, stored.attach_payment_link("inv_RzpStale", NOW))

    with pytest.raises(NotFoundError):
        repository.find_by_provider_invoice("inv_RzpStale")
