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


def test_demo_usage_and_demo_invoices_are_true_to_the_calendar():
    from collections import Counter
    from datetime import date

    from infra.demo import demo_lines, demo_usage, draft_fields

    october = Counter(r["sku"] for r in demo_usage("acc_demo", "2026-10"))
    november = Counter(r["sku"] for r in demo_usage("acc_demo", "2026-11"))
    assert (october["gpu.a100.hour"], october["network.egress.gb"]) == (744, 31)
    assert (november["gpu.a100.hour"], november["network.egress.gb"]) == (720, 30)
    assert draft_fields(date(2026, 10, 1))["billing_period"].end == date(2026, 10, 31)
    pod = demo_lines(date(2026, 11, 1), 1)[0]
    assert pod.quantity == 720 and pod.usage_end - pod.usage_start == timedelta(days=30)


def test_the_template_carries_the_billing_function_its_queue_schedule_and_routes():
    from infra.cfn import load_template

    resources = load_template()["Resources"]
    function = resources["BillingRunFunction"]["Properties"]
    schedule = function["Events"]["MonthlyRun"]["Properties"]
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(0 3 1 * ? *)",
        "Asia/Kolkata",
    )
    work = function["Events"]["BillingWork"]["Properties"]
    assert work["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources["BillingQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["BillingDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    statements = [s for s in function["Policies"][0]["Statement"] if "Action" in s]
    actions = {a for s in statements for a in s["Action"]}
    assert "dynamodb:Scan" not in actions
    # it deletes nothing but the prepaid advances a settlement draws to 0 (never an invoice or usage)
    (deleting,) = [s for s in statements if "dynamodb:DeleteItem" in s["Action"]]
    assert deleting["Action"] == ["dynamodb:DeleteItem"]
    assert deleting["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["WALLET#*"]}}
    routes = {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in resources["InvoiceApiFunction"]["Properties"]["Events"].values()
    }
    assert {
        ("GET", "/accounts/{account_id}/billing-profile"),
        ("PUT", "/accounts/{account_id}/billing-profile"),
        ("GET", "/prices"),
        ("PUT", "/prices/{sku}"),
        ("POST", "/usage"),
        ("GET", "/usage/summary"),
        ("POST", "/billing-runs"),
        ("GET", "/billing-runs/{id}"),
    } <= routes
