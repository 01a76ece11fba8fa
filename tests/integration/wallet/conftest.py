"""Prepaid wallets through the functions' own ``lambda_handler``s on the shared moto stack: the API,
the Razorpay webhook (the stand-in's signed deliveries), the billing function (its schedule and its
queue), the outbox dispatcher and the PDF renderer (``effects``). Razorpay is the stand-in behind
the real adapter (``razorpay``); the functions' clock is the test clock (``clock``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from infra.local.razorpay_standin import WebhookDelivery
from invoicing.domain.numbering import IST
from tests.conftest import Clock
from tests.events.http import OPERATOR, customer, http_event
from tests.support.functions import API, WEBHOOK, Functions
from tests.support.razorpay import RecordingStandIn
from tests.support.stack import MotoStack

BILLING = "BillingRunFunction"
METERING = {"sub": "metering-service", "scope": "usage:write"}
SEPTEMBER = datetime(2026, 9, 1, tzinfo=IST)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def customer_body(*, intra_state: bool = True) -> dict[str, Any]:
    if intra_state:
        return {
            "name": "Vyom Analytics LLP",
            "email": "accounts@vyom.example",
            "gstin": "27AAPFU0939F1ZV",
            "state_code": "27",
            "address": {
                "line1": "12 FC Road",
                "city": "Pune",
                "state": "Maharashtra",
                "postal_code": "411004",
            },
        }
    return {
        "name": "Kavach AI Labs",
        "email": "finance@kavach.example",
        "gstin": "24AABCJ1087G1ZT",
        "state_code": "24",
        "address": {
            "line1": "Sindhu Bhavan Marg",
            "city": "Ahmedabad",
            "state": "Gujarat",
            "postal_code": "380059",
        },
    }


@dataclass
class Wallets:
    functions: Functions
    standin: RecordingStandIn
    effects: MotoStack
    clock: Clock

    # ------------------------------------------------------------------------------- the API
    def call(self, method: str, path: str, *, claims: dict[str, str] | None, **kwargs: Any) -> Reply:
        result = self.functions.invoke(API, http_event(method, path, claims=claims, **kwargs))
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "")

    def operator(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=OPERATOR, **kwargs)

    def customer(self, account: str, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=customer(account), **kwargs)

    def profile(self, account: str = "acc_1", *, intra_state: bool = True, model: str = "prepaid") -> None:
        body = {"customer": customer_body(intra_state=intra_state), "billing_model": model}
        reply = self.operator("PUT", f"/accounts/{account}/billing-profile", body=body)
        assert reply.status == 200, reply.text

    def top_up(self, account: str = "acc_1", amount: int = 500_000, **kwargs: Any) -> dict[str, Any]:
        reply = self.customer(
            account, "POST", "/wallet/top-ups", body={"account_id": account, "amount": amount}, **kwargs
        )
        assert reply.status == 201, reply.text
        return reply.json()

    def top_up_of(self, top_up_id: str) -> dict[str, Any]:
        reply = self.operator("GET", f"/wallet/top-ups/{top_up_id}")
        assert reply.status == 200, reply.text
        return reply.json()

    def balance(self, account: str = "acc_1") -> int:
        reply = self.customer(account, "GET", "/wallet/balance")
        assert reply.status == 200, reply.text
        return reply.json()["advance_balance"]

    # ------------------------------------------------------------------------------ Razorpay
    def webhook(self, delivery: WebhookDelivery) -> Reply:
        event = http_event(
            "POST", "/webhooks/razorpay", claims=None, body=delivery.body, headers=delivery.headers
        )
        result = self.functions.invoke(WEBHOOK, event)
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "")

    def pay(self, top_up: dict[str, Any], method: str = "upi") -> list[str]:
        """Pay the top-up's link at the stand-in, deliver its webhooks; their answers' statuses."""
        replies = [self.webhook(d) for d in self.standin.pay_link(top_up["razorpay_payment_link_id"], method)]
        assert all(r.status == 200 for r in replies), [r.text for r in replies]
        return [r.json()["status"] for r in replies]

    def paid(self, account: str = "acc_1", amount: int = 500_000) -> dict[str, Any]:
        top_up = self.top_up(account, amount)
        self.pay(top_up)
        return self.top_up_of(top_up["id"])

    # --------------------------------------------------------------------------- the billing run
    def usage(self, account: str = "acc_1", hours: int = 10) -> None:
        price = {
            "description": "NVIDIA H100 GPU",
            "resource_type": "pod",
            "unit": "GPU-hour",
            "unit_rate": "245.50",
            "effective_from": "2026-01-01",
        }
        assert self.operator("PUT", "/prices/gpu.h100.hour", body=price).status == 200
        records = [
            {
                "id": f"{account}-h{n}",
                "account_id": account,
                "sku": "gpu.h100.hour",
                "resource_id": "pod-1",
                "resource_name": "finetune-70b",
                "quantity": "1",
                "start": (SEPTEMBER + timedelta(hours=n)).isoformat(),
                "end": (SEPTEMBER + timedelta(hours=n + 1)).isoformat(),
            }
            for n in range(hours)
        ]
        reply = self.call("POST", "/usage", claims=METERING, body={"records": records})
        assert reply.status == 200, reply.text

    def run_month(self) -> dict[str, Any]:
        """September's run, as its schedule starts it on 1 October at 03:00 IST, its queue drained."""
        run = self.functions.scheduled(BILLING, at=datetime(2026, 10, 1, 3, 0, tzinfo=IST))
        self.functions.feed(BILLING, self.effects.env["BILLING_QUEUE_URL"])
        reply = self.operator("GET", f"/billing-runs/{run['id']}")
        assert reply.status == 200, reply.text
        return reply.json()


@pytest.fixture
def wallets(
    resources: dict[str, str],
    functions: Functions,
    razorpay: RecordingStandIn,
    effects: MotoStack,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Wallets]:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    _forget_wallet_services()  # another test may have made them on tables since forgotten
    # payments are made when the functions think it is (the ledger books them on that day)
    monkeypatch.setattr(razorpay, "_clock", lambda: clock.current.timestamp())
    yield Wallets(functions, razorpay, effects, clock)
    _forget_wallet_services()


def _forget_wallet_services() -> None:
    from invoicing.wiring import wallet, webhook

    wallet.forget()
    webhook.payment_service.cache_clear()
    webhook._receiver.cache_clear()
