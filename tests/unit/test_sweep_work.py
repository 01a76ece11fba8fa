"""Fan-out messages and the scheduled event the sweep's handler accepts."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from invoicing.domain.errors import DomainValidationError
from invoicing.domain.sweep import SWEEP_SHARDS, SweepWork

NOW = datetime(2026, 10, 17, 0, 30, tzinfo=UTC)


def test_work_round_trips_through_its_message():
    work = SweepWork(
        shard=3,
        through=date(2026, 10, 17),
        now=NOW,
        start_key={
            "sweep_pk": "SWEEP#03",
            "sweep_sk": "2026-10-17#inv_1",
            "pk": "INVOICE#inv_1",
            "sk": "INVOICE",
        },
    )

    body = work.to_message()

    assert json.loads(body) == {
        "kind": "sweep-shard",
        "shard": 3,
        "through": "2026-10-17",
        "now": "2026-10-17T00:30:00Z",
        "start_key": {
            "sweep_pk": "SWEEP#03",
            "sweep_sk": "2026-10-17#inv_1",
            "pk": "INVOICE#inv_1",
            "sk": "INVOICE",
        },
    }
    assert SweepWork.from_message(body) == work
    assert SweepWork.from_message(json.loads(body)) == work


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        json.dumps({"shard": SWEEP_SHARDS, "through": "2026-10-17", "now": "2026-10-17T00:30:00Z"}),
        json.dumps({"shard": -1, "through": "2026-10-17", "now": "2026-10-17T00:30:00Z"}),
        json.dumps({"shard": 1, "through": "2026-10-17", "now": "2026-10-17T00:30:00"}),  # naive
        json.dumps({"shard": 1, "through": "2026-10-17", "now": "2026-10-17T00:30:00Z", "x": 1}),
        json.dumps({"kind": "render", "shard": 1, "through": "2026-10-17", "now": "2026-10-17T00:30:00Z"}),
    ],
)
def test_anything_else_is_a_poisoned_message(body):
    with pytest.raises(DomainValidationError):
        SweepWork.from_message(body)


@pytest.fixture(scope="module")
def parse_scheduled():  # type: ignore[no-untyped-def]
    """How the sweep's handler reads its scheduled event (the event's ``time`` is the run's now)."""
    handler = importlib.import_module("functions.overdue_sweep.handler")
    return lambda event: handler.parse(event=event, model=handler.EventBridgeModel)


def scheduled(source: str = "aws.scheduler", **overrides: object) -> dict[str, object]:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event",
        "source": source,
        "account": "123456789012",
        "time": "2026-10-17T00:30:00Z",
        "region": "ap-south-1",
        "resources": [],
        "detail": {},
    } | overrides


@pytest.mark.parametrize("source", ["aws.scheduler", "aws.events"])
def test_the_scheduled_event_s_time_is_now(parse_scheduled, source):
    assert parse_scheduled(scheduled(source)).time == NOW


@pytest.mark.parametrize("event", [{}, {k: v for k, v in scheduled().items() if k != "time"}])
def test_an_event_without_its_time_is_refused_rather_than_run_on_the_wall_clock(parse_scheduled, event):
    with pytest.raises(ValidationError):
        parse_scheduled(event)


def test_a_time_without_a_zone_is_refused_before_any_work_is_planned():
    with pytest.raises(ValidationError):
        SweepWork(shard=0, through=date(2026, 10, 17), now=datetime(2026, 10, 17, 0, 30))
