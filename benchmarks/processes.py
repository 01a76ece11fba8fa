"""Benchmarks that measure a function the way Lambda holds it: AWS (moto's server) runs in this
process, and each step (prepare, seed, measure) in a fresh interpreter of its own, so the measured
one holds only the handler and its clients. Nothing here has side effects on import (unlike
``benchmarks.support``, which puts moto in-process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    """This process's own high-water RSS. ``ru_maxrss`` is not: on Linux it carries the parent's
    high-water mark across fork+exec (a big ``make bench`` parent made a 100 MB child read 2.5 GB).
    ``VmHWM`` belongs to the process's own memory map, which exec replaces."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: the best available

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_steps(
    module: str, steps: Sequence[str], *, prefix: str, env: Mapping[str, str] | None = None
) -> dict[str, float]:
    """``python -m {module} {step} {folder}`` for each step against a fresh moto server, sharing one
    temporary folder; the figures are the JSON the last step prints on its last line."""
    import logging
    import socket

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as folder:
            out = ""
            for step in steps:
                out = _child(module, step, Path(folder), endpoint, env or {})
            figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
            return figures
    finally:
        server.stop()


def _child(module: str, step: str, folder: Path, endpoint: str, extra: Mapping[str, str]) -> str:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_REGION": "ap-south-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        **extra,
        "PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)]),
    }
    out = subprocess.run(
        [sys.executable, "-m", module, step, str(folder)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
    )
    return out.stdout
