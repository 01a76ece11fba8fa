"""Demo data: realistic invoices for a GPU cloud's customer. Used by `make run` (DEMO_DATA=1)
and by the benchmarks, so both exercise the same shapes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from invoicing.domain.invoice import Address, BillingPeriod, Customer, LineItem, Supplier
from invoicing.domain.numbering import IST

DEMO_ACCOUNT = "acc_demo"

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


def demo_lines(start: date, count: int = 3) -> tuple[LineItem, ...]:
    # Usage runs from IST midnight on the first day of the billing period for 30 days, the way the
    # portal meters it (the billing period is in IST dates too).
    begin = datetime(start.year, start.month, start.day, tzinfo=IST)
    end = begin + timedelta(days=30)
    catalogue = [
        ("pod", "gpu-a100-train-01", "NVIDIA A100 80GB pod", "720", "hour", "245.50"),
        ("vm", "vm-build-4x16", "4 vCPU / 16 GiB VM", "744", "hour", "6.250000"),
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
    """Arguments for ``InvoiceService.create(fields=...)``."""
    return {
        "customer": demo_customer(intra_state=intra_state),
        "billing_period": BillingPeriod(start=period_start, end=period_start + timedelta(days=29)),
        "line_items": demo_lines(period_start, lines),
        "description": f"Cloud usage {period_start:%B %Y}",
        **extra,
    }
