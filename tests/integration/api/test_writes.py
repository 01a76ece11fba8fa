"""Operator writes (create, patch, issue, cancel, delete) and customer actions (pay, disputes),
each checked in the answer, in DynamoDB, at Razorpay and on the event bus."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invoicing.domain.errors import NotFoundError
from invoicing.domain.invoice import InvoiceStatus, Payment
from invoicing.repository import records
from invoicing.repository.table import serialize
from tests.integration.api.conftest import NOW, at_razorpay, create_body


def pay(repository, invoice_id: str, amount: int):
    before = repository.get(invoice_id)
    payment = Payment(id="pay_1", amount=amount, method="card", paid_at=NOW + timedelta(hours=1))
    return repository.save(before, before.apply_payment(payment, NOW + timedelta(hours=1)))


def expire(repository, invoice_id: str):
    before = repository.get(invoice_id)
    return repository.save(before, before.expire(NOW + timedelta(days=40)))


def counter(dynamodb, resources, series: str = "INV/2627") -> int | None:
    item = dynamodb.get_item(
        TableName=resources["INVOICES_TABLE"], Key=serialize(records.counter_key(series))
    ).get("Item")
    return int(item["last"]["N"]) if item else None


# ------------------------------------------------------------------------------------- create
def test_create_answers_201_with_a_draft_and_stores_it(api, repository):
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


def test_create_with_the_same_idempotency_key_and_body_answers_the_same_invoice(api, repository):
    body = create_body("acc_a")
    headers = {"Idempotency-Key": "run-2026-09-acc_a"}
    first = api.operator("POST", "/invoices", body=body, headers=headers)
    # the same JSON with other whitespace and key order
    respaced = (
        "{\n  "
        + ",\n  ".join(f'"{k}": {__import__("json").dumps(v)}' for k, v in reversed(body.items()))
        + "\n}"
    )
    again = api.operator("POST", "/invoices", body=respaced, headers=headers)

    assert first.status == again.status == 201
    assert again.json()["id"] == first.json()["id"]
    listed = api.operator("GET", "/invoices", query={"account_id": "acc_a"}).json()["items"]
    assert [row["id"] for row in listed] == [first.json()["id"]]
    assert repository.get(first.json()["id"]).version == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(api):
    headers = {"Idempotency-Key": "key-1"}
    first = api.operator("POST", "/invoices", body=create_body("acc_a"), headers=headers)

    other = api.operator("POST", "/invoices", body=create_body("acc_a", notes="changed"), headers=headers)

    assert first.status == 201
    assert other.status == 409
    assert other.error["code"] == "conflict"
    listed = api.operator("GET", "/invoices", query={"account_id": "acc_a"}).json()["items"]
    assert len(listed) == 1


def test_create_without_a_key_makes_a_new_invoice_each_time(api):
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
def test_create_refuses_unknown_fields_and_bad_values_with_422(api, change, loc):
    reply = api.operator("POST", "/invoices", body=create_body("acc_a") | change)

    assert reply.status == 422
    assert reply.error["code"] == "validation_error"
    assert loc in [detail["loc"] for detail in reply.error["details"]]
    assert all(set(detail) == {"loc", "msg"} for detail in reply.error["details"])


def test_create_refuses_what_the_domain_refuses_with_a_loc_in_the_body(api):
    bad_gstin = {**create_body()["customer"], "gstin": "27AAPFU0939F1ZX"}

    reply = api.operator("POST", "/invoices", body=create_body("acc_a", customer=bad_gstin))

    assert reply.status == 422
    assert reply.error["details"][0]["loc"] == ["body", "customer", "gstin"]
    assert "check" in reply.error["details"][0]["msg"].lower()


def test_malformed_json_is_a_bad_request(api):
    reply = api.operator("POST", "/invoices", body='{"account_id": "acc_a",')

    assert reply.status == 400
    assert reply.error == {
        "code": "bad_request",
        "message": "The request body is not valid JSON.",
        "details": [],
    }


# -------------------------------------------------------------------------------------- patch
def test_patch_of_a_draft_may_change_anything_and_totals_follow(api, repository):
    draft = api.create("acc_a")
    lines = [{**create_body()["line_items"][0], "quantity": "100"}]

    reply = api.operator("PATCH", f"/invoices/{draft['id']}", body={"line_items": lines, "description": None})

    assert reply.status == 200
    body = reply.json()
    assert body["taxable_amount"] == 12500 and body["amount"] == 12500 + 2 * 1125
    assert body["description"] is None
    stored = repository.get(draft["id"])
    assert stored.amount == body["amount"] and stored.version == 2


@pytest.mark.parametrize(
    ("status", "allowed", "refused"),
    [
        ("issued", {"notes": "n", "terms": "t", "partial_payment": True}, {"description": "x"}),
        ("overdue", {"notes": "n"}, {"payment_terms_days": 3}),
        ("paid", {"notes": "n"}, {"terms": "t"}),
        ("cancelled", {"notes": "n"}, {"partial_payment": True}),
    ],
)
def test_patch_rules_follow_the_status(api, repository, razorpay, status, allowed, refused):
    invoice = api.issued("acc_a")
    if status == "paid":
        pay(repository, invoice["id"], 111570)
    elif status == "cancelled":
        api.operator("POST", f"/invoices/{invoice['id']}/cancel")
    elif status == "overdue":
        before = repository.get(invoice["id"])
        repository.save(
            before, before.mark_overdue(NOW.date() + timedelta(days=20), NOW + timedelta(days=20))
        )
    before = repository.get(invoice["id"])

    refusal = api.operator("PATCH", f"/invoices/{invoice['id']}", body=refused)
    assert refusal.status == 409
    assert refusal.error["code"] == "invalid_state"
    assert f"'{status}'" in refusal.error["message"]
    assert repository.get(invoice["id"]) == before

    accepted = api.operator("PATCH", f"/invoices/{invoice['id']}", body=allowed)
    assert accepted.status == 200, accepted.text
    stored = repository.get(invoice["id"])
    for name, value in allowed.items():
        assert getattr(stored, name) == value == accepted.json()[name]
    if "partial_payment" in allowed:  # what Razorpay collects by changed there too
        assert razorpay.fetch_invoice(invoice["razorpay_invoice_id"])["partial_payment"] is True


def test_patch_with_nothing_to_change_or_a_null_required_field_is_a_validation_error(api):
    draft = api.create("acc_a")

    for body in ({}, {"customer": None}, {"account_id": "acc_b"}):
        reply = api.operator("PATCH", f"/invoices/{draft['id']}", body=body)
        assert reply.status == 422, body


def test_patch_of_an_issued_invoice_leaves_it_unchanged_when_razorpay_fails(api, repository, razorpay):
    invoice = api.issued("acc_a")
    before = repository.get(invoice["id"])
    razorpay.fail_next("edit", "server_error")

    reply = api.operator("PATCH", f"/invoices/{invoice['id']}", body={"partial_payment": True})

    assert reply.status == 502
    assert repository.get(invoice["id"]) == before


# ------------------------------------------------------------------------------------- delete
def test_delete_of_a_draft_answers_204_and_it_is_gone(api, repository):
    draft = api.create("acc_a")

    reply = api.operator("DELETE", f"/invoices/{draft['id']}")

    assert reply.status == 204 and reply.text == ""
    with pytest.raises(NotFoundError):
        repository.get(draft["id"])
    assert api.operator("GET", f"/invoices/{draft['id']}").status == 404


@pytest.mark.parametrize("failing", ["issue", "fetch"])
def test_deleting_a_draft_left_by_a_failed_issue_withdraws_its_razorpay_invoice(
    api, repository, razorpay, failing
):
    # Given a draft whose issue failed after Razorpay's invoice was created (draft or issued there)
    draft = api.create("acc_a")
    razorpay.fail_next(failing, "server_error")
    assert api.operator("POST", f"/invoices/{draft['id']}/issue").status == 502
    (razorpay_id,) = at_razorpay(razorpay)
    if failing == "fetch":  # an attempt got as far as issuing it at Razorpay
        razorpay.issue_invoice(razorpay_id)

    # When the operator deletes the draft
    reply = api.operator("DELETE", f"/invoices/{draft['id']}")

    # Then nothing payable is left at Razorpay
    assert reply.status == 204, reply.text
    assert at_razorpay(razorpay).get(razorpay_id, {}).get("status", "deleted") == (
        "deleted" if failing == "issue" else "cancelled"
    )
    with pytest.raises(NotFoundError):
        repository.get(draft["id"])


def test_a_razorpay_failure_on_delete_keeps_the_draft_for_a_retry(api, repository, razorpay):
    draft = api.create("acc_a")
    razorpay.fail_next("issue", "server_error")
    api.operator("POST", f"/invoices/{draft['id']}/issue")
    razorpay.fail_next("delete", "timeout")

    assert api.operator("DELETE", f"/invoices/{draft['id']}").status == 502
    assert repository.get(draft["id"]).status is InvoiceStatus.DRAFT

    assert api.operator("DELETE", f"/invoices/{draft['id']}").status == 204
    assert at_razorpay(razorpay) == {}  # the draft left at Razorpay was deleted


def test_delete_of_an_issued_invoice_is_invalid_state(api, repository):
    invoice = api.issued("acc_a")

    reply = api.operator("DELETE", f"/invoices/{invoice['id']}")

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state"
    assert "'issued'" in reply.error["message"]
    assert repository.get(invoice["id"]).status is InvoiceStatus.ISSUED


# -------------------------------------------------------------------------------------- issue
def test_issue_numbers_dates_and_links_the_invoice_and_publishes_invoice_issued(
    api, repository, razorpay, effects
):
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


def test_issued_numbers_are_consecutive(api):
    numbers = [api.issued("acc_a")["invoice_number"] for _ in range(3)]

    assert numbers == ["INV/2627/000001", "INV/2627/000002", "INV/2627/000003"]


@pytest.mark.parametrize(
    ("failing", "how"), [("create", "timeout"), ("issue", "server_error"), ("fetch", "connection")]
)
def test_a_razorpay_failure_on_issue_leaves_nothing_half_done_and_a_retry_converges(
    api, repository, razorpay, dynamodb, resources, effects, failing, how
):
    draft = api.create("acc_a")
    razorpay.fail_next(failing, how)

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
    # the failed create made nothing
    assert razorpay.calls.count("create") == (2 if failing == "create" else 1)
    (rzp,) = at_razorpay(razorpay).values()
    assert rzp["status"] == "issued"
    assert retried.json()["razorpay_invoice_id"] == rzp["id"]
    assert retried.json()["invoice_number"] == "INV/2627/000001"
    assert counter(dynamodb, resources) == 1
    assert [kind for kind, _ in effects.events()] == ["InvoiceIssued"]


def test_a_retry_after_the_draft_was_edited_replaces_razorpays_invoice_and_links_the_new_one(
    api, repository, razorpay
):
    draft = api.create("acc_a")
    razorpay.fail_next("issue", "timeout")
    assert api.operator("POST", f"/invoices/{draft['id']}/issue").status == 502
    stale_id = repository.get(draft["id"]).razorpay_invoice_id
    lines = [{**create_body()["line_items"][0], "quantity": "10"}]
    assert api.operator("PATCH", f"/invoices/{draft['id']}", body={"line_items": lines}).status == 200

    retried = api.operator("POST", f"/invoices/{draft['id']}/issue")

    assert retried.status == 200, retried.text
    fresh_id = retried.json()["razorpay_invoice_id"]
    assert fresh_id != stale_id
    fresh = razorpay.fetch_invoice(fresh_id)
    assert fresh["status"] == "issued"
    assert fresh["amount"] == retried.json()["amount"] == 1250 + 2 * 113
    assert stale_id not in at_razorpay(razorpay)  # the stale draft was deleted
    assert repository.find_by_provider_invoice(fresh_id).id == draft["id"]


def test_issuing_twice_is_invalid_state_and_touches_nothing(api, razorpay):
    invoice = api.issued("acc_a")
    calls = len(razorpay.calls)

    reply = api.operator("POST", f"/invoices/{invoice['id']}/issue")

    assert reply.status == 409 and reply.error["code"] == "invalid_state"
    assert len(razorpay.calls) == calls


def test_issuing_an_unknown_invoice_is_not_found(api):
    assert api.operator("POST", "/invoices/inv_doesnotexist00/issue").status == 404


# ------------------------------------------------------------------------------------- cancel
def test_cancel_cancels_here_and_at_razorpay_and_publishes_invoice_cancelled(
    api, repository, razorpay, effects
):
    invoice = api.issued("acc_a")
    issued_events = len(effects.events())

    reply = api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert reply.status == 200
    assert reply.json()["status"] == "cancelled" and reply.json()["payment_url"] is None
    assert reply.json()["cancelled_at"] is not None
    assert repository.get(invoice["id"]).status is InvoiceStatus.CANCELLED
    assert razorpay.fetch_invoice(invoice["razorpay_invoice_id"])["status"] == "cancelled"
    assert [kind for kind, _ in effects.events()[issued_events:]] == ["InvoiceCancelled", "CreditNoteIssued"]
    assert api.customer("acc_a", "GET", "/invoices/summary").json()["count_pending"] == 0


def test_a_razorpay_failure_on_cancel_leaves_ours_unchanged_and_a_retry_converges(api, repository, razorpay):
    invoice = api.issued("acc_a")
    before = repository.get(invoice["id"])
    razorpay.fail_next("cancel", "timeout")

    failed = api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert failed.status == 502 and failed.error["code"] == "payment_provider_error"
    assert repository.get(invoice["id"]) == before
    assert api.operator("POST", f"/invoices/{invoice['id']}/cancel").status == 200
    assert repository.get(invoice["id"]).status is InvoiceStatus.CANCELLED


def test_a_cancel_retried_after_razorpay_already_cancelled_converges(api, repository, razorpay):
    invoice = api.issued("acc_a")
    razorpay.cancel_invoice(invoice["razorpay_invoice_id"])  # an earlier attempt got there

    reply = api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert reply.status == 200
    assert repository.get(invoice["id"]).status is InvoiceStatus.CANCELLED


def test_a_paid_invoice_cannot_be_cancelled(api, repository, razorpay):
    invoice = api.issued("acc_a")
    pay(repository, invoice["id"], 111570)

    reply = api.operator("POST", f"/invoices/{invoice['id']}/cancel")

    assert reply.status == 409 and "'paid'" in reply.error["message"]
    assert razorpay.calls.count("cancel") == 0


# ---------------------------------------------------------------------------------------- pay
def test_pay_answers_razorpays_hosted_page(api):
    invoice = api.issued("acc_a")

    reply = api.customer("acc_a", "POST", f"/invoices/{invoice['id']}/pay")

    assert reply.status == 200
    assert reply.json() == {
        "invoice_id": invoice["id"],
        "amount_due": 111570,
        "currency": "INR",
        "payment_url": invoice["payment_url"],
    }


@pytest.mark.parametrize("status", ["paid", "cancelled", "draft", "expired"])
def test_pay_is_invalid_state_unless_something_is_due(api, repository, status):
    invoice = api.create("acc_a") if status == "draft" else api.issued("acc_a")
    if status == "paid":
        pay(repository, invoice["id"], 111570)
    elif status == "cancelled":
        api.operator("POST", f"/invoices/{invoice['id']}/cancel")
    elif status == "expired":
        expire(repository, invoice["id"])

    reply = api.operator("POST", f"/invoices/{invoice['id']}/pay")

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state" and f"'{status}'" in reply.error["message"]


# ----------------------------------------------------------------------------------- disputes
def test_a_dispute_is_created_and_the_invoice_shows_disputed(api, repository, effects):
    invoice = api.issued("acc_a")
    issued_events = len(effects.events())

    reply = api.customer(
        "acc_a",
        "POST",
        f"/invoices/{invoice['id']}/disputes",
        body={"reason": "The VM was stopped for half of September.", "expected_correction": "Bill 360 hours"},
    )

    assert reply.status == 201
    body = reply.json()
    assert body["id"].startswith("dsp_") and body["invoice_id"] == invoice["id"]
    assert body["status"] == "open" and body["expected_correction"] == "Bill 360 hours"
    assert body["created_at"].endswith("Z")
    assert set(body) == {"id", "invoice_id", "status", "reason", "expected_correction", "created_at"}
    assert repository.get(invoice["id"]).disputed is True
    assert api.customer("acc_a", "GET", f"/invoices/{invoice['id']}").json()["disputed"] is True
    assert [kind for kind, _ in effects.events()[issued_events:]] == ["InvoiceDisputed"]


def test_a_dispute_reason_must_be_10_to_2000_characters(api):
    invoice = api.issued("acc_a")

    for reason in ("too short", "x" * 2001):
        reply = api.customer("acc_a", "POST", f"/invoices/{invoice['id']}/disputes", body={"reason": reason})
        assert reply.status == 422
        assert reply.error["details"][0]["loc"] == ["body", "reason"]


@pytest.mark.parametrize("status", ["draft", "paid", "cancelled", "expired"])
def test_a_dispute_is_invalid_state_on_draft_paid_cancelled_and_expired(api, repository, status):
    invoice = api.create("acc_a") if status == "draft" else api.issued("acc_a")
    if status == "paid":
        pay(repository, invoice["id"], 111570)
    elif status == "cancelled":
        api.operator("POST", f"/invoices/{invoice['id']}/cancel")
    elif status == "expired":
        expire(repository, invoice["id"])
    before = repository.get(invoice["id"])

    reply = api.operator(
        "POST", f"/invoices/{invoice['id']}/disputes", body={"reason": "The VM was stopped for a week."}
    )

    assert reply.status == 409
    assert reply.error["code"] == "invalid_state" and f"'{status}'" in reply.error["message"]
    assert repository.get(invoice["id"]) == before
