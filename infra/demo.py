"""Demo data: realistic invoices for a GPU cloud's customer. Used by `make run` (DEMO_DATA=1)
and by the benchmarks, so both exercise the same shapes."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from invoicing.domain.invoice import Address, BillingPeriod, Customer, LineItem, Supplier
from invoicing.domain.numbering import IST

DEMO_ACCOUNT = "acc_demo"
DEMO_PREPAID_ACCOUNT = "acc_demo_prepaid"  # a prepaid account: wallet top-ups, months settled from them

DEMO_SUPPLIER = Supplier(
    name="Shakti Cloud Compute Pvt Ltd",
    gstin="27AAPFU0939F1ZV",
    state_code="27",
    address=Address(
        line1="4th Floor, Baner Tech Park",
        line2="Baner Road",
        city="Pune",
        state="Maharashtra",
        postal_code="411045",
        country="IN",
    ),
)


def demo_customer(*, intra_state: bool = True) -> Customer:
    if intra_state:
        return Customer(
            name="Vyom Analytics LLP",
            email="accounts@vyom.example",
            gstin="27AAPFU0939F1ZV",
            state_code="27",
            address=Address(line1="12 FC Road", city="Pune", state="Maharashtra", postal_code="411004"),
        )
    return Customer(
        name="Kavach AI Labs",
        email="finance@kavach.example",
        gstin="24AABCJ1087G1ZT",
        state_code="24",
        address=Address(line1="Sindhu Bhavan Marg", city="Ahmedabad", state="Gujarat", postal_code="380059"),
    )


def month_end(start: date) -> date:
    """The last day of ``start``'s month (October has 31 days, February 28 or 29)."""
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def demo_lines(start: date, count: int = 3) -> tuple[LineItem, ...]:
    # Usage runs from IST midnight on the first day of the month to the next month's first IST
    # midnight, the way the portal meters it: 720 hours in a 30-day month, 744 in a 31-day one.
    begin = datetime(start.year, start.month, 1, tzinfo=IST)
    end = datetime.combine(month_end(start) + timedelta(days=1), datetime.min.time(), tzinfo=IST)
    hours = str(int((end - begin).total_seconds() // 3600))
    catalogue = [
        ("pod", "gpu-a100-train-01", "NVIDIA A100 80GB pod", hours, "hour", "245.50"),
        ("vm", "vm-build-4x16", "4 vCPU / 16 GiB VM", hours, "hour", "6.250000"),
        ("storage", "vol-datasets", "Block storage, SSD", "512.5", "GB-month", "8.40"),
        ("network", "egress", "Internet egress", "1530.25", "GB", "0.013900"),
        ("other", "support-plan", "Business support", "1", "month", "4999"),
    ]
    lines = []
    for i in range(count):
        kind, name, desc, qty, unit, rate = catalogue[i % len(catalogue)]
        lines.append(
            LineItem(
                resource_type=kind,
                resource_name=f"{name}-{i}" if i >= len(catalogue) else name,
                description=desc,
                usage_start=begin,
                usage_end=end,
                quantity=qty,
                unit=unit,
                unit_rate=rate,
            )
        )
    return tuple(lines)


def draft_fields(period_start: date, *, intra_state: bool = True, lines: int = 3, **extra: Any) -> dict:
    """Arguments for ``InvoiceService.create(fields=...)``: one calendar month."""
    return {
        "customer": demo_customer(intra_state=intra_state),
        "billing_period": BillingPeriod(start=period_start, end=month_end(period_start)),
        "line_items": demo_lines(period_start, lines),
        "description": f"Cloud usage {period_start:%B %Y}",
        **extra,
    }


# ------------------------------------------------------------------------------------ billing
# The rate card of the demo (PUT /prices/{sku} bodies), in effect long before any demo usage.
DEMO_PRICES: dict[str, dict[str, str]] = {
    "gpu.a100.hour": {
        "description": "NVIDIA A100 80GB GPU",
        "resource_type": "pod",
        "unit": "GPU-hour",
        "unit_rate": "245.50",
    },
    "gpu.h100.hour": {
        "description": "NVIDIA H100 80GB GPU",
        "resource_type": "pod",
        "unit": "GPU-hour",
        "unit_rate": "389",
    },
    "vm.4x16.hour": {
        "description": "4 vCPU / 16 GiB VM",
        "resource_type": "vm",
        "unit": "hour",
        "unit_rate": "6.25",
    },
    "storage.ssd.gb_month": {
        "description": "Block storage, SSD",
        "resource_type": "storage",
        "unit": "GB-month",
        "unit_rate": "8.40",
    },
    "network.egress.gb": {
        "description": "Internet egress",
        "resource_type": "network",
        "unit": "GB",
        "unit_rate": "0.013900",
    },
}
PRICES_EFFECTIVE_FROM = date(2025, 4, 1)


def demo_usage(account_id: str, period: str) -> list[dict[str, str]]:
    """A month of metering for ``account_id`` (``POST /usage`` records): an A100 pod and a VM every
    hour of the month, the SSD volume for the whole month, egress once a day. True to the calendar:
    a 30-day month has 720 hourly records per resource, a 31-day one 744."""
    first = date(int(period[:4]), int(period[5:]), 1)
    begin = datetime(first.year, first.month, 1, tzinfo=IST)
    end = datetime.combine(month_end(first) + timedelta(days=1), datetime.min.time(), tzinfo=IST)
    hours = int((end - begin).total_seconds() // 3600)

    def record(
        rid: str, sku: str, resource: str, name: str, qty: str, start: datetime, stop: datetime
    ) -> dict:
        return {
            "id": rid,
            "account_id": account_id,
            "sku": sku,
            "resource_id": resource,
            "resource_name": name,
            "quantity": qty,
            "start": start.isoformat(),
            "end": stop.isoformat(),
        }

    records = []
    for h in range(hours):
        at = begin + timedelta(hours=h)
        records.append(
            record(
                f"{period}-a100-{h}",
                "gpu.a100.hour",
                "pod-7f3a",
                "train-llama-8b",
                "1",
                at,
                at + timedelta(hours=1),
            )
        )
        records.append(
            record(
                f"{period}-vm-{h}",
                "vm.4x16.hour",
                "vm-build-1",
                "ci-runner",
                "1",
                at,
                at + timedelta(hours=1),
            )
        )
    for d in range(hours // 24):
        at = begin + timedelta(days=d)
        records.append(
            record(
                f"{period}-egress-{d}",
                "network.egress.gb",
                "egress",
                "internet egress",
                "51.25",
                at,
                at + timedelta(days=1),
            )
        )
    records.append(
        record(f"{period}-ssd", "storage.ssd.gb_month", "vol-datasets", "datasets", "512.5", begin, end)
    )
    return records


def prepaid_usage(account_id: str, period: str, *, gpu_hours: int) -> list[dict[str, str]]:
    """A prepaid account's smaller month (``POST /usage`` records): an A100 pod for ``gpu_hours``
    hours from the first day, and 100 GB of SSD for the whole month."""
    first = date(int(period[:4]), int(period[5:]), 1)
    begin = datetime(first.year, first.month, 1, tzinfo=IST)
    end = datetime.combine(month_end(first) + timedelta(days=1), datetime.min.time(), tzinfo=IST)
    records = [
        {
            "id": f"{period}-prepaid-a100-{h}",
            "account_id": account_id,
            "sku": "gpu.a100.hour",
            "resource_id": "pod-9c21",
            "resource_name": "eval-mistral-7b",
            "quantity": "1",
            "start": (begin + timedelta(hours=h)).isoformat(),
            "end": (begin + timedelta(hours=h + 1)).isoformat(),
        }
        for h in range(gpu_hours)
    ]
    records.append(
        {
            "id": f"{period}-prepaid-ssd",
            "account_id": account_id,
            "sku": "storage.ssd.gb_month",
            "resource_id": "vol-evals",
            "resource_name": "eval-datasets",
            "quantity": "100",
            "start": begin.isoformat(),
            "end": end.isoformat(),
        }
    )
    return records
