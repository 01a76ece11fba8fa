"""The Razorpay adapter against Razorpay's documented Invoices API, its HTTP intercepted by ``responses``.

Checks what is sent (paths, field names, paise, totals equal to ours, Basic auth, a timeout on
every call), what each state found at Razorpay leads to, and that every failure becomes
PaymentProviderError (the API's 502).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import responses

from invoicing.adapters.razorpay import RazorpayPaymentProvider, invoice_body, line_items
from invoicing.adapters.secrets import RazorpayCredentials
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    InvalidTransitionError,
    PaymentProviderError,
)
from tests.unit.factories import customer, draft, issued, line

API = "https://api.razorpay.com/v1/invoices"
CREDENTIALS = RazorpayCredentials(key_id="rzp_test_abc", key_secret="s3cret", webhook_secret="wh")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def provider() -> RazorpayPaymentProvider:
    return RazorpayPaymentProvider(lambda: CREDENTIALS, timeout_seconds=3.5)


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def sent(call) -> dict:
    return json.loads(call.request.body) if call.request.body else {}


def razorpay_invoice(invoice, *, status: str, rzp_id: str = "inv_Rzp000000000A1", **overrides) -> dict:
    body = invoice_body(invoice, draft=status == "draft")
    return {
        "id": rzp_id,
        "entity": "invoice",
        "status": status,
        "short_url": f"https://rzp.io/i/{rzp_id[-6:]}",
        "amount": sum(item["amount"] for item in body["line_items"]),
        "receipt": body["receipt"],
        "partial_payment": body["partial_payment"],
        "expire_by": body.get("expire_by"),
        "line_items": [{"id": f"li_{i}", **item} for i, item in enumerate(body["line_items"])],
        **overrides,
    }


# ----------------------------------------------------------------------------------- create
def test_create_draft_posts_a_draft_whose_total_is_our_amount_to_the_paisa(provider, http):
    invoice = draft(
        line_items=[line(), line(resource_name="gpu-a100", quantity="0.5", unit_rate="245.50")],
        expire_by=datetime(2026, 12, 31, 18, 30, tzinfo=UTC),
        description="Cloud usage September 2026",
    )
    http.post(
        API,
        json={"id": "inv_Rzp000000000A1", "status": "draft", "amount": invoice.amount, "receipt": invoice.id},
    )

    created = provider.create_draft(invoice)

    (call,) = http.calls
    body = sent(call)
    assert body["type"] == "invoice" and body["draft"] == "1"
    assert body["currency"] == "INR" and body["receipt"] == invoice.id
    assert body["sms_notify"] == 0 and body["email_notify"] == 0
    assert body["partial_payment"] is False
    assert body["expire_by"] == 1798741800
    assert body["description"] == "Cloud usage September 2026"
    assert body["notes"] == {"invoice_id": invoice.id, "account_id": "acc_1"}
    assert body["customer"] == {
        "name": "Acme Analytics LLP",
        "email": "billing@acme.example",
        "billing_address": {
            "line1": "4th Floor, Example Towers",
            "zipcode": "400001",
            "city": "Mumbai",
            "state": "Maharashtra",
            "country": "in",
        },
    }
    names = [item["name"] for item in body["line_items"]]
    assert names == ["vm-web-1", "gpu-a100", "CGST @ 9%", "SGST @ 9%"]
    assert [item["amount"] for item in body["line_items"]] == [
        90000,
        12275,
        invoice.tax.cgst,
        invoice.tax.sgst,
    ]
    assert all(item["quantity"] == 1 and item["currency"] == "INR" for item in body["line_items"])
    assert all(isinstance(item["amount"], int) for item in body["line_items"])
    assert sum(item["amount"] for item in body["line_items"]) == invoice.amount
    assert "720 hour × ₹1.25" in body["line_items"][0]["description"]
    assert "2026-09-01 00:00 – 2026-09-30 18:29 UTC" in body["line_items"][0]["description"]
    expected_auth = "Basic " + base64.b64encode(b"rzp_test_abc:s3cret").decode()
    assert call.request.headers["Authorization"] == expected_auth
    assert call.request.headers["Content-type"] == "application/json"
    assert call.request.req_kwargs["timeout"] == (3.5, 3.5)
    assert created.provider_id == "inv_Rzp000000000A1" and created.status == "draft"


def test_an_inter_state_invoice_carries_igst(provider):
    invoice = draft(customer=customer(intra_state=False))

    items = line_items(invoice)

    assert [item["name"] for item in items] == ["vm-web-1", "IGST @ 18%"]
    assert items[1]["amount"] == invoice.tax.igst == 16200
    assert sum(item["amount"] for item in items) == invoice.amount


def test_lines_of_zero_paise_are_left_out_and_the_total_still_matches():
    invoice = draft(line_items=[line(), line(resource_name="free-tier", unit_rate="0")])

    items = line_items(invoice)

    assert "free-tier" not in [item["name"] for item in items]
    assert sum(item["amount"] for item in items) == invoice.amount


def test_base_url_points_the_sdk_elsewhere(http):
    provider = RazorpayPaymentProvider(lambda: CREDENTIALS, base_url="http://127.0.0.1:9999")
    http.post("http://127.0.0.1:9999/v1/invoices", json={"id": "inv_Local00000000A", "status": "draft"})

    assert provider.create_draft(draft()).provider_id == "inv_Local00000000A"


# ---------------------------------------------------------------------------------- publish
def test_publish_of_a_matching_draft_patches_the_number_in_and_issues_it(provider, http):
    ours = issued(draft(), invoice_number="INV/2627/000007")
    theirs = razorpay_invoice(draft(), status="draft")
    theirs["line_items"] = [{"id": f"li_{i}", **item} for i, item in enumerate(line_items(ours))]
    rzp = theirs["id"]
    http.get(f"{API}/{rzp}", json=theirs)
    http.patch(f"{API}/{rzp}", json=theirs | {"receipt": "INV/2627/000007"})
    http.post(f"{API}/{rzp}/issue", json=theirs | {"status": "issued", "receipt": "INV/2627/000007"})

    published = provider.publish(rzp, ours)

    patch = sent(http.calls[1])
    assert patch["receipt"] == "INV/2627/000007"
    assert patch["notes"]["invoice_number"] == "INV/2627/000007"
    assert "line_items" not in patch and "type" not in patch
    assert published.provider_id == rzp and published.status == "issued"
    assert published.payment_url == theirs["short_url"]


def test_publish_of_an_already_issued_invoice_only_corrects_the_receipt(provider, http):
    ours = issued(invoice_number="INV/2627/000008")
    theirs = razorpay_invoice(ours, status="issued", receipt="INV/2627/000007")
    http.get(f"{API}/{theirs['id']}", json=theirs)
    http.patch(f"{API}/{theirs['id']}", json=theirs | {"receipt": "INV/2627/000008"})

    published = provider.publish(theirs["id"], ours)

    assert sent(http.calls[1]) == {"receipt": "INV/2627/000008"}
    assert published.receipt == "INV/2627/000008"
    assert len(http.calls) == 2  # no second issue


def test_publish_of_an_issued_invoice_that_already_matches_changes_nothing(provider, http):
    ours = issued()
    theirs = razorpay_invoice(ours, status="issued")
    http.get(f"{API}/{theirs['id']}", json=theirs)

    assert provider.publish(theirs["id"], ours).provider_id == theirs["id"]
    assert len(http.calls) == 1


def test_publish_replaces_a_draft_whose_lines_no_longer_match(provider, http):
    old = razorpay_invoice(draft(), status="draft")
    ours = issued(draft(line_items=[line(quantity="10")]))
    http.get(f"{API}/{old['id']}", json=old)
    http.post(API, json={"id": "inv_Fresh00000000A", "status": "draft"})
    http.post(
        f"{API}/inv_Fresh00000000A/issue",
        json={"id": "inv_Fresh00000000A", "status": "issued", "short_url": "https://rzp.io/i/new"},
    )
    http.delete(f"{API}/{old['id']}", json=[])

    published = provider.publish(old["id"], ours)

    assert published.provider_id == "inv_Fresh00000000A" and published.payment_url == "https://rzp.io/i/new"
    fresh = sent(http.calls[1])
    assert fresh["receipt"] == ours.invoice_number
    assert sum(item["amount"] for item in fresh["line_items"]) == ours.amount


def test_publish_cancels_an_issued_invoice_that_no_longer_matches_before_issuing_a_fresh_one(provider, http):
    old = razorpay_invoice(draft(), status="issued")
    ours = issued(draft(line_items=[line(quantity="10")]))
    http.get(f"{API}/{old['id']}", json=old)
    http.post(f"{API}/{old['id']}/cancel", json=old | {"status": "cancelled"})
    http.post(API, json={"id": "inv_Fresh00000000A", "status": "draft"})
    http.post(f"{API}/inv_Fresh00000000A/issue", json={"id": "inv_Fresh00000000A", "status": "issued"})

    assert provider.publish(old["id"], ours).provider_id == "inv_Fresh00000000A"
    assert [call.request.url.rsplit("/", 1)[-1] for call in http.calls[:2]] == [old["id"], "cancel"]


def test_publish_replaces_an_invoice_razorpay_has_cancelled(provider, http):
    ours = issued()
    old = razorpay_invoice(ours, status="cancelled")
    http.get(f"{API}/{old['id']}", json=old)
    http.post(API, json={"id": "inv_Fresh00000000A", "status": "draft"})
    http.post(f"{API}/inv_Fresh00000000A/issue", json={"id": "inv_Fresh00000000A", "status": "issued"})

    assert provider.publish(old["id"], ours).provider_id == "inv_Fresh00000000A"


# ----------------------------------------------------------------------------------- update
def test_update_patches_what_changed_on_an_issued_invoice(provider, http):
    ours = issued().model_copy(update={"partial_payment": True})
    theirs = razorpay_invoice(issued(), status="issued")
    http.get(f"{API}/{theirs['id']}", json=theirs)
    http.patch(f"{API}/{theirs['id']}", json=theirs | {"partial_payment": True})

    provider.update(theirs["id"], ours)

    assert sent(http.calls[1]) == {"partial_payment": True}


def test_update_refuses_what_razorpay_refuses(provider, http):
    base = issued(expire_by=datetime(2026, 12, 31, tzinfo=UTC))
    partly = razorpay_invoice(base, status="partially_paid", rzp_id="inv_Partly0000000A")
    expired = razorpay_invoice(base, status="expired", rzp_id="inv_Expired000000A")
    http.get(f"{API}/{partly['id']}", json=partly)
    http.get(f"{API}/{expired['id']}", json=expired)
    http.get(f"{API}/{partly['id']}", json=partly)

    with pytest.raises(InvalidTransitionError):
        provider.update(partly["id"], base.model_copy(update={"partial_payment": True}))
    with pytest.raises(ConflictError):
        provider.update(expired["id"], base)
    with pytest.raises(DomainValidationError):
        provider.update(partly["id"], base.model_copy(update={"expire_by": None}))


# ----------------------------------------------------------------------------------- cancel
def test_cancel_posts_cancel(provider, http):
    http.post(f"{API}/inv_Rzp000000000A1/cancel", json={"id": "inv_Rzp000000000A1", "status": "cancelled"})

    provider.cancel("inv_Rzp000000000A1")

    assert len(http.calls) == 1


def test_cancel_of_an_invoice_razorpay_already_cancelled_is_fine(provider, http):
    error = {"error": {"code": "BAD_REQUEST_ERROR", "description": "Invoice is already cancelled"}}
    http.post(f"{API}/inv_Rzp000000000A1/cancel", status=400, json=error)
    http.get(f"{API}/inv_Rzp000000000A1", json={"id": "inv_Rzp000000000A1", "status": "cancelled"})

    provider.cancel("inv_Rzp000000000A1")


def test_cancel_refused_for_a_paid_invoice_is_a_provider_error(provider, http):
    error = {"error": {"code": "BAD_REQUEST_ERROR", "description": "Paid invoice cannot be cancelled"}}
    http.post(f"{API}/inv_Rzp000000000A1/cancel", status=400, json=error)
    http.get(f"{API}/inv_Rzp000000000A1", json={"id": "inv_Rzp000000000A1", "status": "paid"})

    with pytest.raises(PaymentProviderError, match="paid"):
        provider.cancel("inv_Rzp000000000A1")


# --------------------------------------------------------------------------------- failures
@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("connection refused"),
    ],
)
def test_transport_failures_become_provider_errors(provider, http, failure):
    http.post(API, body=failure)

    with pytest.raises(PaymentProviderError, match="retrying is safe"):
        provider.create_draft(draft())


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (
            400,
            {"error": {"code": "BAD_REQUEST_ERROR", "description": "The amount must be at least INR 1.00"}},
        ),
        (500, {"error": {"code": "SERVER_ERROR", "description": "We are facing some trouble"}}),
        (502, {"error": {"code": "GATEWAY_ERROR", "description": "Gateway timeout"}}),
        (503, "<html>Service Unavailable</html>"),
        (401, {"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}),
    ],
)
def test_razorpay_errors_become_provider_errors(provider, http, status, payload):
    if isinstance(payload, str):
        http.get(f"{API}/inv_Rzp000000000A1", status=status, body=payload)
    else:
        http.get(f"{API}/inv_Rzp000000000A1", status=status, json=payload)

    with pytest.raises(PaymentProviderError):
        provider.publish("inv_Rzp000000000A1", issued())


def test_a_timeout_reads_as_a_timeout(provider, http):
    http.get(f"{API}/inv_Rzp000000000A1", body=requests.exceptions.ReadTimeout("slow"))

    with pytest.raises(PaymentProviderError, match=r"did not answer within 3\.5 s"):
        provider.publish("inv_Rzp000000000A1", issued())


def test_unconfigured_keys_fail_before_any_call(http):
    provider = RazorpayPaymentProvider(
        lambda: RazorpayCredentials(key_id="", key_secret="", webhook_secret="")
    )

    with pytest.raises(PaymentProviderError, match="not configured"):
        provider.create_draft(draft())
    assert len(http.calls) == 0


def test_rotated_keys_are_used_from_the_next_call(http):
    keys = iter(
        [CREDENTIALS, RazorpayCredentials(key_id="rzp_test_new", key_secret="n3w", webhook_secret="w")]
    )
    provider = RazorpayPaymentProvider(lambda: next(keys))
    http.post(API, json={"id": "inv_A0000000000000", "status": "draft"})
    http.post(API, json={"id": "inv_B0000000000000", "status": "draft"})

    provider.create_draft(draft())
    provider.create_draft(draft())

    assert (
        http.calls[1].request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"rzp_test_new:n3w").decode()
    )


# ------------------------------------------------------------------------------- cold start
def test_neither_the_adapter_nor_the_api_handler_imports_the_sdk_at_import_time():
    code = (
        "import sys, handler, invoicing.adapters.razorpay, invoicing.wiring.api;"
        "heavy = sorted(m for m in ('razorpay', 'requests') if m in sys.modules);"
        "assert not heavy, heavy"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVOICES_", "SUPPLIER"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions" / "invoice_api"), str(ROOT / "shared")])
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions" / "invoice_api",
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
