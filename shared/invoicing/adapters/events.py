"""Domain events to the EventBridge bus (source ``invoicing``), after the state change commits."""

from __future__ import annotations

import json
from typing import Any

from invoicing.domain.invoice import Invoice

SOURCE = "invoicing"


def event_detail(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice_id": invoice.id,
        "account_id": invoice.account_id,
        "invoice_number": invoice.invoice_number,
        "status": invoice.status.value,
        "amount_due": invoice.amount_due,
        "version": invoice.version,
    }


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any) -> None:
        self._bus = bus_name
        self._client = client

    def publish(self, detail_type: str, invoice: Invoice) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(event_detail(invoice)),
                    "EventBusName": self._bus,
                    "Resources": [],
                }
            ]
        )
        if response.get("FailedEntryCount"):
            failed = response["Entries"][0]
            raise RuntimeError(f"EventBridge refused {detail_type}: {failed.get('ErrorCode')}")
