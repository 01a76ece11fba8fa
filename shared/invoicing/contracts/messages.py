"""Queue messages between functions: one model per message, used by the writer and the reader.

The render queue carries ``RenderJob`` (a document's PDF at a version) and ``DownloadJob`` (a bulk
ZIP). ``adapters.render_queue`` writes them; the renderer's handler parses them with
:func:`parse_render_message`. Anything else on the queue is refused (it ends in the DLQ).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RenderJob(_Message):
    """Render the PDF of a document as it is now (the job names the version that asked for it)."""

    kind: Literal["invoice", "credit_note", "receipt"] = "invoice"
    document_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)


class DownloadJob(_Message):
    """Build the ZIP of a stored bulk-download job."""

    kind: Literal["download"] = "download"
    download_id: str = Field(min_length=1, max_length=64)


RenderMessage = Annotated[RenderJob | DownloadJob, Field(discriminator="kind")]
_MESSAGES: TypeAdapter[RenderJob | DownloadJob] = TypeAdapter(RenderMessage)


def parse_render_message(body: str) -> RenderJob | DownloadJob:
    """Either kind of render-queue message; anything else raises (``ValueError``)."""
    return _MESSAGES.validate_python(json.loads(body))


def render_message(job: RenderJob | DownloadJob) -> str:
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
