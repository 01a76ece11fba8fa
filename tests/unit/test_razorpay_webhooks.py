"""Razorpay webhook adapter: signature check, raw bodies, payload shapes, mapping to notices."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from invoicing.adapters import razorpay_webhooks as rw
from invoicing.config import ConfigurationError
from invoicing.domain.errors import BadRequestError
from invoicing.services.payments import NoticeKind, Outcome, OutcomeStatus, ReviewReason

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "support" / "razorpay_samples"
SECRET = "whsec_unit_0123456789"


def load(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def raw_sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def hex_hmac(raw: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------- signature
def test_sign_is_razorpays_hex_hmac_sha256_of_the_raw_body():
    raw = raw_sample("razorpay-webhook-invoice-paid.json")
    assert rw.sign(raw, SECRET) == hex_hmac(raw, SECRET)


def test_a_signature_under_any_accepted_secret_verifies():
    raw = b'{"event":"invoice.paid"}'
    assert rw.verify_signature(raw, hex_hmac(raw, "current"), ["current", "previous"])
    assert rw.verify_signature(raw, hex_hmac(raw, "previous"), ["current", "previous"])
    assert not rw.verify_signature(raw, hex_hmac(raw, "third"), ["current", "previous"])


@pytest.mark.parametrize(
    "signature",
    ["", "   ", "abc", "0" * 64, "ﬁ" * 32, "sha256=deadbeef"],
    ids=["empty", "blank", "short", "zeros", "non-ascii", "prefixed"],
)
def test_anything_but_the_signature_fails(signature):
    assert not rw.verify_signature(b"{}", signature, [SECRET])


def test_one_changed_byte_fails():
    raw = b'{"amount": 100}'
    assert not rw.verify_signature(b'{"amount": 101}', hex_hmac(raw, SECRET), [SECRET])


def test_upper_case_hex_and_surrounding_space_are_tolerated():
    raw = b"{}"
    assert rw.verify_signature(raw, f" {hex_hmac(raw, SECRET).upper()} ", [SECRET])


def test_empty_secrets_never_match():
    raw = b"{}"
    assert not rw.verify_signature(raw, hex_hmac(raw, ""), ["", ""])


def test_every_secret_is_compared_in_constant_time_without_early_exit(monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(rw.hmac, "compare_digest", spy)
    raw = b"{}"

    assert rw.verify_signature(raw, hex_hmac(raw, "first"), ["first", "second", ""])
    assert len(compared) == 2  # both non-empty secrets, although the first matched


# ---------------------------------------------------------------------------------------- raw body
def test_a_plain_body_is_its_utf8_bytes():
    assert rw.raw_body('{"note": "₹ ✓"}', False) == '{"note": "₹ ✓"}'.encode()


def test_a_base64_body_is_decoded_to_the_exact_bytes():
    raw = b'{\n  "event" : "invoice.paid"\n}\n'
    assert rw.raw_body(base64.b64encode(raw).decode(), True) == raw


def test_a_missing_body_is_empty():
    assert rw.raw_body(None, False) == b""
    assert rw.raw_body("", True) == b""


def test_invalid_base64_is_a_bad_request():
    with pytest.raises(BadRequestError):
        rw.raw_body("not base64!!", True)


# ------------------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    ("name", "kind", "provider_invoice_id", "payment_id", "amount", "method"),
    [
        ("invoice-paid", NoticeKind.PAYMENT, "inv_DEWJo2pglrMHZw", "pay_DEWKEXio2yzuPg", 479030, "upi"),
        (
            "invoice-partially-paid",
            NoticeKind.PAYMENT,
            "inv_DEW1rqhJxTyZwz",
            "pay_DEW499hvSyqk4Q",
            10000,
            "netbanking",
        ),
        ("payment-captured", NoticeKind.PAYMENT, None, "pay_DESyzxuld02Zul", 100, "upi"),
        ("invoice-expired", NoticeKind.EXPIRY, "inv_DEWZrK1R4nmaXu", None, None, None),
    ],
)
def test_every_handled_sample_is_read(name, kind, provider_invoice_id, payment_id, amount, method):
    notice = rw.parse_notice(raw_sample(f"razorpay-webhook-{name}.json"), "evt_1")

    assert notice.kind is kind
    assert notice.event_type == load(f"razorpay-webhook-{name}.json")["event"]
    assert notice.provider_invoice_id == provider_invoice_id
    assert notice.invoice_id is None  # the samples' notes are []
    if payment_id:
        assert notice.payment is not None
        assert (notice.payment.id, notice.payment.amount, notice.payment.method) == (
            payment_id,
            amount,
            method,
        )
        assert notice.payment.currency == "INR"
        assert notice.payment_captured
    else:
        assert notice.payment is None


def test_the_payment_time_is_razorpays_created_at_in_utc():
    notice = rw.parse_notice(raw_sample("razorpay-webhook-invoice-paid.json"), "evt_1")
    assert notice.payment is not None
    assert notice.payment.paid_at == datetime.fromtimestamp(1567687127, tz=UTC)
    assert notice.occurred_at == datetime.fromtimestamp(1567687127, tz=UTC)


def test_a_failed_payment_sample_is_read():
    notice = rw.parse_notice(raw_sample("razorpay-webhook-payment-failed.json"), "evt_1")

    assert notice.kind is NoticeKind.FAILED_PAYMENT
    assert notice.provider_invoice_id == "inv_EpitssSmeINDJU"
    failed = notice.failed_payment
    assert failed is not None
    assert (failed.id, failed.amount, failed.method, failed.error_code, failed.error_reason) == (
        "pay_Epiu9wz2hXBGsJ",
        10000,
        "wallet",
        "BAD_REQUEST_ERROR",
        "payment_failed",
    )


@pytest.mark.parametrize(
    "name",
    [
        "razorpay-webhook-order-paid.json",
        "razorpay-sdk-fixture-payment-authorized-webhook.json",
    ],
)
def test_unhandled_event_types_are_read_as_unhandled(name):
    notice = rw.parse_notice(raw_sample(name), "evt_1")
    assert notice.kind is NoticeKind.UNHANDLED
    assert notice.event_type == load(name)["event"]


@pytest.mark.parametrize("notes", [[], None, {}, {"invoice_id": "inv_Ours0000000001", "other": 1}])
def test_notes_may_be_an_object_an_empty_list_or_null(notes):
    document = load("razorpay-webhook-invoice-paid.json")
    document["payload"]["invoice"]["entity"]["notes"] = notes

    notice = rw.parse_notice(json.dumps(document).encode(), "evt_1")

    assert notice.kind is NoticeKind.PAYMENT
    assert notice.invoice_id == ("inv_Ours0000000001" if notes else None)


def test_a_non_string_invoice_id_in_notes_is_not_used():
    document = load("razorpay-webhook-invoice-paid.json")
    document["payload"]["invoice"]["entity"]["notes"] = {"invoice_id": 42}

    assert rw.parse_notice(json.dumps(document).encode(), "evt_1").invoice_id is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["payload"]["payment"]["entity"].update(amount=479030.5), "payment.entity.amount"),
        (lambda d: d["payload"]["payment"]["entity"].update(amount="479030"), "payment.entity.amount"),
        (lambda d: d["payload"]["payment"]["entity"].update(amount=0), "(Payment) at: amount"),
        (lambda d: d["payload"]["payment"]["entity"].pop("currency"), "payment.entity.currency"),
        (lambda d: d["payload"].pop("invoice"), "invoice"),
        (lambda d: d["payload"].pop("payment"), "payload.payment"),
    ],
    ids=["float-amount", "string-amount", "zero-amount", "no-currency", "no-invoice", "no-payment"],
)
def test_a_handled_event_of_an_unexpected_shape_is_unreadable_not_an_error(change, where):
    document = load("razorpay-webhook-invoice-paid.json")
    change(document)

    notice = rw.parse_notice(json.dumps(document).encode(), "evt_1")

    assert notice.kind is NoticeKind.UNREADABLE
    assert notice.event_type == "invoice.paid"
    assert notice.problem and where in notice.problem
    assert "gaurav" not in notice.problem.lower()


def test_json_that_is_not_an_event_is_unreadable():
    notice = rw.parse_notice(b"[1, 2, 3]", "evt_1")
    assert (notice.kind, notice.event_type) == (NoticeKind.UNREADABLE, "unknown")


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe{}", b'{"event": "invoice.paid",}'])
def test_malformed_json_is_a_bad_request(raw):
    with pytest.raises(BadRequestError):
        rw.parse_notice(raw, "evt_1")


@pytest.mark.parametrize("currency", ["USD", "usd"])
def test_the_currency_is_carried_over_for_the_domain_to_compare(currency):
    document = load("razorpay-webhook-payment-captured.json")
    document["payload"]["payment"]["entity"]["currency"] = currency

    notice = rw.parse_notice(json.dumps(document).encode(), "evt_1")

    assert notice.payment is not None and notice.payment.currency == "USD"


def test_a_payment_without_a_method_is_recorded_as_unknown():
    document = load("razorpay-webhook-payment-captured.json")
    document["payload"]["payment"]["entity"]["method"] = None

    notice = rw.parse_notice(json.dumps(document).encode(), "evt_1")

    assert notice.payment is not None and notice.payment.method == "unknown"


# ------------------------------------------------------------------------------------------ receiver
class Recorder:
    def __init__(self) -> None:
        self.notices: list[Any] = []

    def __call__(self, *, notice: Any) -> Outcome:
        self.notices.append(notice)
        return Outcome(status=OutcomeStatus.PROCESSED)


def test_the_receiver_verifies_before_it_reads_and_passes_the_event_id():
    process = Recorder()
    receiver = rw.RazorpayWebhookReceiver(secrets=lambda: [SECRET, None], process=process)
    raw = raw_sample("razorpay-webhook-invoice-paid.json")

    outcome = receiver.receive(
        raw.decode(), False, {"X-RAZORPAY-SIGNATURE": hex_hmac(raw, SECRET), "x-razorpay-event-id": "evt_A"}
    )

    assert outcome.status is OutcomeStatus.PROCESSED
    [notice] = process.notices
    assert (notice.event_id, notice.kind) == ("evt_A", NoticeKind.PAYMENT)


def test_the_receiver_refuses_a_bad_signature_without_reading_the_body():
    process = Recorder()
    receiver = rw.RazorpayWebhookReceiver(secrets=lambda: [SECRET], process=process)

    with pytest.raises(BadRequestError) as refused:
        receiver.receive("not even json", False, {"x-razorpay-signature": "0" * 64})

    assert refused.value.details[0]["loc"] == ["header", "X-Razorpay-Signature"]
    assert process.notices == []


def test_without_an_event_id_the_body_digest_is_the_key():
    process = Recorder()
    receiver = rw.RazorpayWebhookReceiver(secrets=lambda: [SECRET], process=process)
    raw = raw_sample("razorpay-webhook-order-paid.json")

    receiver.receive(raw.decode(), False, {"x-razorpay-signature": hex_hmac(raw, SECRET)})

    assert process.notices[0].event_id == "body-sha256:" + hashlib.sha256(raw).hexdigest()


def test_without_any_webhook_secret_the_receiver_fails_loudly():
    receiver = rw.RazorpayWebhookReceiver(secrets=lambda: ["", None], process=Recorder())
    with pytest.raises(ConfigurationError):
        receiver.receive("{}", False, {"x-razorpay-signature": hex_hmac(b"{}", "")})


def test_outcome_metrics_name_the_business_event():
    assert Outcome(status=OutcomeStatus.PROCESSED, effect="PaymentRecorded").metric == "PaymentRecorded"
    assert Outcome(status=OutcomeStatus.DUPLICATE).metric == "WebhookDuplicate"
    assert (
        Outcome(status=OutcomeStatus.IGNORED, reason=ReviewReason.UNKNOWN_INVOICE).metric == "WebhookIgnored"
    )


# ------------------------------------------------------------------------------------ cold start
def test_the_handler_imports_without_the_razorpay_sdk_or_aws_calls():
    """Lambda-like import: the function folder and the layer on the path, nothing else of ours."""
    code = (
        "import sys, botocore.client\n"
        "calls = []\n"
        "botocore.client.BaseClient._make_api_call = lambda self, op, params: calls.append(op)\n"
        "import handler\n"
        "assert 'razorpay' not in sys.modules, 'the razorpay SDK was imported'\n"
        "assert calls == [], calls\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-south-1", "POWERTOOLS_TRACE_DISABLED": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions" / "razorpay_webhook",
        env=env | {"PYTHONPATH": str(ROOT / "shared")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
