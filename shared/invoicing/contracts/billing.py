"""The billing routes' contract (billing.md): billing profiles, prices, usage, billing runs.

Requests reject unknown fields (422); domain rules (GSTIN check digits and state agreement, one
IST month per record, the price in effect) run when requests become domain values, and their
refusals come back as 422s whose ``loc`` points into the request. A usage record's problems are
reported at ``["records", i, field]``, as billing.md says.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationError, model_validator

from invoicing.contracts.common import (
    AccountId,
    DateIn,
    DecimalString,
    Request,
    Response,
    StrictBool,
    StrictInt,
    Timestamp,
    TimestampIn,
    validation_message,
)
from invoicing.contracts.invoices import CustomerIn, CustomerOut, to_customer
from invoicing.domain.billing import (
    MAX_RECORDS_PER_BATCH,
    PERIOD_PATTERN,
    RECORD_ID_PATTERN,
    SKU_PATTERN,
    BillingProfile,
    BillingRun,
    Price,
    UsageLine,
    UsageRecord,
    plain,
    validate_period,
)
from invoicing.domain.errors import DomainValidationError
from invoicing.domain.gst import DEFAULT_SAC, SAC_PATTERN
from invoicing.domain.invoice import Customer

ResourceType = Literal["pod", "vm", "storage", "network", "other"]


def _period(value: str) -> str:
    try:
        return validate_period(value)
    except DomainValidationError as exc:
        raise ValueError(exc.details[0]["msg"]) from None


Period = Annotated[str, StringConstraints(pattern=PERIOD_PATTERN), AfterValidator(_period)]
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]


# ------------------------------------------------------------------------------------------------
# Billing profile
# ------------------------------------------------------------------------------------------------
class PutProfileRequest(Request):
    """Create or replace an account's billing profile. Fields left out keep their values (their
    defaults when the profile is created); ``customer`` is needed to create one. A customer may send
    only ``customer``."""

    customer: CustomerIn | None = None
    billing_model: Literal["prepaid", "postpaid"] | None = None
    payment_terms_days: StrictInt | None = Field(default=None, ge=0, le=365)
    partial_payment: StrictBool | None = None
    auto_issue: StrictBool | None = None

    @model_validator(mode="after")
    def _something(self) -> PutProfileRequest:
        if not self.model_fields_set:
            raise ValueError("send the customer and/or the operator fields to set")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def to_customer(self) -> Customer | None:
        return to_customer(self.customer, ("body", "customer")) if self.customer is not None else None

    def operator_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set) if name != "customer"}


class BillingProfileResponse(Response):
    account_id: str
    customer: CustomerOut
    billing_model: Literal["prepaid", "postpaid"]
    payment_terms_days: int
    partial_payment: bool
    auto_issue: bool
    updated_at: Timestamp

    @classmethod
    def from_domain(cls, profile: BillingProfile) -> BillingProfileResponse:
        return cls(
            account_id=profile.account_id,
            customer=CustomerOut.of(profile.customer),
            billing_model=profile.billing_model.value,
            payment_terms_days=profile.payment_terms_days,
            partial_payment=profile.partial_payment,
            auto_issue=profile.auto_issue,
            updated_at=profile.updated_at,
        )


# ------------------------------------------------------------------------------------------------
# Prices
# ------------------------------------------------------------------------------------------------
class PutPriceRequest(Request):
    description: str = Field(min_length=1, max_length=200, description='"NVIDIA H100 GPU"')
    resource_type: ResourceType
    unit: str = Field(min_length=1, max_length=32, description='"GPU-hour", "GB-month", "GB", "hour"')
    unit_rate: DecimalString = Field(description="Rupees per unit, up to 6 decimals.")
    sac_code: str = Field(default=DEFAULT_SAC, pattern=SAC_PATTERN)
    effective_from: DateIn = Field(description="IST date; a PUT with the same date replaces that version.")

    def to_fields(self) -> dict[str, Any]:
        return self.model_dump()


class PriceResponse(Response):
    sku: str
    description: str
    resource_type: ResourceType
    unit: str
    unit_rate: str
    sac_code: str
    effective_from: date

    @classmethod
    def from_domain(cls, price: Price) -> PriceResponse:
        return cls(
            sku=price.sku,
            description=price.description,
            resource_type=price.resource_type.value,
            unit=price.unit,
            unit_rate=plain(price.unit_rate),
            sac_code=price.sac_code,
            effective_from=price.effective_from,
        )


class PricesResponse(Response):
    items: list[PriceResponse]


# ------------------------------------------------------------------------------------------------
# Usage
# ------------------------------------------------------------------------------------------------
class UsageRecordIn(Request):
    id: Annotated[str, StringConstraints(pattern=RECORD_ID_PATTERN)]
    account_id: AccountId
    sku: Sku
    resource_id: str = Field(min_length=1, max_length=128)
    resource_name: str = Field(min_length=1, max_length=200)
    quantity: DecimalString = Field(description="≥ 0, up to 6 decimals, in the price's unit.")
    start: TimestampIn
    end: TimestampIn


class UsageBatchRequest(Request):
    """1–500 records; each is validated as a ``UsageRecord`` (problems at ``["records", i, field]``)."""

    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS_PER_BATCH)

    def to_records(self) -> list[UsageRecord]:
        """Every record as the domain takes it, or one 422 listing every problem (nothing stored)."""
        records: list[UsageRecord] = []
        problems: list[dict[str, Any]] = []
        for index, raw in enumerate(self.records):
            try:
                parsed = UsageRecordIn.model_validate(raw)
                records.append(UsageRecord.model_validate(parsed.model_dump()))
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    at = list(err["loc"]) or ["end"]  # a rule across fields: start/end in one month
                    problems.append({"loc": ["records", index, *at], "msg": validation_message(err)})
        if problems:
            first = problems[0]
            where = f"records[{first['loc'][1]}]." + ".".join(str(p) for p in first["loc"][2:])
            raise DomainValidationError(f"{where}: {str(first['msg']).rstrip('.')}.", problems)
        return records


class RecordStatusOut(Response):
    id: str
    status: Literal["accepted", "duplicate", "conflict"]


class UsageResponse(Response):
    accepted: int
    duplicates: int
    conflicts: int
    items: list[RecordStatusOut]


class UsageSummaryQuery(Request):
    period: Period = Field(description="YYYY-MM (an IST month).")
    account_id: AccountId | None = Field(
        default=None, description="Required for operators; a customer's own."
    )


class UsageLineOut(Response):
    sku: str
    resource_type: ResourceType
    resource_id: str
    resource_name: str
    description: str
    usage_start: Timestamp
    usage_end: Timestamp
    quantity: str
    unit: str
    unit_rate: str
    sac_code: str
    amount: int

    @classmethod
    def from_domain(cls, line: UsageLine) -> UsageLineOut:
        return cls(
            sku=line.sku,
            resource_type=line.resource_type.value,
            resource_id=line.resource_id,
            resource_name=line.resource_name,
            description=line.description,
            usage_start=line.usage_start,
            usage_end=line.usage_end,
            quantity=plain(line.quantity),
            unit=line.unit,
            unit_rate=plain(line.unit_rate),
            sac_code=line.sac_code,
            amount=line.amount,
        )


class UsageSummaryResponse(Response):
    account_id: str
    period: str
    currency: Literal["INR"]
    lines: list[UsageLineOut]
    taxable_amount: int
    records: int
    invoice_id: str | None


# ------------------------------------------------------------------------------------------------
# Billing runs
# ------------------------------------------------------------------------------------------------
class BillingRunRequest(Request):
    period: Period = Field(description="YYYY-MM, a month that has ended (IST).")
    account_ids: list[AccountId] | None = Field(default=None, min_length=1, max_length=1000)


class SkippedOut(Response):
    account_id: str
    reason: Literal["no_profile", "no_usage", "already_invoiced"]


class FailedOut(Response):
    account_id: str
    message: str


class BillingRunResponse(Response):
    id: str
    period: str
    status: Literal["running", "completed", "completed_with_errors"]
    accounts: int
    invoices_created: int
    skipped: list[SkippedOut] = Field(description="At most 1000 entries; skipped_count has them all.")
    failed: list[FailedOut] = Field(description="At most 1000 entries; failed_count has them all.")
    skipped_count: int
    failed_count: int
    started_at: Timestamp
    finished_at: Timestamp | None

    @classmethod
    def from_domain(cls, run: BillingRun) -> BillingRunResponse:
        return cls(
            id=run.id,
            period=run.period,
            status=run.status.value,
            accounts=run.accounts,
            invoices_created=run.invoices_created,
            skipped=[SkippedOut(account_id=s.account_id, reason=s.reason) for s in run.skipped],
            failed=[FailedOut(account_id=f.account_id, message=f.message) for f in run.failed],
            skipped_count=run.skipped_count,
            failed_count=run.failed_count,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )
