"""Operator writes (create, patch, issue, cancel, delete) and customer actions (pay, disputes) at the
handler: each route's answer and its distinct refusals (status and error body), checked in DynamoDB
and at Razorpay, and one issue end to end to the event bus.

What a write does beyond its answer (numbering, retries converging, what each status allows, which
events follow) is tested on the fakes: tests/services/test_invoices.py, tests/services/corrections,
and the domain's rules in tests/unit/test_invoice.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from invoicing.domain.errors import NotFoundError
from invoicing.domain.invoice import Invoice, InvoiceStatus, Payment
from invoicing.repository import records
from invoicing.repository.table import serialize
from tests.integration.api.conftest import NOW, Api, Seed, at_razorpay, create_body
from tests.support.razorpay import RecordingStandIn
from tests.support.stack import Invoices, MotoStack


def pay(repository: Invoices, invoice_id: str, amount: int) -> Invoice:
    before = repository.get(invoice_id)
    payment = Payment(id="pay_1", amount=amount, method="card", paid_at=NOW + timedelta(hours=1))
    return repository.save(before, before.apply_payment(payment, NOW + timedelta(hours=1)))


def counter(dynamodb: Any, resources: dict[str, str], series: str = "INV/2627") -> int | None:
    item = dynamodb.get_item(
        TableName=resources["INVOICES_TABLE"], Key=serialize(records.counter_key(series))
    ).get("Item")
    return int(item["last"]["N"]) if item else None


# ------------------------------------------------------------------------------------- create
def test_create_answers_201_with_a_draft_and_stores_it(api: Api, repository: Invoices) -> None:
    reply = api.operator("POST", "/invoices", body=create_body("acc_a", payment_terms_days=30, notes="PO 42"))

    assert reply.status == 201
    body = reply.json()
    assert body["status"] == "draft" and body["invoice_number"] is None
    assert body["date"] is None and body["due_date"] is None and body["payment_url"] is None
    assert body["id"].startswith("inv_") and len(body["id"]) == 18
    stored = repository.get(body["id"])
    assert stored.account_id == "acc_a" and stored.status is InvoiceStatus.DRAFT
    assert stored.amount == body["amount"] == 111570
    assert stored.payment_terms_days == 30 and stored.notes == "PO 42"
    assert body["supplier"]["gstin"] == "27AAPFU0939F1ZV"  # from configuration


def test_create_with_the_same_idempotency_key_and_body_answers_the_same_invoice(
    api: Api, repository: Invoices
) -> None:
    body = create_body("acc_a")
    headers = {"Idempotency-Key": "run-2026-09-acc_a"}
    first = api.operator("POST", "/invoices", body=body, headers=headers)
    # the same JSON with other whitespace and key order
    respaced = "{\n  " + ",\n  ".join(f'"{k}": {json.dumps(v)}' for k, v in reversed(body.items())) + "\n}"
    again = api.operator("POST", "/invoices", body=respaced, headers=headers)

    assert first.status == again.status == 201
    assert again.json()["id"] == first.json()["id"]
    listed = api.operator("GET", "/invoices", query={"account_id": "acc_a"}).json()["items"]
    assert [row["id"] for row in listed] == [first.json()["id"]]
    assert repository.get(first.json()["id"]).version == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(api: Api) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = api.operator("POST", "/invoices", body=create_body("acc_a"), headers=headers)

    other = api.operator("POST", "/invoices", body=create_body("acc_a", notes="changed"), headers=headers)

    assert first.status == 201
    assert other.status == 409
    assert other.error["code"] == "conflict"
    listed = api.operator("GET", "/invoices", query={"account_id": "acc_a"}).json()["items"]
    assert len(listed) == 1


def test_create_without_a_key_makes_a_new_invoice_each_time(api: Api) -> None:
    first, second = api.create("acc_a"), api.create("acc_a")

    assert first["id"] != second["id"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"surprise": 1}, ["body", "surprise"]),
        ({"customer": {**create_body()["customer"], "phone": "123"}}, ["body", "customer", "phone"]),
        (
            {"line_items": [{**create_body()["line_items"][0], "amount": 5}]},
            ["body", "line_items", 0, "amount"],
        ),
        ({"line_items": []}, ["body", "line_items"]),
        (
            {"line_items": [{**create_body()["line_items"][0], "quantity": 720}]},
            ["body", "line_items", 0, "quantity"],
        ),
        ({"payment_terms_days": 400}, ["body", "payment_terms_days"]),
        ({"expire_by": "2026-12-01T00:00:00"}, ["body", "expire_by"]),
    ],
)
def test_create_refuses_unknown_fields_and_bad_values_with_422(
    api: Api, change: dict[str, Any], loc: list[str | int]
) -> None:
    reply = api.operator("POST", "/invoices", body=create_body("acc_a") | change)

    assert reply.status == 422
    assert reply.error["code"] == "validation_error"
    assert loc in [detail["loc"] for detail in reply.error["details"]]
    assert all(set(detail) == {"loc", "msg"} for detail in reply.error["details"])


def test_create_refuses_what_the_domain_refuses_with_a_loc_in_the_body(api: Api) -> None:
    bad_gstin = {**create_body()["customer"], "gstin": "27AAPFU0939F1ZX"}

    reply = api.operator("POST", "/invoices", body=create_body("acc_a", customer=bad_gstin))

    assert reply.status == 422
    assert reply.error["details"][0]["loc"] == ["body", "customer", "gstin"]
    assert "check" in reply.error["details"][0]["msg"].lower()


def test_malformed_json_is_a_bad_request(api: Api) -> None:
    reply = api.operator("POST", "/invoices", body='{"account_id": "acc_a",')

    assert reply.status == 400
    assert reply.error == {
        "code": "bad_request",
        "message": "The request body is not valid JSON.",
        "details": [],
    }


# -------------------------------------------------------------------------------------- patch
def test_patch_of_a_draft_may_change_anything_and_totals_follow(api: Api, repository: Invoices) -> None:
    draft = api.create("acc_a")
    lines = [{**create_body()["line_items"][0], "quantity": "100"}]

    reply = api.operator("PATCH", f"/invoices/{draft['id']}", body={"line_items": lines, "description": None})

    assert reply.status == 200
    body = reply.json()
    assert body["taxable_amount"] == 12500 and body["amount"] == 12500 + 2 * 1125
    assert body["description"] is None
    stored = repository.get(draft["id"])
    assert stored.amount == body["amount"] and stored.version == 2


def test_patch_of_an_issued_invoice_refuses_what_its_status_forbids_and_changes_terms_at_razorpay_too(
    api: Api, repository: Invoices, razorpay: RecordingStandIn
) -> None:
    # (what each status allows: tests/unit/test_invoice.py)
    invoice = api.issued("acc_a")
    before = repository.get(invoice["id"])

    refusal = api.operator("PATCH", f"/invoices/{invoice['id']}", body={"description": "x"})
    assert refusal.status == 409
    assert refusal.error["code"] == "invalid_state"
    assert "'issued'" in refusal.error["message"]
    assert repository.get(invoice["id"]) == before

    allowed = {"notes": "n", "terms": "t", "partial_payment": True}
    accepted = api.operator("PATCH", f"/invoices/{invoice['id']}", body=allowed)
    assert accepted.status == 200, accepted.text
    stored = repository.get(invoice["id"])
    for name, value in allowed.items():
        assert getattr(stored, name) == value == accepted.json()[name]
    # what Razorpay collects by changed there too
    assert razorpay.fetch_invoice(invoice["razorpay_invoice_id"])["partial_payment"] is True


def test_patch_with_nothing_to_change_or_a_null_required_field_is_a_validation_error(api: Api) -> None:
    draft = api.create("acc_a")

    for body in ({}, {"customer": None}, {"account_id": "acc_b"}):
        reply = api.operator("PATCH", f"/invoices/{draft['id']}", body=body)
        assert reply.status == 422, body


def test_patch_of_an_issued_invoice_leaves_it_unchanged_when_razorpay_fails(
    api: Api, repository: Invoices, razorpay: RecordingStandIn
) -> None:
    invoice = api.issued("acc_a")
    before = repository.get(invoice["id"])
    razorpay.fail_next("edit", "server_error")

    reply = api.operator("PATCH", f"/invoices/{invoice['id']}", body={"partial_payment": True})

    assert reply.status == 502
    assert repository.get(invoice["id"]) == before


# ------------------------------------------------------------------------------------- delete
def test_delete_of_a_draft_answers_204_and_it_is_gone(api: Api, repository: Invoices) -> None:
    draft = api.create("acc_a")

    reply = api.operator("DELETE", f"/invoices/{draft['id']}")

    assert reply.status == 204 and reply.text == ""
    with pytest.raises(NotFoundError):
        repository.get(draft["id"])
    assert api.operator("GET", f"/invoices/{draft['id']}").status == 404


def test_a_razorpay_failure_on_delete_keeps_the_draft_for_a_retry(
    api: Api, repository: Invoices, razorpay: RecordingStandIn
) -> None:
    draft = api.create("acc_a")
    razorpay.fail_next("issue", "server_error")
    api.operator("POST", f"/invoices/{draft['id']}/issue")
    razorpay.fail_next("delete", "timeout")

    assert api.operator("DELETE", f"/invoices/{draft['id']}").status == 502
    assert repository.get(draft["id"]).status is InvoiceStatus.DRAFT

    assert api.operator("DELETE", f"/invoices/{draft['id']}").status == 204
    assert at_razorpay(razorpay) == {}  # the draft left at Razorpay was deleted


def test_delete_of_an_issued_invoice_is_invalid_state(api: Api, repository: Invoices, seed: Seed) -> None:
    invoice = seed("acc_a")

    reply = api.operator("DELETE", f"/invoices/{invoice.id}")

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state"
    assert "'issued'" in reply.error["message"]
    assert repository.get(invoice.id) == invoice


# -------------------------------------------------------------------------------------- issue
def test_issue_numbers_dates_and_links_the_invoice_and_publishes_invoice_issued(
    api: Api, repository: Invoices, razorpay: RecordingStandIn, effects: MotoStack
) -> None:
    draft = api.create("acc_a", expire_by="2026-12-31T18:30:00Z")

    reply = api.operator("POST", f"/invoices/{draft['id']}/issue")

    assert reply.status == 200
    body = reply.json()
    assert body["status"] == "issued" and body["invoice_number"] == "INV/2627/000001"
    assert body["date"] == "2026-10-01" and body["due_date"] == "2026-10-16"
    assert body["issued_at"].startswith("2026-10-01T06:30")
    (rzp,) = at_razorpay(razorpay).values()
    assert body["razorpay_invoice_id"] == rzp["id"]
    assert body["payment_url"] == rzp["short_url"]
    assert rzp["status"] == "issued"
    assert rzp["amount"] == body["amount"] == 111570
    assert rzp["receipt"] == "INV/2627/000001"
    assert rzp["expire_by"] == 1798741800
    assert rzp["notes"] == {
        "invoice_id": draft["id"],
        "account_id": "acc_a",
        "invoice_number": "INV/2627/000001",
    }
    stored = repository.get(draft["id"])
    assert stored.status is InvoiceStatus.ISSUED and stored.payment_url == body["payment_url"]
    assert repository.find_by_provider_invoice(rzp["id"]).id == draft["id"]
    events = effects.events()
    assert [(kind, detail["invoice_id"]) for kind, detail in events] == [("InvoiceIssued", draft["id"])]
    assert events[0][1]["invoice_number"] == "INV/2627/000001"
    assert events[0][1]["amount_due"] == 111570


def test_a_razorpay_failure_on_issue_is_a_502_that_leaves_nothing_half_done_and_a_retry_converges(
    api: Api,
    repository: Invoices,
    razorpay: RecordingStandIn,
    dynamodb: Any,
    resources: dict[str, str],
    effects: MotoStack,
) -> None:
    # (a failed create or a failed first step of publishing: tests/services/test_invoices.py; every
    # transport failure is a PaymentProviderError: tests/unit/test_razorpay_adapter.py)
    draft = api.create("acc_a")
    razorpay.fail_next("issue", "server_error")

    failed = api.operator("POST", f"/invoices/{draft['id']}/issue")

    assert failed.status == 502
    assert failed.error["code"] == "payment_provider_error"
    assert "retry" in failed.error["message"].lower()
    stored = repository.get(draft["id"])
    assert stored.status is InvoiceStatus.DRAFT and stored.invoice_number is None
    assert counter(dynamodb, resources) is None  # no number used
    marker = dynamodb.get_item(
        TableName=resources["INVOICES_TABLE"], Key=serialize(records.marker_key("INV/2627", 1))
    )
    assert "Item" not in marker
    assert effects.events() == []
    assert all(invoice["status"] == "draft" for invoice in at_razorpay(razorpay).values())

    # When the operator retries
    retried = api.operator("POST", f"/invoices/{draft['id']}/issue")

    # Then exactly one Razorpay invoice exists, issued, and it is the one ours points at
    assert retried.status == 200, retried.text
    assert razorpay.calls.count("create") == 1
    (rzp,) = at_razorpay(razorpay).values()
    assert rzp["status"] == "issued"
    assert retried.json()["razorpay_invoice_id"] == rzp["id"]
    assert retried.json()["invoice_number"] == "INV/2627/000001"
    assert counter(dynamodb, resources) == 1
    assert [kind for kind, _ in effects.events()] == ["InvoiceIssued"]


def test_issuing_twice_is_invalid_state_and_touches_nothing(api: Api, razorpay: RecordingStandIn) -> None:
    invoice = api.issued("acc_a")
    calls = len(razorpay.calls)

    reply = api.operator("POST", f"/invoices/{invoice['id']}/issue")

    assert reply.status == 409 and reply.error["code"] == "invalid_state"
    assert len(razorpay.calls) == calls


def test_issuing_an_unknown_invoice_is_not_found(api: Api) -> None:
    assert api.operator("POST", "/invoices/inv_doesnotexist00/issue").status == 404


# ------------------------------------------------------------------------------------- cancel
def test_cancel_cancels_here_and_at_razorpay(
    api: Api, repository: Invoices, razorpay: RecordingStandIn
) -> None:
    # (its events, credit note and summary: tests/services/corrections/test_credit_notes.py)
    invoice = api.issued("acc_a")

    reply = api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert reply.status == 200
    assert reply.json()["status"] == "cancelled" and reply.json()["payment_url"] is None
    assert reply.json()["cancelled_at"] is not None
    assert repository.get(invoice["id"]).status is InvoiceStatus.CANCELLED
    assert razorpay.fetch_invoice(invoice["razorpay_invoice_id"])["status"] == "cancelled"


def test_a_razorpay_failure_on_cancel_is_a_502_and_leaves_ours_unchanged(
    api: Api, repository: Invoices, razorpay: RecordingStandIn
) -> None:
    # (the retry converging, also after Razorpay had cancelled: tests/services/test_invoices.py)
    invoice = api.issued("acc_a")
    before = repository.get(invoice["id"])
    razorpay.fail_next("cancel", "timeout")

    failed = api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert failed.status == 502 and failed.error["code"] == "payment_provider_error"
    assert repository.get(invoice["id"]) == before


def test_a_paid_invoice_cannot_be_cancelled(
    api: Api, repository: Invoices, razorpay: RecordingStandIn, seed: Seed
) -> None:
    invoice = seed("acc_a")
    pay(repository, invoice.id, invoice.amount)

    reply = api.operator("POST", f"/invoices/{invoice.id}/cancel")

    assert reply.status == 409 and "'paid'" in reply.error["message"]
    assert razorpay.calls.count("cancel") == 0


# ---------------------------------------------------------------------------------------- pay
def test_pay_answers_razorpays_hosted_page(api: Api) -> None:
    invoice = api.issued("acc_a")

    reply = api.customer("acc_a", "POST", f"/invoices/{invoice['id']}/pay")

    assert reply.status == 200
    assert reply.json() == {
        "invoice_id": invoice["id"],
        "amount_due": 111570,
        "currency": "INR",
        "payment_url": invoice["payment_url"],
    }


def test_pay_is_invalid_state_when_nothing_is_due(api: Api, repository: Invoices, seed: Seed) -> None:
    # (cancelled, expired and drafts: tests/services/test_invoices.py)
    invoice = seed("acc_a")
    pay(repository, invoice.id, invoice.amount)

    reply = api.customer("acc_a", "POST", f"/invoices/{invoice.id}/pay")

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state" and "'paid'" in reply.error["message"]


# ----------------------------------------------------------------------------------- disputes
def test_a_dispute_is_created_and_the_invoice_shows_disputed(
    api: Api, repository: Invoices, seed: Seed
) -> None:
    # (its InvoiceDisputed event: tests/services/test_invoices.py)
    invoice = seed("acc_a")

    reply = api.customer(
        "acc_a",
        "POST",
        f"/invoices/{invoice.id}/disputes",
        body={"reason": "The VM was stopped for half of September.", "expected_correction": "Bill 360 hours"},
    )

    assert reply.status == 201
    body = reply.json()
    assert body["id"].startswith("dsp_") and body["invoice_id"] == invoice.id
    assert body["status"] == "open" and body["expected_correction"] == "Bill 360 hours"
    assert body["created_at"].endswith("Z")
    assert set(body) == {"id", "invoice_id", "status", "reason", "expected_correction", "created_at"}
    assert repository.get(invoice.id).disputed is True
    assert api.customer("acc_a", "GET", f"/invoices/{invoice.id}").json()["disputed"] is True


def test_a_dispute_reason_must_be_10_to_2000_characters(api: Api, seed: Seed) -> None:
    invoice = seed("acc_a")

    for reason in ("too short", "x" * 2001):
        reply = api.customer("acc_a", "POST", f"/invoices/{invoice.id}/disputes", body={"reason": reason})
        assert reply.status == 422
        assert reply.error["details"][0]["loc"] == ["body", "reason"]


def test_a_dispute_on_a_paid_invoice_is_invalid_state_and_changes_nothing(
    api: Api, repository: Invoices, seed: Seed
) -> None:
    # (drafts, cancelled and expired invoices: tests/unit/test_invoice.py, open_dispute)
    invoice = seed("acc_a")
    before = pay(repository, invoice.id, invoice.amount)

    reply = api.customer(
        "acc_a", "POST", f"/invoices/{invoice.id}/disputes", body={"reason": "The VM was stopped for a week."}
    )

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state" and "'paid'" in reply.error["message"]
    assert repository.get(invoice.id) == before
