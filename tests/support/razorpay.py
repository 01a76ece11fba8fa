"""Route the real ``razorpay`` SDK to the local Razorpay stand-in, in-process, through ``responses``.

    from tests.support.razorpay import razorpay_standin  # a fixture: import it into the test module

    def test_something(razorpay_standin):
        client = razorpay.Client(auth=(razorpay_standin.key_id, KEY_SECRET))
        client.invoice.create({...})                       # answered by the stand-in
        deliveries = razorpay_standin.pay(invoice_id)      # signed webhooks, ready to feed a handler

or, without the fixture, ``with standin_responses() as standin: ...``. Every request to
``https://api.razorpay.com/v1/...`` (or ``base_url``) is forwarded to a fresh
:class:`~infra.local.razorpay_standin.RazorpayStandIn`; any other URL fails as unmocked. The
stand-in's ``calls`` (:class:`Calls`) lists what the SDK sent; ``standin.fail_next("issue",
"timeout")`` makes the next issue time out as ``requests`` would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses

from infra.local.razorpay_standin import (
    InjectedConnectionError,
    InjectedTimeout,
    RazorpayStandIn,
    operation_of,
)

KEY_ID = "rzp_test_local"
KEY_SECRET = "local_key_secret"
WEBHOOK_SECRET = "local_webhook_secret"
PREVIOUS_WEBHOOK_SECRET = "local_webhook_secret_before_rotation"
API_BASE_URL = "https://api.razorpay.com"

_METHODS = (responses.GET, responses.POST, responses.PATCH, responses.PUT, responses.DELETE)


@dataclass(frozen=True)
class Call:
    """One request the SDK sent to the stand-in: its operation (``create``, ``issue``, ...), the
    path relative to ``base_url``, its headers and JSON body (``None`` without one)."""

    operation: str | None
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Calls(list[Call]):
    """Every request the stand-in was sent (in order), failed ones included."""

    def count(self, operation: str | None = None) -> int:  # type: ignore[override]
        return sum(1 for call in self if operation is None or call.operation == operation)


class RecordingStandIn(RazorpayStandIn):
    """The stand-in, with the list of calls it was sent."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calls = Calls()


def forward(standin: RazorpayStandIn, base_url: str = API_BASE_URL, calls: Calls | None = None) -> Any:
    """A ``responses`` callback that answers a prepared request with ``standin.handle`` (an injected
    timeout or connection failure is raised as ``requests`` raises it)."""
    prefix = urlsplit(base_url).path.rstrip("/")

    def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.url)
        path = url.path[len(prefix) :] if prefix and url.path.startswith(prefix) else url.path
        relative = path + (f"?{url.query}" if url.query else "")
        if calls is not None:
            body = json.loads(request.body) if request.body else None
            operation = operation_of(request.method, relative)
            calls.append(Call(operation, request.method, relative, dict(request.headers), body))
        try:
            return standin.handle(request.method, relative, dict(request.headers), request.body)
        except InjectedTimeout as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except InjectedConnectionError as exc:
            raise requests.exceptions.ConnectionError(str(exc)) from None

    return callback


@contextmanager
def standin_responses(
    *,
    key_id: str = KEY_ID,
    key_secret: str = KEY_SECRET,
    webhook_secret: str = WEBHOOK_SECRET,
    base_url: str = API_BASE_URL,
    mock: responses.RequestsMock | None = None,
    clock: Callable[[], float] | None = None,
) -> Iterator[RecordingStandIn]:
    """A fresh stand-in answering every ``{base_url}/v1/...`` request made through ``requests``.

    Pass ``mock`` to register on an already active ``responses.RequestsMock`` instead of starting one,
    and ``clock`` (epoch seconds) for the test's own time: what the stand-in stamps on payments and
    webhooks (their ``created_at``) then follows it instead of the wall clock.
    """
    timing = {"clock": clock} if clock is not None else {}
    standin = RecordingStandIn(key_id=key_id, key_secret=key_secret, webhook_secret=webhook_secret, **timing)
    pattern = re.compile(re.escape(base_url.rstrip("/")) + r"/v1/.*")

    def register(target: responses.RequestsMock) -> None:
        for method in _METHODS:
            target.add_callback(method, pattern, callback=forward(standin, base_url, standin.calls))

    if mock is not None:
        register(mock)
        yield standin
        return
    with responses.RequestsMock(assert_all_requests_are_fired=False) as started:
        register(started)
        yield standin


@pytest.fixture
def razorpay_standin() -> Iterator[RecordingStandIn]:
    """The SDK's default endpoint answered by a fresh stand-in (keys: ``KEY_ID``/``KEY_SECRET``)."""
    with standin_responses() as standin:
        yield standin
