"""The README's billing tour over real HTTP against the stack without demo data (``bare_stack``: no
demo account has usage to bill, so the run invoices the tour's account alone): put a price, post
usage, run the month through ``POST /_local/schedules/billing-run``, see the invoice and its PDF."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from infra.local.tokens import make_token
from invoicing.domain.billing import period_bounds, previous_period

pytestmark = pytest.mark.e2e

ACCOUNT = "acc_tour"


def _unsigned(claims: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.x"


def test_put_a_price_post_usage_run_the_month_and_see_the_invoice(bare_stack):
    api = bare_stack.url
    operator = {"Authorization": f"Bearer {make_token(ACCOUNT, admin=True)}"}
    customer = {"Authorization": f"Bearer {make_token(ACCOUNT)}"}
    metering = {"Authorization": f"Bearer {_unsigned({'sub': 'metering', 'scope': 'usage:write'})}"}
    period = previous_period(datetime.now(UTC))
    start, end = period_bounds(period)

    price = {
        "description": "NVIDIA H100 80GB GPU",
        "resource_type": "pod",
        "unit": "GPU-hour",
        "unit_rate": "389",
        "effective_from": "2025-04-01",
    }
    assert requests.put(f"{api}/prices/gpu.h100.hour", json=price, headers=operator, timeout=30).ok
    profile = {
        "customer": {
            "name": "Tour Labs LLP",
            "email": "tour@example.com",
            "gstin": "29AAPFU0939F1ZR",
            "state_code": "29",
            "address": {
                "line1": "1 MG Road",
                "city": "Bengaluru",
                "state": "Karnataka",
                "postal_code": "560001",
            },
        },
        "billing_model": "postpaid",
    }
    put = requests.put(
        f"{api}/accounts/{ACCOUNT}/billing-profile", json=profile, headers=operator, timeout=30
    )
    assert put.ok, put.text
    records = [
        {
            "id": f"tour-{h}",
            "account_id": ACCOUNT,
            "sku": "gpu.h100.hour",
            "resource_id": "pod-h100",
            "resource_name": "finetune-70b",
            "quantity": "1",
            "start": (start + timedelta(hours=h)).isoformat(),
            "end": (start + timedelta(hours=h + 1)).isoformat(),
        }
        for h in range(int((end - start).total_seconds() // 3600))
    ]
    posted = requests.post(f"{api}/usage", json={"records": records[:500]}, headers=metering, timeout=60)
    assert posted.json()["accepted"] == 500
    rest = requests.post(f"{api}/usage", json={"records": records[500:]}, headers=metering, timeout=60)
    assert rest.json()["accepted"] == len(records) - 500

    run = requests.post(f"{api}/_local/schedules/billing-run", json={}, timeout=300).json()
    assert (run["period"], run["status"], run["invoices_created"]) == (period, "completed", 1)

    summary = requests.get(
        f"{api}/usage/summary", params={"period": period}, headers=customer, timeout=30
    ).json()
    invoice = requests.get(f"{api}/invoices/{summary['invoice_id']}", headers=customer, timeout=30).json()
    assert invoice["status"] == "issued" and invoice["payment_url"]
    assert invoice["line_items"][0]["quantity"] == str(len(records))  # 720 or 744 hours: the calendar's
    deadline = time.monotonic() + 60
    while True:
        pdf = requests.get(f"{api}/invoices/{invoice['id']}/pdf", headers=customer, timeout=30)
        if pdf.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert pdf.status_code == 200, pdf.text
    assert requests.get(pdf.json()["url"], timeout=30).content.startswith(b"%PDF")
