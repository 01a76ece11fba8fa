"""What every document's PDF route answers (invoices, credit notes, receipt vouchers): ``200`` with a
short-lived presigned link, or ``202`` with ``Retry-After`` while the PDF is rendered (or waits for
its IRN). One answer, one OpenAPI description, for every document kind."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from invoicing.contracts.documents import PdfLinkResponse, RenderingResponse
from invoicing.domain.documents import DownloadLink, Rendering
from invoicing.http import json_content, responses


def pdf_link_responses(*errors: int, waiting: str = "Being rendered") -> dict[int, Any]:
    """The route's documented answers: 200 (the link), 202 (``waiting``), and ``errors``."""
    return {
        **responses(
            200, "A presigned link (at most 15 minutes)", *errors, content=json_content(PdfLinkResponse)
        ),
        202: {
            "description": f"{waiting}: ask again after Retry-After seconds",
            "content": json_content(RenderingResponse),
        },
    }


def pdf_link_answer(result: DownloadLink | Rendering) -> Response[Any]:
    """The link (200), or "ask again" (202 with ``Retry-After``); neither may be cached."""
    if isinstance(result, Rendering):
        return Response(
            status_code=HTTPStatus.ACCEPTED.value,
            content_type=content_types.APPLICATION_JSON,
            body=RenderingResponse(),
            headers={"Retry-After": str(result.retry_after_seconds), "Cache-Control": "no-store"},
        )
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=PdfLinkResponse.from_domain(result),
        headers={"Cache-Control": "no-store"},
    )
