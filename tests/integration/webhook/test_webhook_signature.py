"""The signature is checked over the exact raw bytes, before parsing; a bad one writes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from invoicing.domain.invoice import Invoice
from invoicing.repository.reviews import DynamoReviewStore
from tests.conftest import AwsCalls
from tests.events.http import http_event
from tests.integration.webhook.conftest import (
    CURRENT_SECRET,
    PREVIOUS_SECRET,
    Answer,
    Issue,
    Records,
    Webhooks,
    signature,
)
from tests.support.functions import WEBHOOK, Functions
from tests.support.stack import Invoices
from tests.support.webhook_payloads import SAMPLES, invoice_paid, sample


def _bad_request(answer: Answer) -> None:
    assert answer.status == 400
    assert answer.body["error"]["code"] == "bad_request"
    assert answer.body["error"]["message"]
    assert isinstance(answer.body["error"]["details"], list)


@pytest.fixture
def invoice(issue: Issue) -> Invoice:
    return issue()


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda raw: signature(raw, "whsec_someone_else"), id="forged-with-another-secret"),
        pytest.param(lambda raw: signature(raw + b" ", CURRENT_SECRET), id="signature-of-other-bytes"),
        pytest.param(lambda raw: "0" * 64, id="zeros"),
        pytest.param(lambda raw: signature(raw, CURRENT_SECRET)[:-1], id="truncated"),
        pytest.param(lambda raw: "sha256=" + signature(raw, CURRENT_SECRET), id="prefixed"),
        pytest.param(lambda raw: "ü" * 64, id="non-ascii"),
    ],
)
def test_a_forged_signature_is_refused_and_nothing_is_written(
    webhooks: Webhooks,
    invoice: Invoice,
    repository: Invoices,
    idempotency_records: Records,
    aws_calls: AwsCalls,
    header: Callable[[bytes], str],
) -> None:
    document = invoice_paid(invoice, "pay_Forged00000001", invoice.amount)
    raw = json.dumps(document).encode()
    aws_calls.clear()

    answer = webhooks.deliver(raw, signature_header=header(raw))

    _bad_request(answer)
    assert aws_calls.of("dynamodb") == []
    assert idempotency_records(answer.event_id) is None
    assert repository.get(invoice.id) == invoice


def test_a_body_altered_after_signing_is_refused(
    webhooks: Webhooks, invoice: Invoice, repository: Invoices, idempotency_records: Records
) -> None:
    signed = json.dumps(invoice_paid(invoice, "pay_Altered0000001", 100)).encode()
    altered = signed.replace(b'"amount": 100,', b'"amount": 106200,', 1)
    assert altered != signed

    answer = webhooks.deliver(altered, signature_header=signature(signed, CURRENT_SECRET))

    _bad_request(answer)
    assert idempotency_records(answer.event_id) is None
    assert repository.get(invoice.id) == invoice


def test_a_missing_signature_is_refused(
    webhooks: Webhooks,
    invoice: Invoice,
    repository: Invoices,
    idempotency_records: Records,
    aws_calls: AwsCalls,
) -> None:
    aws_calls.clear()

    answer = webhooks.deliver(
        invoice_paid(invoice, "pay_Unsigned000001", invoice.amount), omit_signature=True
    )

    _bad_request(answer)
    assert aws_calls.of("dynamodb") == []
    assert idempotency_records(answer.event_id) is None
    assert repository.get(invoice.id) == invoice


def test_an_empty_signature_is_refused(webhooks: Webhooks, invoice: Invoice, repository: Invoices) -> None:
    answer = webhooks.deliver(invoice_paid(invoice, "pay_Empty00000001", invoice.amount), signature_header="")

    _bad_request(answer)
    assert repository.get(invoice.id) == invoice


@pytest.mark.parametrize(
    "serialize",
    [
        pytest.param(lambda d: json.dumps(d, indent=4).encode(), id="indented"),
        pytest.param(lambda d: json.dumps(d, separators=(" , ", " :  ")).encode(), id="odd-spacing"),
        pytest.param(lambda d: json.dumps(dict(reversed(list(d.items())))).encode(), id="keys-reversed"),
        pytest.param(lambda d: json.dumps(d, ensure_ascii=False).encode(), id="raw-utf8"),
        pytest.param(lambda d: json.dumps(d, ensure_ascii=True).encode(), id="escaped-unicode"),
        pytest.param(lambda d: ("\r\n" + json.dumps(d) + "\n").encode(), id="surrounding-whitespace"),
    ],
)
def test_any_json_formatting_is_accepted_when_signed_as_sent(
    webhooks: Webhooks, invoice: Invoice, repository: Invoices, serialize: Callable[[dict[str, Any]], bytes]
) -> None:
    document = invoice_paid(invoice, "pay_Formatted00001", invoice.amount)
    document["payload"]["invoice"]["entity"]["description"] = "GPU पॉड — ₹ बिल ✓"
    raw = serialize(document)

    answer = webhooks.deliver(raw)

    assert answer.status == 200
    assert answer.body == {"status": "processed"}
    stored = repository.get(invoice.id)
    assert stored.status == "paid"
    assert [p.id for p in stored.payments] == ["pay_Formatted00001"]


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(
    webhooks: Webhooks, invoice: Invoice, repository: Invoices
) -> None:
    answer = webhooks.deliver(invoice_paid(invoice, "pay_Base64000001", invoice.amount), base64_body=True)

    assert (answer.status, answer.body) == (200, {"status": "processed"})
    assert repository.get(invoice.id).status == "paid"


def test_a_signature_over_the_base64_text_is_refused(
    webhooks: Webhooks, invoice: Invoice, repository: Invoices
) -> None:
    raw = json.dumps(invoice_paid(invoice, "pay_Base64000002", invoice.amount)).encode()
    wrong = signature(base64.b64encode(raw), CURRENT_SECRET)

    answer = webhooks.deliver(raw, base64_body=True, signature_header=wrong)

    _bad_request(answer)
    assert repository.get(invoice.id) == invoice


def test_during_a_rotation_the_previous_secret_is_accepted(
    webhooks: Webhooks, invoice: Invoice, repository: Invoices
) -> None:
    answer = webhooks.deliver(
        invoice_paid(invoice, "pay_Rotated000001", invoice.amount), secret=PREVIOUS_SECRET
    )

    assert (answer.status, answer.body) == (200, {"status": "processed"})
    assert repository.get(invoice.id).status == "paid"


def test_a_third_secret_is_refused_during_a_rotation(
    webhooks: Webhooks, invoice: Invoice, repository: Invoices, idempotency_records: Records
) -> None:
    answer = webhooks.deliver(
        invoice_paid(invoice, "pay_Rotated000002", invoice.amount), secret="whsec_retired_long_ago_0000"
    )

    _bad_request(answer)
    assert idempotency_records(answer.event_id) is None
    assert repository.get(invoice.id) == invoice


def test_malformed_json_that_is_correctly_signed_is_a_bad_request(
    webhooks: Webhooks, invoice: Invoice, idempotency_records: Records, aws_calls: AwsCalls
) -> None:
    aws_calls.clear()

    answer = webhooks.deliver(b'{"event": "invoice.paid", "payload": ')

    _bad_request(answer)
    assert aws_calls.of("dynamodb") == []
    assert idempotency_records(answer.event_id) is None


@pytest.fixture
def razorpay_secret(resources: dict[str, str]) -> Iterator[Callable[[dict[str, str]], None]]:
    """Replace the Razorpay secret for one test (the functions' cached copy is dropped both ways)."""
    from invoicing.adapters import secrets
    from tests.support.stack import RAZORPAY_SECRET

    client = boto3.client("secretsmanager")

    def put(value: dict[str, str]) -> None:
        client.put_secret_value(SecretId=resources["RAZORPAY_SECRET_NAME"], SecretString=json.dumps(value))
        secrets.reset()

    yield put
    put(RAZORPAY_SECRET)


def test_without_a_configured_webhook_secret_every_delivery_fails_loudly(
    webhooks: Webhooks,
    invoice: Invoice,
    razorpay_secret: Callable[[dict[str, str]], None],
    repository: Invoices,
    idempotency_records: Records,
) -> None:
    razorpay_secret({"key_id": "k", "key_secret": "s", "webhook_secret": "", "previous_webhook_secret": ""})

    answer = webhooks.deliver(invoice_paid(invoice, "pay_NoSecret000001", invoice.amount), secret="")

    assert answer.status == 500
    assert answer.body["error"]["code"] == "internal_error"
    assert "correlation id" in answer.body["error"]["message"]
    assert idempotency_records(answer.event_id) is None
    assert repository.get(invoice.id) == invoice


def test_the_razorpay_sdk_fixture_event_is_verified_and_ignored(
    webhooks: Webhooks, reviews: DynamoReviewStore
) -> None:
    document = json.loads((SAMPLES / "razorpay-sdk-fixture-payment-authorized-webhook.json").read_text())

    answer = webhooks.deliver(document)

    assert (answer.status, answer.body) == (200, {"status": "ignored"})
    [item] = reviews.in_month("2014-05")  # the fixture's own created_at
    assert (item.reason, item.event_type) == ("unhandled_event", "payment.authorized")


def test_only_the_webhook_route_is_served(functions: Functions, invoice: Invoice) -> None:
    event = http_event("POST", "/webhooks/other", body=sample("invoice-paid"))

    response = functions.invoke(WEBHOOK, event)

    assert response["statusCode"] == 404
