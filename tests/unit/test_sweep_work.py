"""Fan-out messages and the scheduled event the sweep's handler accepts."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from invoicing.domain.errors import DomainValidationError
from invoicing.repository.records import SWEEP_SHARDS
from invoicing.services.sweep import SweepWork

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
def handler():  # type: ignore[no-untyped-def]
    return importlib.import_module("functions.overdue_sweep.handler")


@pytest.mark.parametrize("source", ["aws.scheduler", "aws.events"])
def test_the_scheduled_event_s_time_is_now(handler, source):
    event = {"detail-type": "Scheduled Event", "source": source, "time": "2026-10-17T00:30:00Z"}
    assert handler.ScheduledEvent.model_validate(event).time == NOW


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail-type": "Scheduled Event", "source": "aws.scheduler"},
        {"detail-type": "Scheduled Event", "source": "aws.scheduler", "time": "2026-10-17T00:30:00"},
        {"detail-type": "InvoicePaid", "source": "invoicing", "time": "2026-10-17T00:30:00Z"},
    ],
)
def test_other_events_are_refused_rather_than_run_on_the_wall_clock(handler, event):
    with pytest.raises(ValidationError):
        handler.ScheduledEvent.model_validate(event)
