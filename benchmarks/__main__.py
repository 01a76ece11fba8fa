"""Run every benchmark module (or those named on the command line) and record the figures."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import benchmarks

RESULTS = Path(__file__).with_name("results.json")


def main(selected: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if n in selected or n.removeprefix("bench_") in selected]
    results: dict[str, float] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in names:
        figures = importlib.import_module(f"benchmarks.{name}").run()
        results.update(figures)
        RESULTS.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    width = max(map(len, results), default=10)
    print(f"{'benchmark':<{width}}  value")
    for key, value in sorted(results.items()):
        print(f"{key:<{width}}  {value:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
