"""One source of truth for dependencies: pyproject.toml → uv.lock → shared/requirements.txt (the layer).

pyproject.toml pins the top-level packages; uv.lock pins the whole graph with hashes and is what
`make` installs; shared/requirements.txt, what `sam build` installs into the layer, is the runtime
part of the lock and nothing else. tools/*.txt lock the tools that live in their own environments.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_wheel_filename

from infra import requirements

ROOT = requirements.ROOT
PROJECT = tomllib.loads(requirements.PYPROJECT.read_text(encoding="utf-8"))["project"]
REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(?P<version>\S+?)(?:\s*;\s*(?P<marker>.+?))?\s*\\?$"
)
TOOLS = sorted(path.stem for path in (ROOT / "tools").glob("*.in"))


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirements(text: str) -> dict[str, dict[str, Any]]:
    """name → {version, markers, hashes} of a `--generate-hashes` requirements file."""
    parsed: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            assert current is not None, line
            current["hashes"].add(stripped.removeprefix("--hash=").rstrip(" \\"))
            continue
        match = REQUIREMENT.match(stripped)
        assert match, f"not a pinned requirement: {line!r}"
        current = parsed.setdefault(
            normalise(match["name"]), {"versions": set(), "markers": set(), "hashes": set()}
        )
        current["versions"].add(match["version"])
        current["markers"].add(match["marker"])
    return parsed


def test_every_runtime_and_dev_dependency_is_pinned_exactly() -> None:
    for dependency in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]:
        assert "==" in dependency, dependency


def test_lock_is_up_to_date_with_pyproject() -> None:
    # uv checks the lock against pyproject.toml without resolving anything anew (--offline).
    command = [str(requirements.uv_binary()), "lock", "--check", "--offline", "--quiet"]
    result = subprocess.run(
        [*command, "--python", sys.executable], capture_output=True, text=True, check=False, cwd=ROOT
    )

    assert result.returncode == 0, (
        "uv.lock is out of date with pyproject.toml: run `make lock`\n" + result.stderr
    )


def versions(packages: list[dict[str, Any]]) -> set[str]:
    return {package["version"] for package in packages}


def runtime_closure(locked: dict[str, list[dict[str, Any]]]) -> set[str]:
    """The lock's packages reachable from the project's runtime dependencies (extras followed)."""
    (project,) = locked["invoicing"]
    todo = [(dep["name"], tuple(dep.get("extra", []))) for dep in project["dependencies"]]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for package in locked[name]:
            dependencies = list(package.get("dependencies", []))
            for extra in extras:
                dependencies += package.get("optional-dependencies", {}).get(extra, [])
            todo += [(dep["name"], tuple(dep.get("extra", []))) for dep in dependencies]
    return {name for name, _ in seen}


def test_lock_records_pyprojects_pins() -> None:
    locked = requirements.locked_packages()
    (project,) = locked["invoicing"]
    declared = {normalise(entry["name"]): entry for entry in project["metadata"]["requires-dist"]}

    for dependency in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]:
        name, _, version = dependency.partition("==")
        name = normalise(name.split("[")[0])
        assert declared[name]["specifier"] == f"=={version}", dependency
        assert versions(locked[name]) == {version}, dependency


def test_layer_requirements_are_exported_from_the_lock() -> None:
    # Byte for byte what `uv export` of the lock's runtime part gives (`make lock` wrote it).
    assert requirements.LAYER_REQUIREMENTS.read_text(encoding="utf-8") == requirements.expected(), (
        "shared/requirements.txt is not what uv.lock exports: run `make lock`"
    )


def test_layer_requirements_are_the_locked_runtime_graph_with_hashes() -> None:
    # Given
    locked = requirements.locked_packages()
    layer = parse_requirements(requirements.LAYER_REQUIREMENTS.read_text(encoding="utf-8"))

    # Then: exactly the packages the runtime dependencies pull in (no dev-only package ships) ...
    assert set(layer) == runtime_closure(locked)
    # ... each at the lock's version, with the lock's hashes for every platform (the layer is arm64)
    for name, entry in layer.items():
        assert entry["versions"] == versions(locked[name]), name
        locked_hashes = {digest for package in locked[name] for digest in requirements.hashes(package)}
        assert entry["hashes"] and entry["hashes"] <= locked_hashes, name
    # ... and the top-level ones at pyproject's pins
    for dependency in PROJECT["dependencies"]:
        name, _, version = dependency.partition("==")
        assert layer[normalise(name.split("[")[0])]["versions"] == {version}, dependency


def loads_on_lambda(wheel: str) -> bool:
    """Whether Lambda's python3.13 on arm64 (Amazon Linux 2023, glibc 2.34) can install this wheel."""
    for tag in parse_wheel_filename(wheel)[3]:
        abi3 = tag.abi == "abi3" and tag.interpreter.startswith("cp3") and int(tag.interpreter[3:]) <= 13
        interpreter = tag.interpreter in {"py3", "py313", "cp313"} or abi3
        glibc = re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", tag.platform)
        platform = tag.platform in {"any", "manylinux2014_aarch64"} or (
            glibc is not None and (int(glibc[1]), int(glibc[2])) <= (2, 34)
        )
        if interpreter and tag.abi in {"none", "abi3", "cp313"} and platform:
            return True
    return False


def test_every_layer_package_has_a_wheel_for_lambda_arm64_cp313() -> None:
    # sam build fetches the layer's wheels for arm64 (only pure-Python packages may come as sdists).
    locked = requirements.locked_packages()
    layer = parse_requirements(requirements.LAYER_REQUIREMENTS.read_text(encoding="utf-8"))

    for name in layer:
        wheels = [Path(wheel["url"]).name for package in locked[name] for wheel in package.get("wheels", [])]
        assert any(loads_on_lambda(wheel) for wheel in wheels), f"{name}: no wheel for Lambda in {wheels}"


def test_make_bootstraps_the_locked_uv_with_its_hashes() -> None:
    locked = requirements.locked_packages()
    requirement = requirements.uv_requirement()

    assert normalise("uv") in {normalise(d.split("==")[0]) for d in PROJECT["optional-dependencies"]["dev"]}
    (uv,) = locked["uv"]
    assert requirement.startswith(f"uv=={uv['version']} --hash=sha256:")
    assert requirement.count("--hash=") == len(requirements.hashes(uv))


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_lock_pins_its_tool_with_hashes(tool: str) -> None:
    # Given
    wanted = [
        line.split("#")[0].strip()
        for line in (ROOT / "tools" / f"{tool}.in").read_text(encoding="utf-8").splitlines()
        if line.split("#")[0].strip()
    ]
    locked = parse_requirements((ROOT / "tools" / f"{tool}.txt").read_text(encoding="utf-8"))

    # Then
    for requirement in wanted:
        name, _, version = requirement.partition("==")
        assert version, f"tools/{tool}.in: pin {requirement!r} exactly"
        assert locked[normalise(name)]["versions"] == {version}, f"tools/{tool}.txt is stale: run `make lock`"
    for name, entry in locked.items():
        assert entry["hashes"], f"tools/{tool}.txt: {name} has no hash"
