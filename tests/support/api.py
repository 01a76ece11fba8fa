"""What a test reads back from the API function: one answer type for every integration suite."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    """An HTTP API answer as ``lambda_handler`` returned it (status, headers, raw body)."""

    status: int
    headers: dict[str, str]
    text: str

    @classmethod
    def of(cls, result: dict[str, Any]) -> Reply:
        """From the handler's result (API Gateway's payload format 2.0)."""
        return cls(
            status=result["statusCode"], headers=result.get("headers") or {}, text=result.get("body") or ""
        )

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def body(self) -> Any:
        """The parsed JSON body; ``None`` when there is none."""
        return json.loads(self.text) if self.text else None

    @property
    def error(self) -> dict[str, Any]:
        """The contract's error body (``code``, ``message``, ``details``), checked for its shape."""
        body = self.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
        return body["error"]
