"""Keep ``shared/requirements.txt`` (what ``sam build`` installs into the layer) equal to the
runtime dependencies pinned in ``pyproject.toml``: one list, one source of truth.

    python -m infra.requirements --write   # regenerate
    python -m infra.requirements --check   # exit 1 if it drifted
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LAYER_REQUIREMENTS = ROOT / "shared" / "requirements.txt"
HEADER = "# Generated from pyproject.toml by `python -m infra.requirements --write`. Do not edit.\n"


def expected() -> str:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return HEADER + "".join(f"{dep}\n" for dep in dependencies)


def main(argv: list[str]) -> int:
    if "--write" in argv:
        LAYER_REQUIREMENTS.write_text(expected())
        return 0
    if LAYER_REQUIREMENTS.read_text() != expected():
        print(f"{LAYER_REQUIREMENTS} is out of date: run python -m infra.requirements --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
