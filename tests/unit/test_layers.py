"""Imports point down only (README, Layout): the package's layers and the handlers above them.

Read from the source with ``ast`` (nothing is imported), so a new import that points up, or a
cycle between two layers, fails here before anyone has to notice it in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "shared" / "invoicing"

# What each part of the package may import from the others (besides itself).
ALLOWED = {
    "domain": set(),
    "observability": set(),
    "config": {"domain"},
    "contracts": {"domain"},
    "repository": {"domain", "observability"},
    "services": {"domain", "observability"},
    "adapters": {"domain", "contracts", "config", "observability"},
    "http": {"domain", "contracts", "observability"},
    "snapstart": {"adapters", "observability"},
    "wiring": {
        "domain",
        "config",
        "contracts",
        "services",
        "repository",
        "adapters",
        "observability",
        "snapstart",
    },
}
# The Lambda handlers (and the API's routers): never the repository or an adapter directly.
HANDLERS_MAY_NOT = {"repository", "adapters"}


def _imported_parts(path: Path) -> set[str]:
    """The top-level parts of ``invoicing`` that ``path`` imports (``invoicing.x.y`` → ``x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = (
                [f"invoicing.{alias.name}" for alias in node.names]
                if node.module == "invoicing"
                else [node.module]
            )
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        found |= {m.split(".")[1] for m in modules if m.startswith("invoicing.")}
    return found


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else relative[0].removesuffix(".py")


def test_every_part_of_the_package_is_placed_in_a_layer() -> None:
    parts = {_part(path) for path in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts <= set(ALLOWED), f"place {sorted(parts - set(ALLOWED))} in ALLOWED"


def test_the_package_imports_point_down_only() -> None:
    upward = [
        f"{path.relative_to(REPO)} imports invoicing.{target}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (part := _part(path)) != "__init__"
        for target in sorted(_imported_parts(path) - {part} - ALLOWED[part])
    ]
    assert upward == []


def test_handlers_reach_storage_and_outside_systems_only_through_services() -> None:
    handlers = sorted((REPO / "functions").rglob("*.py"))
    assert len(handlers) >= 10
    offending = [
        f"{path.relative_to(REPO)} imports invoicing.{target}"
        for path in handlers
        for target in sorted(_imported_parts(path) & HANDLERS_MAY_NOT)
    ]
    assert offending == []
