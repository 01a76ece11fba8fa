"""Domain events to the EventBridge bus (source ``invoicing``), dispatched from the outbox."""

from __future__ import annotations

import json
from typing import Any

from invoicing.domain.events import SOURCE


class EventBridgePublisher:
    """``services.ports.EventPublisher`` on an EventBridge bus."""

    def __init__(self, bus_name: str, client: Any) -> None:
        self._bus = bus_name
        self._client = client

    def publish(self, detail_type: str, detail: dict[str, Any], *, event_id: str) -> None:
        """One event; ``detail.event_id`` is stable across repeats, for consumers to drop them."""
        response = self._client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps({**detail, "event_id": event_id}),
                    "EventBusName": self._bus,
                    "Resources": [],
                }
            ]
        )
        if response.get("FailedEntryCount"):
            failed = response["Entries"][0]
            raise RuntimeError(f"EventBridge refused {detail_type}: {failed.get('ErrorCode')}")
