"""Render-queue messages (contracts/messages.py): one model shared by the writer and the reader."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from invoicing.contracts.messages import DownloadJob, RenderJob, parse_render_message, render_message


def test_render_jobs_parse_from_the_queue_s_message_body():
    body = json.dumps({"kind": "invoice", "document_id": "inv_1", "version": 3})

    assert parse_render_message(body) == RenderJob(document_id="inv_1", version=3)


def test_download_jobs_parse_from_the_same_queue():
    assert parse_render_message('{"kind": "download", "download_id": "dl_1"}') == DownloadJob(
        download_id="dl_1"
    )


@pytest.mark.parametrize(
    "job", [RenderJob(kind="credit_note", document_id="cn_1", version=2), DownloadJob(download_id="dl_1")]
)
def test_what_is_written_is_what_is_read(job):
    assert parse_render_message(render_message(job)) == job


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"kind": "download", "document_id": "inv_1", "version": 1}),
        json.dumps({"kind": "invoice", "document_id": "inv_1"}),
        json.dumps({"kind": "invoice", "document_id": "inv_1", "version": 0}),
        json.dumps({"kind": "invoice", "document_id": "inv_1", "version": 1, "extra": True}),
        json.dumps({"kind": "statement", "document_id": "inv_1", "version": 1}),
    ],
)
def test_malformed_render_jobs_are_refused(body):
    with pytest.raises((ValidationError, ValueError)):
        parse_render_message(body)
