"""Pure rules of billing: IST months, run ids, packing whole months into one invoice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invoicing.domain.billing import (
    UsageLine,
    UsagePeriod,
    has_ended,
    invoice_description,
    pack,
    period_bounds,
    period_days,
    previous_period,
    validate_period,
)
from invoicing.domain.errors import DomainValidationError
from invoicing.domain.numbering import IST
from invoicing.services.billing import scheduled_run_id


@pytest.mark.parametrize(
    ("period", "days", "hours"),
    [("2026-10", 31, 744), ("2026-11", 30, 720), ("2027-02", 28, 672), ("2028-02", 29, 696)],
)
def test_months_are_true_to_the_calendar(period, days, hours):
    first, last = period_days(period)
    start, end = period_bounds(period)
    assert (last - first).days + 1 == days
    assert (end - start) == timedelta(hours=hours)
    assert start == datetime(first.year, first.month, 1, tzinfo=IST)


def test_the_schedule_bills_the_ist_month_before_its_time():
    # 03:00 IST on 1 December is 21:30 UTC on 30 November: still "now in December" in IST
    assert previous_period(datetime(2026, 11, 30, 21, 30, tzinfo=UTC)) == "2026-11"
    assert previous_period(datetime(2027, 1, 1, 3, 0, tzinfo=IST)) == "2026-12"
    assert previous_period(datetime(2026, 11, 30, 18, 29, tzinfo=UTC)) == "2026-10"  # 23:59 IST, 30 Nov


def test_a_month_has_ended_at_the_next_ist_midnight():
    assert not has_ended("2026-11", datetime(2026, 11, 30, 18, 29, tzinfo=UTC))
    assert has_ended("2026-11", datetime(2026, 11, 30, 18, 30, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-11", "1999-12", "2026-11-01", ""])
def test_periods_are_validated(bad):
    with pytest.raises(DomainValidationError):
        validate_period(bad)


def test_description_names_the_month():
    assert invoice_description("2026-11") == "GPU cloud usage — November 2026"


def test_a_scheduled_run_id_is_stable_for_one_event_and_shaped_like_our_ids():
    one = scheduled_run_id("exec-1")
    assert one == scheduled_run_id("exec-1") != scheduled_run_id("exec-2")
    assert one.startswith("run_") and len(one) == 18 and one[4:].isalnum()


def _month(period: str, lines: int) -> tuple[UsagePeriod, list[UsageLine]]:
    return UsagePeriod(account_id="a", period=period, records=lines), [None] * lines  # type: ignore[list-item]


def test_whole_months_are_packed_oldest_first_up_to_500_lines():
    packed = pack([_month("2026-11", 300), _month("2026-09", 150), _month("2026-10", 100)])
    assert [usage.period for usage, _ in packed] == ["2026-09", "2026-10"]
    assert [usage.period for usage, _ in pack([_month("2026-11", 500)])] == ["2026-11"]


def test_billing_a_month_opens_its_next_generation():
    usage = UsagePeriod(account_id="a", period="2026-11").accept(3, 2, "r")
    billed = usage.bill("inv_1")
    assert (billed.generation, billed.records, billed.lines, billed.total_records) == (1, 0, 0, 3)
    assert billed.invoice_id == "inv_1" and billed.version == usage.version + 1 and not billed.unbilled
