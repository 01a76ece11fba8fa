"""Validated settings, one model per function, read from the environment on first use.

Resource names come from environment variables the template sets; a missing one fails loudly
with the names of everything that is missing.
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from invoicing.domain.einvoice import Mode
from invoicing.domain.errors import DomainValidationError
from invoicing.domain.invoice import Supplier
from invoicing.domain.numbering import validate_prefix


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid."""


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class TableSettings(_Settings):
    invoices_table: str = Field(min_length=1)


class IndexSettings(_Settings):
    # The index the stores list an account's documents through: ListIndex only while a stage
    # created before AccountIndex backfills it (template.yaml's KeepListIndex; docs/deploy.md).
    list_index: Literal["AccountIndex", "ListIndex"] = "AccountIndex"


class RazorpaySettings(_Settings):
    razorpay_secret_name: str = Field(min_length=1)
    # Only the local stack sets RAZORPAY_BASE_URL (its Razorpay stand-in); deployed, the SDK's default.
    razorpay_base_url: str | None = None
    razorpay_timeout_seconds: float = Field(default=8.0, gt=0, le=25)


class EInvoiceSettings(_Settings):
    """E-invoicing (einvoice.md): the mode, the 30-day rule, the GSP (its secret and base URL)."""

    einvoicing: Mode = "off"
    aato_above_10_crore: bool = True
    gsp_secret_name: str | None = None
    gsp_base_url: str = ""
    gsp_timeout_seconds: float = Field(default=10.0, gt=0, le=25)


class InvoiceSettings(TableSettings, RazorpaySettings, EInvoiceSettings):
    """The invoice API: the invoice model, its documents, list cursors."""

    invoice_number_prefix: str = "INV"
    supplier_json: Supplier
    account_id_claim: str = "account_id"
    payment_terms_days: int = Field(default=15, ge=0, le=365)
    reminder_days_past_due: tuple[int, ...] = (3, 7)
    grace_period_days: int = Field(default=7, ge=0)
    cursor_secret_name: str = Field(min_length=1)
    pdf_bucket: str = Field(min_length=1)
    render_queue_url: str = Field(min_length=1)
    # GET /invoices/export.csv answers inline up to this many bytes (as escaped in Lambda's JSON
    # response, whose limit is 6 MB); a larger export is stored under exports/ and answered 303.
    csv_inline_limit_bytes: int = Field(default=5 * 1024 * 1024, ge=1, le=5 * 1024 * 1024 + 512 * 1024)
    # POST /billing-runs queues the run's planning; the template sets it (checked where it is used).
    billing_queue_url: str | None = None

    @field_validator("invoice_number_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        try:
            return validate_prefix(value)
        except DomainValidationError as exc:
            raise ValueError(exc.message) from None

    @field_validator("supplier_json", mode="before")
    @classmethod
    def _supplier(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("reminder_days_past_due", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(int(part) for part in value.split(",") if part.strip())
        return value


class BillingRunSettings(InvoiceSettings):
    """The billing run: it makes and issues invoices (the invoice model) and fans out on its queue."""

    billing_queue_url: str = Field(min_length=1)
    billing_max_receive_count: int = Field(default=5, ge=1)  # the queue's maxReceiveCount


class WebhookSettings(TableSettings):
    """The webhook: the invoices, Powertools idempotency's table and the webhook secret."""

    idempotency_table: str = Field(min_length=1)
    razorpay_secret_name: str = Field(min_length=1)


class SweepSettings(TableSettings):
    """The sweep. Reminder days and grace period are on each invoice (set at issue)."""

    sweep_queue_url: str = Field(min_length=1)
    sweep_fanout_threshold: int = Field(ge=1)  # the template sets it (SWEEP_FANOUT_THRESHOLD)


class PdfSettings(TableSettings):
    """What rendering needs: the invoices table and the PDF bucket."""

    pdf_bucket: str = Field(min_length=1)


class StatementSettings(PdfSettings):
    """Statements are printed by the renderer too, with the supplier's name and address."""

    supplier_json: Supplier

    @field_validator("supplier_json", mode="before")
    @classmethod
    def _supplier(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class OutboxSettings(TableSettings, RazorpaySettings):
    """The dispatcher performs every kind of side effect."""

    event_bus_name: str = Field(min_length=1)
    render_queue_url: str = Field(min_length=1)
    einvoice_queue_url: str = Field(min_length=1)
    ses_sender: str = Field(min_length=3)
    # The scheduled sweep leaves younger messages to the stream (0: take everything due, locally).
    outbox_sweep_min_age_seconds: int = Field(default=120, ge=0)


class RegistrarSettings(TableSettings, EInvoiceSettings):
    """The e-invoice registrar: the table, the GSP, its queue and the retry backoff."""

    einvoice_queue_url: str = Field(min_length=1)
    einvoice_retry_base_seconds: int = Field(default=60, ge=1)
    einvoice_retry_cap_seconds: int = Field(default=3600, ge=1)
    einvoice_max_attempts: int = Field(default=8, ge=1, le=50)


S = TypeVar("S", bound=_Settings)


def load(model: type[S], environ: dict[str, str] | None = None) -> S:
    env = os.environ if environ is None else environ
    values = {name: env[name.upper()] for name in model.model_fields if name.upper() in env}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigurationError(f"{model.__name__} is not configured: {problems}") from None
