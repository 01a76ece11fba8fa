"""Queue messages between functions: one model per message, used by the writer and the reader.

The render queue carries ``RenderJob`` (a document's PDF at a version), ``DownloadJob`` (a bulk
ZIP) and ``StatementJob`` (a statement of account's PDF and CSV). ``adapters.render_queue`` writes
them; the renderer's handler parses them with :func:`parse_render_message`. Anything else on the
queue is refused (it ends in the DLQ).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class RenderJob(_Message):
    """Render the PDF of a document as it is now (the job names the version that asked for it)."""

    kind: Literal["invoice", "credit_note", "receipt"] = "invoice"
    document_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)


class DownloadJob(_Message):
    """Build the ZIP of a stored bulk-download job."""

    kind: Literal["download"] = "download"
    download_id: str = Field(min_length=1, max_length=64)


class StatementJob(_Message):
    """Build the PDF and CSV of a stored statement job."""

    kind: Literal["statement"] = "statement"
    statement_id: str = Field(min_length=1, max_length=64)


RenderMessage = Annotated[RenderJob | DownloadJob | StatementJob, Field(discriminator="kind")]


# The message unions' validators are built on first use (not at import: most importers only write).
@cache
def _render_messages() -> TypeAdapter[RenderJob | DownloadJob | StatementJob]:
    adapter: TypeAdapter[RenderJob | DownloadJob | StatementJob] = TypeAdapter(RenderMessage)
    return adapter


def parse_render_message(body: str) -> RenderJob | DownloadJob | StatementJob:
    """Any kind of render-queue message; anything else raises (``ValueError``)."""
    return _render_messages().validate_python(json.loads(body))


def render_message(job: RenderJob | DownloadJob | StatementJob) -> str:
    return job.model_dump_json()


class EInvoiceJob(_Message):
    """Register a document with the IRP (the e-invoice queue; ``functions/einvoice_registrar``).

    ``attempt`` is the e-invoice's attempts count the job is for: a job for another count is a
    repeat or stale, and is dropped."""

    kind: Literal["einvoice"] = "einvoice"
    document: Literal["invoice", "credit_note"] = "invoice"
    document_id: str = Field(min_length=1, max_length=64)
    attempt: int = Field(default=0, ge=0)


def parse_einvoice_job(body: str) -> EInvoiceJob:
    return EInvoiceJob.model_validate_json(body)


# ------------------------------------------------------------------------------------------------
# The billing queue (billing.md): plan a run, bill one account of it.
# ------------------------------------------------------------------------------------------------
class PlanRunJob(_Message):
    """Find a run's accounts and fan out one ``BillAccountJob`` each."""

    kind: Literal["plan"] = "plan"
    run_id: str = Field(min_length=1, max_length=64)


class BillAccountJob(_Message):
    """Bill one account for a run's month."""

    kind: Literal["bill"] = "bill"
    run_id: str = Field(min_length=1, max_length=64)
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    account_id: str = Field(min_length=1, max_length=64)
    # earlier months whose invoice a run left to issue (Razorpay failed): finished first
    finish: list[Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]] = Field(
        default=[], max_length=120
    )


BillingMessage = Annotated[PlanRunJob | BillAccountJob, Field(discriminator="kind")]


@cache
def _billing_messages() -> TypeAdapter[PlanRunJob | BillAccountJob]:
    adapter: TypeAdapter[PlanRunJob | BillAccountJob] = TypeAdapter(BillingMessage)
    return adapter


def parse_billing_message(body: str) -> PlanRunJob | BillAccountJob:
    """Either kind of billing-queue message; anything else raises (``ValueError``)."""
    return _billing_messages().validate_python(json.loads(body))
