"""Invoice PDFs and bulk downloads on ``make run``'s stack, over real HTTP: poll the 202 until the
renderer (fed by the stack's render-queue poller) has stored the file, then fetch the presigned URL
from the stack's AWS endpoint (moto's server serves presigned GETs)."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from infra.demo import DEMO_ACCOUNT, demo_customer, demo_lines
from infra.local.tokens import make_token
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

OPERATOR = make_token(DEMO_ACCOUNT, admin=True)
CUSTOMER = make_token(DEMO_ACCOUNT)
POLL_SECONDS = 60


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _issued_invoice(stack: Stack) -> dict:
    body = {
        "account_id": DEMO_ACCOUNT,
        "customer": demo_customer(intra_state=True).model_dump(mode="json"),
        "billing_period": {"start": "2026-10-01", "end": "2026-10-31"},
        "line_items": [
            line.model_dump(mode="json", exclude={"amount"})
            for line in demo_lines(date(2026, 10, 1), count=2)
        ],
        "description": "e2e download",
    }
    created = requests.post(f"{stack.url}/invoices", json=body, headers=_auth(OPERATOR), timeout=15)
    assert created.status_code == 201, created.text
    issued = requests.post(
        f"{stack.url}/invoices/{created.json()['id']}/issue", headers=_auth(OPERATOR), timeout=15
    )
    assert issued.status_code == 200, issued.text
    return issued.json()


def _poll(stack: Stack, path: str, done) -> requests.Response:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        response = requests.get(f"{stack.url}{path}", headers=_auth(CUSTOMER), timeout=15)
        if done(response) or time.monotonic() > deadline:
            return response
        time.sleep(float(response.headers.get("Retry-After", "0.5")) if response.status_code == 202 else 0.5)


def _fetch(stack: Stack, url: str) -> requests.Response:
    """GET a presigned URL; it must point at the stack's AWS endpoint (never a real AWS one)."""
    assert url.startswith(stack.aws_url), url
    return requests.get(url, timeout=15)


def test_the_pdf_link_is_202_until_rendered_then_a_presigned_url_serving_the_pdf(stack):
    invoice = _issued_invoice(stack)
    filename = invoice["invoice_number"].replace("/", "-") + ".pdf"

    reply = _poll(stack, f"/invoices/{invoice['id']}/pdf", lambda r: r.status_code != 202)

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["filename"] == filename
    query = parse_qs(urlparse(body["url"]).query)
    assert 0 < int(query["X-Amz-Expires"][0]) <= 900
    pdf = _fetch(stack, body["url"])
    assert pdf.status_code == 200, pdf.text[:500]
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_a_bulk_download_becomes_a_zip_of_the_pdfs(stack):
    invoices = [_issued_invoice(stack) for _ in range(2)]

    accepted = requests.post(
        f"{stack.url}/invoices/downloads",
        json={"invoice_ids": [invoice["id"] for invoice in invoices]},
        headers=_auth(CUSTOMER),
        timeout=15,
    )
    assert accepted.status_code == 202, accepted.text
    download_id = accepted.json()["id"]
    reply = _poll(stack, f"/invoices/downloads/{download_id}", lambda r: r.json().get("status") != "pending")

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["status"], body["count"]) == ("ready", 2)
    archive = _fetch(stack, body["url"])
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == [invoice["invoice_number"].replace("/", "-") + ".pdf" for invoice in invoices]
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert all(opened.read(name).startswith(b"%PDF") for name in names)
