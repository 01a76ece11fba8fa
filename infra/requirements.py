"""The lock, and the files derived from it.

``uv.lock`` pins the whole dependency graph of ``pyproject.toml`` (runtime and dev, for every
platform and Python the project supports, each file with its hash). ``make lock`` regenerates it
and exports ``shared/requirements.txt`` from it: the runtime part only, which ``sam build``
installs into the layer (linux arm64, cp313) and pip checks against the hashes.

    python -m infra.requirements --write   # shared/requirements.txt from uv.lock (make lock runs it)
    python -m infra.requirements --check   # exit 1 if shared/requirements.txt is not what uv.lock exports
    python -m infra.requirements --uv      # the locked uv as a hashed requirement: how `make` gets uv

Only the standard library at import time: ``--uv`` runs before anything is installed.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "uv.lock"
LAYER_REQUIREMENTS = ROOT / "shared" / "requirements.txt"
HEADER = (
    "# The layer's runtime dependencies, exported from uv.lock by `make lock`. Do not edit:\n"
    "# change pyproject.toml, then run `make lock`.\n"
)
# Runtime only (no extras: dev stays out of the layer), not the project itself (the layer ships
# shared/invoicing as source), every platform's hashes, read from the lock as it is.
EXPORT_ARGS = (
    "export", "--frozen", "--offline", "--no-dev", "--no-emit-project", "--no-header",
    "--format", "requirements-txt", "--quiet",
)  # fmt: skip


def uv_binary() -> Path:
    """The uv installed next to this interpreter (the project's .venv carries the locked uv)."""
    return Path(sys.executable).parent / "uv"


def expected() -> str:
    """What ``shared/requirements.txt`` must hold: ``uv export`` of the runtime part of ``uv.lock``."""
    result = subprocess.run(  # noqa: S603 - the project's own uv, fixed arguments
        [str(uv_binary()), *EXPORT_ARGS],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return HEADER + result.stdout


def locked_packages() -> dict[str, list[dict[str, Any]]]:
    """``uv.lock``'s packages by name (a name has several versions where the lock forks by Python)."""
    packages: dict[str, list[dict[str, Any]]] = {}
    for package in tomllib.loads(LOCK.read_text(encoding="utf-8"))["package"]:
        packages.setdefault(package["name"], []).append(package)
    return packages


def hashes(package: dict[str, Any]) -> list[str]:
    """Every hash the lock records for one package (its sdist and all its wheels)."""
    files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
    return [file["hash"] for file in files]


def uv_requirement() -> str:
    """The locked uv as a pip requirement with its hashes, for ``pip install --require-hashes``."""
    (package,) = locked_packages()["uv"]
    return f"uv=={package['version']} " + " ".join(f"--hash={digest}" for digest in hashes(package)) + "\n"


def main(argv: list[str]) -> int:
    if "--uv" in argv:
        sys.stdout.write(uv_requirement())
        return 0
    if "--write" in argv:
        LAYER_REQUIREMENTS.write_text(expected(), encoding="utf-8")
        return 0
    if LAYER_REQUIREMENTS.read_text(encoding="utf-8") != expected():
        print(f"{LAYER_REQUIREMENTS} is not what uv.lock exports: run `make lock`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
