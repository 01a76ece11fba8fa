"""What the local stack reads from and feeds through the embedded AWS, here under in-process moto."""

from __future__ import annotations

import json
import threading
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import boto3
import pytest

from infra.local.aws import EventTap, sent_emails
from infra.local.events import SqsPoller
from infra.local.functions import FunctionSpec

SENDER = "billing@example.com"


@pytest.fixture
def session(aws: None) -> boto3.session.Session:
    return boto3.session.Session(region_name="ap-south-1")


class RecordingFunction:
    """A ``LocalFunction`` look-alike: records the SQS events, answers or raises ``result``."""

    spec = FunctionSpec("PdfRendererFunction", "f", "functions/f/", "handler.lambda_handler", 60, 1024)

    def __init__(self, result: Any) -> None:
        self.result = result
        self.events: list[dict] = []

    def invoke(self, event: dict, *, request_id: str | None = None) -> Any:
        self.events.append(event)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result(event) if callable(self.result) else self.result


# ------------------------------------------------------------------------------------ emails
def test_emails_sent_through_ses_v1_and_v2_are_listed_with_their_bodies(session):
    # Given
    ses, sesv2 = session.client("ses"), session.client("sesv2")
    ses.verify_email_identity(EmailAddress=SENDER)
    ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["a@vyom.example"]},
        Message={"Subject": {"Data": "Plain"}, "Body": {"Text": {"Data": "Hello A"}}},
    )
    sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["b@kavach.example"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Overdue"},
                "Body": {
                    "Text": {"Data": "Invoice INV/1 is overdue"},
                    "Html": {"Data": "<html><body><p>Invoice <b>INV/1</b> is overdue</p></body></html>"},
                },
            }
        },
    )
    raw = MIMEMultipart("alternative")
    raw["Subject"], raw["From"], raw["To"] = "Raw one", SENDER, "c@example.com"
    raw.attach(MIMEText("text part", "plain"))
    raw.attach(MIMEText("<p>html part</p>", "html"))
    ses.send_raw_email(Source=SENDER, Destinations=["c@example.com"], RawMessage={"Data": raw.as_string()})

    # When
    emails = sent_emails()

    # Then
    assert [(e["to"], e["subject"]) for e in emails] == [
        (["a@vyom.example"], "Plain"),
        (["b@kavach.example"], "Overdue"),
        (["c@example.com"], "Raw one"),
    ]
    assert emails[0]["body_text"] == "Hello A" and "body_html" not in emails[0]
    assert emails[1]["body_text"] == "Invoice INV/1 is overdue"
    assert "<b>INV/1</b>" in emails[1]["body_html"]
    assert (emails[2]["body_text"].strip(), emails[2]["body_html"].strip()) == (
        "text part",
        "<p>html part</p>",
    )


def test_no_email_sent_is_an_empty_list(session):
    assert sent_emails() == []


# ------------------------------------------------------------------------------------ events
def test_event_tap_collects_the_domain_events_published_to_the_bus(session):
    # Given
    events = session.client("events")
    events.create_event_bus(Name="invoicing-dev")
    tap = EventTap(session, None, "invoicing-dev")  # type: ignore[arg-type]
    tap.install()

    # When
    events.put_events(
        Entries=[
            {"Source": "invoicing", "DetailType": "InvoiceIssued", "Detail": '{"invoice_id": "inv_1"}',
             "EventBusName": "invoicing-dev"},
            {"Source": "elsewhere", "DetailType": "Noise", "Detail": "{}", "EventBusName": "invoicing-dev"},
            {"Source": "invoicing", "DetailType": "InvoicePaid", "Detail": '{"invoice_id": "inv_1"}',
             "EventBusName": "invoicing-dev"},
        ]
    )  # fmt: skip

    # Then: only source "invoicing", in order, and reading twice keeps them
    first = tap.events()
    assert [(e["detail_type"], e["detail"]) for e in first] == [
        ("InvoiceIssued", {"invoice_id": "inv_1"}),
        ("InvoicePaid", {"invoice_id": "inv_1"}),
    ]
    assert all(e["time"] for e in first)
    assert tap.events() == first


# ------------------------------------------------------------------------------------ pollers
def _queue(session: boto3.session.Session, *bodies: str) -> tuple[Any, str]:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName="render", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return sqs, url


def _left(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _poller(function: RecordingFunction, sqs: Any, url: str) -> SqsPoller:
    return SqsPoller(
        function,
        sqs=sqs,
        queue_url=url,
        stop=threading.Event(),
        wait_seconds=0,
        backoff_seconds=0,  # type: ignore[arg-type]
    )


def test_poller_deletes_what_the_batch_did_not_report_as_failed(session):
    # Given
    sqs, url = _queue(session, "one", "two", "three")

    def fail_two(event: dict) -> dict:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "two"
            ]
        }

    function = RecordingFunction(fail_two)

    # When
    deleted = _poller(function, sqs, url).poll_once()

    # Then
    assert deleted == 2
    (event,) = function.events
    assert sorted(r["body"] for r in event["Records"]) == ["one", "three", "two"]
    assert {r["eventSource"] for r in event["Records"]} == {"aws:sqs"}
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in left] == ["two"]


def test_poller_leaves_the_batch_when_the_handler_is_not_implemented(session):
    sqs, url = _queue(session, json.dumps({"kind": "invoice"}))
    function = RecordingFunction(NotImplementedError("PDF rendering arrives with its own issue"))

    assert _poller(function, sqs, url).poll_once() == 0
    assert len(function.events) == 1
    assert _left(sqs, url) == 1


def test_poller_with_an_empty_queue_calls_nothing(session):
    sqs, url = _queue(session)
    function = RecordingFunction({"batchItemFailures": []})

    assert _poller(function, sqs, url).poll_once() == 0
    assert function.events == []
