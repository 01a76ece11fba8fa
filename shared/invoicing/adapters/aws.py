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
def client(service_name: str) -> Any:
    return boto3.session.Session().client(service_name, config=_CONFIG)


def reset() -> None:
    """Forget cached clients (tests that switch AWS endpoints between cases)."""
    client.cache_clear()
