"""What integration tests send to and read back from the API function: one valid create body and one
answer type for every suite."""

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


def create_body(account_id: str = "acc_1", **overrides: Any) -> dict[str, Any]:
    """A valid create body: intra-state (Maharashtra) customer, two lines (₹900 + ₹45.50)."""
    body: dict[str, Any] = {
        "account_id": account_id,
        "customer": {
            "name": "Acme Analytics LLP",
            "email": "billing@acme.example",
            "gstin": "27AAPFU0939F1ZV",
            "state_code": "27",
            "address": {
                "line1": "4th Floor, Example Towers",
                "city": "Mumbai",
                "state": "Maharashtra",
                "postal_code": "400001",
                "country": "IN",
            },
        },
        "billing_period": {"start": "2026-09-01", "end": "2026-09-30"},
        "line_items": [
            {
                "resource_type": "vm",
                "resource_name": "vm-web-1",
                "description": "General purpose VM",
                "usage_start": "2026-09-01T00:00:00Z",
                "usage_end": "2026-09-30T18:29:00Z",
                "quantity": "720",
                "unit": "hour",
                "unit_rate": "1.25",
            },
            {
                "resource_type": "storage",
                "resource_name": "vol-data",
                "usage_start": "2026-09-01T00:00:00+05:30",
                "usage_end": "2026-09-30T23:59:00+05:30",
                "quantity": "0.5",
                "unit": "TB-month",
                "unit_rate": "91",
            },
        ],
        "description": "Cloud usage September 2026",
    }
    return body | overrides
