"""What every integration test shares: the functions of template.yaml, the Razorpay stand-in behind
the real SDK adapter, the functions' clock, and what happened after the commits.

- ``functions``: load and invoke any function as the local stack does (tests/support/functions.py);
- ``razorpay``: the local Razorpay stand-in answering the SDK (``calls``, ``fail_next``, ``pay``);
- ``irp``: e-invoicing ``sandbox`` for every function, the GSP answered by the local IRP stand-in
  (on the functions' clock) through the real adapter; without it e-invoicing is ``off``;
- ``effects``: drains the outbox through the outbox dispatcher (``effects.drain_outbox()``), then
  shows the domain events on the bus, the e-mails SES sent and the render jobs queued;
- ``clock``: every function's clock for the test (starts at ``NOW``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import boto3
import pytest
import responses

from infra.local.irp_standin import IrpStandIn
from tests.support.functions import Functions
from tests.support.functions import functions as loaded_functions
from tests.support.irp import BASE_URL as IRP_BASE_URL
from tests.support.irp import CREDENTIALS as IRP_CREDENTIALS
from tests.support.irp import irp_standin_responses, new_standin
from tests.support.razorpay import RecordingStandIn, standin_responses
from tests.support.stack import MotoStack


@pytest.fixture
def functions(resources: dict[str, str], clock: Any) -> Functions:
    return loaded_functions()


@pytest.fixture
def http_mock() -> Iterator[responses.RequestsMock]:
    """The test's one ``responses`` mock: every outside HTTP API's stand-in registers on it."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def razorpay(http_mock: responses.RequestsMock, clock: Any) -> Iterator[RecordingStandIn]:
    """Razorpay's stand-in on the functions' clock: payments and webhooks carry the test's time."""
    with standin_responses(mock=http_mock, clock=lambda: clock.current.timestamp()) as standin:
        yield standin


# Retries within seconds: moto delays a queued retry for real (SQS DelaySeconds).
IRP_ENVIRONMENT = {
    "EINVOICING": "sandbox",
    "GSP_BASE_URL": IRP_BASE_URL,
    "EINVOICE_RETRY_BASE_SECONDS": "1",
    "EINVOICE_RETRY_CAP_SECONDS": "4",
}


@pytest.fixture
def irp(resources: dict[str, str], http_mock: responses.RequestsMock, clock: Any) -> Iterator[IrpStandIn]:
    """E-invoicing on: the GSP secret holds the stand-in's credentials, every function's settings
    say ``sandbox``, and the functions are wired again (and again after the test, back to ``off``)."""
    boto3.client("secretsmanager").put_secret_value(
        SecretId=resources["GSP_SECRET_NAME"], SecretString=json.dumps(asdict(IRP_CREDENTIALS))
    )
    before = {name: os.environ.get(name) for name in IRP_ENVIRONMENT}
    os.environ.update(IRP_ENVIRONMENT)
    _rewire()
    try:
        with irp_standin_responses(new_standin(clock=clock), mock=http_mock) as standin:
            yield standin
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _rewire()


def _rewire() -> None:
    """Every function's wiring forgets its settings, secrets and services (read again on next use)."""
    from invoicing.wiring import api, billing, einvoice, outbox, pdf, sweep, webhook

    for wiring in (api, billing, einvoice, outbox, pdf, sweep, webhook):
        wiring.reset()


@pytest.fixture
def effects(resources: dict[str, str], moto_stack: MotoStack, functions: Functions) -> MotoStack:
    return moto_stack
