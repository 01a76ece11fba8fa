"""The document routes' contract: PDF links and bulk downloads (api.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from invoicing.contracts.common import DocumentId, Request, Response, Timestamp
from invoicing.domain.documents import Download, DownloadLink


class DownloadRequest(Request):
    invoice_ids: list[DocumentId] = Field(
        min_length=1,
        max_length=100,
        description="1–100 distinct invoice ids; the ZIP holds one PDF each.",
        json_schema_extra={"uniqueItems": True},
    )

    @model_validator(mode="after")
    def _distinct(self) -> DownloadRequest:
        seen: set[str] = set()
        for invoice_id in self.invoice_ids:
            if invoice_id in seen:
                raise ValueError(f"invoice_ids names {invoice_id} more than once")
            seen.add(invoice_id)
        return self


class PdfLinkResponse(Response):
    url: str = Field(description="Presigned S3 GET (at most 15 minutes); saves as `filename`.")
    expires_at: Timestamp
    filename: str

    @classmethod
    def from_domain(cls, link: DownloadLink) -> PdfLinkResponse:
        return cls(url=link.url, expires_at=link.expires_at, filename=link.filename)


class ExportLinkResponse(Response):
    """A large export, stored in the bucket instead of answered inline (with ``303 See Other``)."""

    url: str = Field(description="Presigned S3 GET (at most 15 minutes), also in the Location header.")
    expires_at: Timestamp
    filename: str

    @classmethod
    def from_domain(cls, link: DownloadLink) -> ExportLinkResponse:
        return cls(url=link.url, expires_at=link.expires_at, filename=link.filename)


class RenderingResponse(Response):
    status: Literal["rendering"] = "rendering"


class DownloadAcceptedResponse(Response):
    id: str
    status: Literal["pending"] = "pending"


class DownloadResponse(Response):
    id: str
    status: Literal["pending", "ready", "failed"]
    url: str | None = Field(description="The ZIP (presigned, at most 15 minutes) once ready; else null.")
    expires_at: Timestamp | None = Field(description="When `url` stops working; null without one.")
    count: int = Field(description="How many invoices (PDFs) the ZIP holds.")

    @classmethod
    def from_domain(cls, download: Download, link: DownloadLink | None) -> DownloadResponse:
        return cls(
            id=download.id,
            status=download.status.value,
            url=link.url if link else None,
            expires_at=link.expires_at if link else None,
            count=download.count,
        )
