"""One cached boto3 client per service, with explicit timeouts and standard retries.

boto3 honours ``AWS_ENDPOINT_URL`` itself, so the local stack points every client at the
embedded moto server without any local-only code here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
)


@cache
def _session() -> boto3.session.Session:
    """One session per container: each new session reloads botocore's service models."""
    return boto3.session.Session()


@cache
def client(service_name: str) -> Any:
    # boto3-stubs types client() one literal service name at a time; this cache takes any name.
    return _session().client(service_name, config=_CONFIG)  # type: ignore[call-overload]


def reset() -> None:
    """Forget the session and clients (tests that switch AWS endpoints or credentials)."""
    client.cache_clear()
    _session.cache_clear()
