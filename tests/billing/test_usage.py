"""Usage ingestion and the usage summary, against the in-memory fakes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from invoicing.domain.access import Caller
from invoicing.domain.billing import MAX_LINES, LineTotal, UsageRecord, aggregate, usage_lines
from invoicing.domain.errors import DomainValidationError, ForbiddenError
from invoicing.domain.numbering import IST
from tests.billing.conftest import NOVEMBER, OPERATOR, hourly, record
from tests.fakes.billing import LINES, RECORDS


def test_a_record_is_accepted_once_then_duplicate_or_conflict_by_content(world):
    # Given
    world.price()
    first = world.post(record("r-1"), record("r-2"))
    # When
    again = world.post(record("r-1"), record("r-2", quantity="2"), record("r-3"))
    # Then
    assert first.items == [("r-1", "accepted"), ("r-2", "accepted")]
    assert again.items == [("r-1", "duplicate"), ("r-2", "conflict"), ("r-3", "accepted")]
    assert (again.count("accepted"), again.count("duplicate"), again.count("conflict")) == (1, 1, 1)
    (line,) = world.billing.lines("acc_1", "2026-11")
    assert (line.quantity, line.records) == (Decimal(3), 3)  # the conflicting content is not stored


def test_the_same_id_twice_in_one_batch_counts_once(world):
    world.price()
    result = world.post(record("r-1"), record("r-1"), record("r-1", quantity="5"))
    assert result.items == [("r-1", "accepted"), ("r-1", "duplicate"), ("r-1", "conflict")]
    assert world.billing.lines("acc_1", "2026-11")[0].quantity == 1


def test_ids_are_unique_per_account_not_globally(world):
    world.price()
    result = world.post(record("r-1", "acc_1"), record("r-1", "acc_2"))
    assert [s for _, s in result.items] == ["accepted", "accepted"]


def test_one_record_without_a_price_refuses_the_whole_batch_naming_it(world):
    world.price()
    with pytest.raises(DomainValidationError) as refused:
        world.post(record("r-1"), record("r-2", sku="gpu.unknown.hour"), record("r-3"))
    assert refused.value.details[0]["loc"] == ["records", 1, "sku"]
    assert "r-2" in refused.value.details[0]["msg"]
    assert world.store.collection(RECORDS) == {} and world.store.collection(LINES) == {}


def test_a_record_is_priced_with_the_version_in_effect_on_its_ist_start_date(world):
    # Given a price change on 15 November (an IST date)
    world.price(rate="200", since=date(2026, 10, 1))
    world.price(rate="250", since=date(2026, 11, 15))
    before = NOVEMBER + timedelta(days=13, hours=23, minutes=30)  # 14 Nov 23:30 IST (18:00 UTC)
    # When
    world.post(record("old", start=before, hours=0.5), record("new", start=before + timedelta(minutes=30)))
    # Then: two lines, one per rate
    rates = sorted(line.unit_rate for line in world.billing.lines("acc_1", "2026-11"))
    assert rates == [Decimal(200), Decimal(250)]


def test_a_put_with_the_same_effective_from_replaces_that_version(world):
    world.price(rate="200", since=date(2026, 10, 1))
    world.price(rate="210", since=date(2026, 10, 1), description="H100, new name")
    (price,) = world.service.prices()
    assert (price.unit_rate, price.description) == (Decimal(210), "H100, new name")


def test_a_record_spanning_two_ist_months_is_refused():
    with pytest.raises(ValidationError, match="one IST calendar month"):
        record("r", start=NOVEMBER - timedelta(minutes=30), hours=1)


def test_a_record_may_end_exactly_at_the_next_month():
    last = record("r", start=NOVEMBER + timedelta(days=29, hours=23), hours=1)
    assert last.period == "2026-11"


def test_a_month_never_gets_more_than_500_lines(world):
    world.price()
    batch = [record(f"r-{n}", resource=f"pod-{n}") for n in range(MAX_LINES)]
    world.post(*batch[:250])
    world.post(*batch[250:])
    with pytest.raises(DomainValidationError) as refused:
        world.post(record("one-more", resource="pod-new"), record("known", resource="pod-0"))
    assert "one-more" in refused.value.message
    assert ("acc_1", "known") not in world.store.collection(RECORDS)


def test_a_batch_of_500_is_committed_in_transactions_of_at_most_100_items(world, monkeypatch):
    world.price()
    sizes: list[int] = []
    commit = world.store.commit
    monkeypatch.setattr(world.store, "commit", lambda changes: (sizes.append(len(changes)), commit(changes)))
    batch = [
        record(f"r-{n}", resource=f"pod-{n % 20}", start=NOVEMBER + timedelta(hours=n)) for n in range(500)
    ]
    result = world.post(*batch)
    assert result.count("accepted") == 500
    assert max(sizes) <= 100 and len(sizes) == 7  # 79 records + 20 line totals + the month, per commit
    assert sum(t.records for t in world.billing.lines("acc_1", "2026-11")) == 500


def test_the_line_rule_sums_quantities_spans_dates_and_takes_the_latest_name(world):
    # Given the same pod, renamed along the way, posted out of order
    world.price()
    late = record("b", name="renamed", start=NOVEMBER + timedelta(hours=5), quantity="2.5")
    early = record("a", name="first-name", start=NOVEMBER, quantity="1.25")
    world.post(late)
    world.post(early)
    # When
    (line,) = world.service.summary(OPERATOR, "2026-11", "acc_1").lines
    # Then
    assert line.quantity == Decimal("3.75")
    assert (line.usage_start, line.usage_end) == (early.start, late.end)
    assert line.resource_name == "renamed"
    assert (line.description, line.unit, line.sac_code, line.resource_type) == (
        "NVIDIA H100 GPU",
        "GPU-hour",
        "998315",
        "pod",
    )
    assert line.amount == 92063  # 3.75 × ₹245.50 = ₹920.625 → half-up


_HOURS = st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=25, unique=True)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hours=_HOURS, names=st.lists(st.sampled_from(["a", "b", "c"]), min_size=25, max_size=25), data=st.data()
)
def test_line_totals_do_not_depend_on_the_order_records_arrive_in(hours, names, data):
    from invoicing.domain.billing import Price

    price = Price(
        sku="gpu.h100.hour",
        description="H100",
        resource_type="pod",
        unit="GPU-hour",
        unit_rate="245.5",
        effective_from=date(2026, 1, 1),
        updated_at=NOVEMBER,
    )
    records = [
        record(f"r-{h}", name=names[i], start=NOVEMBER + timedelta(hours=h), quantity=f"{h % 7}.5")
        for i, h in enumerate(hours)
    ]
    shuffled = data.draw(st.permutations(records))
    one = usage_lines(aggregate((r, price) for r in records))
    other = usage_lines(aggregate((r, price) for r in shuffled))
    assert one == other


def test_the_summary_shows_the_month_for_its_customer_and_refuses_others(world):
    world.price()
    world.profile("acc_1")
    world.post(*hourly("acc_1", "pod-1", 3))
    mine = world.service.summary(Caller(account_id="acc_1"), "2026-11", None)
    assert (mine.records, len(mine.lines), mine.taxable_amount, mine.invoice_id) == (3, 1, 73650, None)
    with pytest.raises(ForbiddenError):
        world.service.summary(Caller(account_id="acc_2"), "2026-11", "acc_1")
    with pytest.raises(DomainValidationError):
        world.service.summary(OPERATOR, "2026-11", None)


def test_zero_quantities_make_no_line():
    assert usage_lines([_total("0")]) == []


def _total(quantity: str) -> LineTotal:
    return LineTotal(
        account_id="a",
        period="2026-11",
        generation=0,
        line_key="k",
        resource_id="pod",
        sku="s",
        unit_rate=Decimal(1),
        quantity=Decimal(quantity),
        usage_start=NOVEMBER,
        usage_end=NOVEMBER + timedelta(hours=1),
        resource_name="n",
        name_rank="",
        resource_type="pod",
        description="d",
        unit="hour",
        sac_code="998315",
    )


def test_a_customer_updates_only_its_gst_details(world):
    world.profile("acc_1", payment_terms_days=30)
    me = Caller(account_id="acc_1")
    updated = world.service.put_profile(me, "acc_1", _customer_b(), {})
    assert (updated.customer.name, updated.payment_terms_days, updated.billing_model) == (
        "New Name LLP",
        30,
        "postpaid",
    )
    with pytest.raises(ForbiddenError):
        world.service.put_profile(me, "acc_1", None, {"billing_model": "prepaid"})
    with pytest.raises(ForbiddenError):
        world.service.put_profile(me, "acc_2", _customer_b(), {})


def _customer_b():
    from tests.unit.factories import customer

    return customer(name="New Name LLP")


def test_ist_dates_of_records():
    r = UsageRecord(
        id="x",
        account_id="acc",
        sku="s",
        resource_id="r",
        resource_name="n",
        quantity="1",
        start=NOVEMBER.astimezone(IST),
        end=NOVEMBER + timedelta(hours=1),
    )
    assert r.start_day == date(2026, 11, 1) and r.period == "2026-11"
