"""Lambda SnapStart: what a snapshot may carry into the environments resumed from it, and what not.

With SnapStart (template.yaml, parameter ``SnapStart``) Lambda initialises a function once per
published version, snapshots the environment, and resumes every new environment of that version
from the snapshot: all of them start with the same memory. Through the runtime hooks of Lambda's
Python runtime (``snapshot_restore_py``):

- **before the snapshot** the function's primers run (the API includes every router, so a resumed
  environment has already imported what its first request needs: the work moved out of the cold
  import is done once, at publish time), then everything below is dropped, so no client,
  connection or secret is in the snapshot at all;
- **after each restore**:

  - the ``random`` module is seeded afresh: every resumed environment would otherwise draw the
    same "random" numbers (retry jitter, ``services.retry.Backoff``). Ids and tokens come from
    ``secrets``/``os.urandom``, which read the operating system and are unaffected;
  - every cached boto3 client and session (``adapters.aws``) and everything built on them (the
    wiring's cached stores and services) is forgotten: a connection opened before the snapshot is
    dead or shared, and credentials are resolved afresh;
  - cached secrets are forgotten (the Powertools Parameters provider of ``adapters.secrets`` and
    Powertools' default providers): their ``max_age`` counts from when they were read, which may be
    long before this restore, and a rotated secret must not live on in a snapshot.

Outside Lambda's runtime (tests, ``make run``) there is no ``snapshot_restore_py``: nothing is
registered, and :func:`before_snapshot` / :func:`after_restore` are plain functions tests call.
"""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Callable

_primers: list[Callable[[], object]] = []
_registered = False
_lock = threading.Lock()


def prime(step: Callable[[], object]) -> None:
    """Run ``step`` before the snapshot is taken (work every first request would otherwise do)."""
    _primers.append(step)


def before_snapshot() -> None:
    for step in _primers:
        step()
    forget_connections_and_secrets()


def after_restore() -> None:
    random.seed(os.urandom(32))
    forget_connections_and_secrets()


def forget_connections_and_secrets() -> None:
    """Drop every cached client, connection and secret; they are built again on first use."""
    for name, module in list(sys.modules.items()):
        # Each wiring module's reset forgets its services and (through wiring.common) the tables,
        # adapters and secrets provider they were built from; the clients go just below.
        if name.startswith("invoicing.wiring.") and callable(getattr(module, "reset", None)):
            module.reset()
    from invoicing.adapters import aws, secrets

    secrets.reset()
    aws.reset()
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()


def register() -> bool:
    """Register the hooks with Lambda's runtime, once; ``False`` where there is none."""
    global _registered
    with _lock:
        if _registered:
            return True
        try:
            # Lambda's Python runtime's own module: no package, no stubs.
            from snapshot_restore_py import (  # type: ignore[import-not-found]
                register_after_restore,
                register_before_snapshot,
            )
        except ImportError:  # not Lambda's Python runtime: nothing is ever snapshotted
            return False
        register_before_snapshot(before_snapshot)
        register_after_restore(after_restore)
        _registered = True
        return True
