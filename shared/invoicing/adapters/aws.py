"""One cached boto3 client per service, with explicit timeouts and standard retries.

boto3 honours ``AWS_ENDPOINT_URL`` itself, so the local stack points every client at the
embedded moto server without any local-only code here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader, create_loader

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
)


@cache
def _loader() -> Loader:
    """botocore's reader of its service models, for the life of the process. It keeps what it
    parsed (~1 MB of JSON per service), so a session made after ``reset`` (a SnapStart restore, a
    test that changed the environment) reuses it instead of parsing the files again; it holds
    no credentials, connections or configuration."""
    return create_loader()


@cache
def _session() -> boto3.session.Session:
    """One session per container (credentials and region are read when it is made)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    session = boto3.session.Session(botocore_session=core)
    paths = _loader().search_paths  # boto3 adds its own data folder to the loader of each session
    paths[:] = list(dict.fromkeys(paths))
    return session


@cache
def client(service_name: str) -> Any:
    # boto3-stubs types client() one literal service name at a time; this cache takes any name.
    return _session().client(service_name, config=_CONFIG)  # type: ignore[call-overload]


def reset() -> None:
    """Forget the session and clients (tests that switch AWS endpoints or credentials)."""
    client.cache_clear()
    _session.cache_clear()
