"""The contract's error body, shared by every HTTP function (no pydantic: cheap to import)."""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "details": [{"loc": [...], "msg": "..."}]}}`` (api.md)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [
                {"loc": list(detail.get("loc", [])), "msg": str(detail.get("msg", ""))}
                for detail in details or []
                if isinstance(detail, dict)
            ],
        }
    }
