"""What every integration test shares: the functions of template.yaml, the Razorpay stand-in behind
the real SDK adapter, the functions' clock, and what happened after the commits.

- ``functions``: load and invoke any function as the local stack does (tests/support/functions.py);
- ``razorpay``: the local Razorpay stand-in answering the SDK (``calls``, ``fail_next``, ``pay``);
- ``effects``: drains the outbox through the outbox dispatcher (``effects.drain_outbox()``), then
  shows the domain events on the bus, the e-mails SES sent and the render jobs queued;
- ``clock``: every function's clock for the test (starts at ``NOW``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.functions import Functions
from tests.support.functions import functions as loaded_functions
from tests.support.razorpay import RecordingStandIn, standin_responses
from tests.support.stack import MotoStack


@pytest.fixture
def functions(resources: dict[str, str], clock: Any) -> Functions:
    return loaded_functions()


@pytest.fixture
def razorpay() -> Iterator[RecordingStandIn]:
    with standin_responses() as standin:
        yield standin


@pytest.fixture
def effects(resources: dict[str, str], moto_stack: MotoStack, functions: Functions) -> MotoStack:
    return moto_stack
