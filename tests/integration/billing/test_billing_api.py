"""The billing routes and the billing function under moto, through their lambda_handlers."""

from __future__ import annotations

from datetime import datetime

from invoicing.domain.numbering import IST
from tests.events.http import customer
from tests.integration.billing.conftest import METERING, customer_body, usage_record


def test_the_tour_price_usage_run_invoice(stack):
    # Given a price, a postpaid profile and a month of usage
    assert stack.price().status == 200
    assert stack.profile("acc_1", payment_terms_days=10).status == 200
    posted = stack.usage([usage_record(n) for n in range(5)])
    assert posted.status == 200 and posted.body["accepted"] == 5
    preview = stack.as_customer("acc_1", "GET", "/usage/summary", query={"period": "2026-11"})
    assert preview.status == 200 and preview.body["taxable_amount"] == 5 * 24550
    # When an operator runs the month and the queue is drained
    started = stack.call("POST", "/billing-runs", body={"period": "2026-11"})
    assert started.status == 202 and started.body["status"] == "running"
    stack.drain()
    # Then
    run = stack.call("GET", f"/billing-runs/{started.body['id']}").body
    assert (run["status"], run["accounts"], run["invoices_created"]) == ("completed", 1, 1)
    summary = stack.as_customer("acc_1", "GET", "/usage/summary", query={"period": "2026-11"}).body
    invoice = stack.as_customer("acc_1", "GET", f"/invoices/{summary['invoice_id']}").body
    assert invoice["status"] == "issued" and invoice["origin"] == "billing_run"
    assert invoice["description"] == "GPU cloud usage — November 2026"
    assert invoice["billing_period"] == {"start": "2026-11-01", "end": "2026-11-30"}
    assert invoice["due_date"] == "2026-12-11" and invoice["payment_url"]
    keep = ("resource_type", "resource_name", "description", "usage_start", "usage_end", "quantity", "unit")
    assert [{k: line[k] for k in keep} for line in invoice["line_items"]] == [
        {k: line[k] for k in keep} for line in summary["lines"]
    ]
    assert invoice["taxable_amount"] == summary["taxable_amount"]


def test_the_schedule_bills_the_ist_month_before_its_time_and_a_redelivery_resumes_the_run(stack):
    stack.price()
    stack.profile("acc_1")
    stack.usage([usage_record(n) for n in range(3)])
    at = datetime(2026, 12, 1, 3, 0, tzinfo=IST)
    first = stack.scheduled(at, event_id="exec-1")
    again = stack.scheduled(at, event_id="exec-1")
    stack.drain()
    run = stack.call("GET", f"/billing-runs/{first['id']}").body
    assert first["period"] == "2026-11" and again["id"] == first["id"]
    assert (run["status"], run["invoices_created"]) == ("completed", 1)
    listing = stack.call("GET", "/invoices", query={"account_id": "acc_1"}).body
    assert len(listing["items"]) == 1


def test_usage_write_may_post_usage_and_nothing_else(stack):
    stack.price()
    for method, path in (
        ("GET", "/prices"),
        ("GET", "/invoices"),
        ("PUT", "/prices/gpu.x"),
        ("GET", "/accounts/acc_1/billing-profile"),
        ("POST", "/billing-runs"),
    ):
        reply = stack.call(method, path, claims=METERING, query={"period": "2026-11"})
        assert reply.status == 403, (method, path, reply.body)
    assert stack.call("GET", "/usage/summary", claims=METERING, query={"period": "2026-11"}).status == 403
    assert stack.usage([usage_record(1)], claims=customer("acc_1")).status == 403
    assert stack.usage([usage_record(1)]).status == 200


def test_customers_read_their_own_profile_summary_and_prices(stack):
    stack.price()
    stack.profile("acc_1")
    assert stack.as_customer("acc_1", "GET", "/prices").body["items"][0]["unit_rate"] == "245.5"
    assert stack.as_customer("acc_1", "GET", "/accounts/acc_1/billing-profile").status == 200
    assert stack.as_customer("acc_2", "GET", "/accounts/acc_1/billing-profile").status == 403
    assert stack.as_customer("acc_2", "GET", "/accounts/acc_2/billing-profile").status == 404
    other = stack.as_customer(
        "acc_2", "GET", "/usage/summary", query={"period": "2026-11", "account_id": "acc_1"}
    )
    assert other.status == 403
    assert stack.as_customer("acc_1", "PUT", "/prices/gpu.x", body={}).status == 403


def test_a_customer_may_change_its_gst_details_but_not_its_billing_model_or_terms(stack):
    stack.profile("acc_1", payment_terms_days=30)
    mine = customer_body(name="Vyom Analytics Pvt Ltd", gstin="24AABCJ1087G1ZT", state_code="24")
    updated = stack.as_customer("acc_1", "PUT", "/accounts/acc_1/billing-profile", body={"customer": mine})
    assert updated.status == 200
    assert (
        updated.body["customer"]["gstin"],
        updated.body["payment_terms_days"],
        updated.body["billing_model"],
    ) == (
        "24AABCJ1087G1ZT",
        30,
        "postpaid",
    )
    refused = stack.as_customer(
        "acc_1", "PUT", "/accounts/acc_1/billing-profile", body={"customer": mine, "billing_model": "prepaid"}
    )
    assert refused.status == 403


def test_a_gstin_must_pass_its_checksum_and_agree_with_the_state(stack):
    bad_checksum = stack.profile("acc_1", customer=customer_body(gstin="27AAPFU0939F1ZW"))
    wrong_state = stack.profile("acc_1", customer=customer_body(state_code="29"))
    assert (bad_checksum.status, wrong_state.status) == (422, 422)
    assert bad_checksum.body["error"]["details"][0]["loc"][:3] == ["body", "customer", "gstin"]
    assert stack.call("GET", "/accounts/acc_1/billing-profile").status == 404


def test_a_bad_record_refuses_the_batch_naming_it_and_nothing_is_stored(stack):
    stack.price()
    spanning = usage_record(2, hour=24 * 30 - 1, end="2026-12-01T01:00:00+05:30")
    reply = stack.usage([usage_record(1), spanning])
    assert reply.status == 422 and reply.body["error"]["details"][0]["loc"] == ["records", 1, "end"]
    unknown = stack.usage([usage_record(1), usage_record(3, sku="gpu.none")])
    assert unknown.status == 422 and unknown.body["error"]["details"][0]["loc"] == ["records", 1, "sku"]
    negative = stack.usage([usage_record(1, quantity="-1")])
    assert negative.body["error"]["details"][0]["loc"] == ["records", 0, "quantity"]
    summary = stack.call("GET", "/usage/summary", query={"period": "2026-11", "account_id": "acc_1"}).body
    assert summary["records"] == 0
    assert stack.call("POST", "/usage", claims=METERING, body={"records": []}).status == 422


def test_duplicates_and_conflicts_are_answered_per_record(stack):
    stack.price()
    stack.usage([usage_record(1)])
    reply = stack.usage(
        [usage_record(1), usage_record(1, quantity="2") | {"id": "other"}, usage_record(1, quantity="3")]
    )
    assert reply.body["items"][0] == {"id": usage_record(1)["id"], "status": "duplicate"}
    assert (reply.body["accepted"], reply.body["duplicates"], reply.body["conflicts"]) == (1, 1, 1)


def test_runs_refuse_months_not_over_and_unknown_ids(stack):
    assert stack.call("POST", "/billing-runs", body={"period": "2026-12"}).status == 422
    assert stack.call("POST", "/billing-runs", body={"period": "2026-13"}).status == 422
    assert stack.call("GET", "/billing-runs/run_nope").status == 404
    assert stack.as_customer("acc_1", "POST", "/billing-runs", body={"period": "2026-11"}).status == 403


def test_prices_are_listed_by_sku_then_effective_from(stack):
    stack.price("storage.ssd.gb_month", rate="8.4", unit="GB-month", resource_type="storage")
    stack.price(rate="250", effective_from="2026-11-15")
    stack.price(rate="245.50")
    items = stack.call("GET", "/prices").body["items"]
    assert [(p["sku"], p["effective_from"], p["unit_rate"]) for p in items] == [
        ("gpu.h100.hour", "2026-10-01", "245.5"),
        ("gpu.h100.hour", "2026-11-15", "250"),
        ("storage.ssd.gb_month", "2026-10-01", "8.4"),
    ]
    assert stack.price("Bad SKU").status == 422


def test_a_message_that_keeps_failing_is_recorded_as_failed_on_its_last_receive(stack, monkeypatch):
    from infra.local.events import sqs_event

    stack.price()
    stack.profile("acc_1")
    stack.usage([usage_record(1)])
    started = stack.call("POST", "/billing-runs", body={"period": "2026-11"}).body
    from invoicing.wiring import billing

    service = billing.run_service()
    monkeypatch.setattr(service, "bill_account", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    url = stack.env["BILLING_QUEUE_URL"]
    (plan,) = stack.sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert stack.billing(sqs_event([plan], queue_arn="arn:q")) == {"batchItemFailures": []}
    (message,) = stack.sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    message["Attributes"]["ApproximateReceiveCount"] = "5"  # the queue's maxReceiveCount: the last try
    bad = {"MessageId": "m-bad", "ReceiptHandle": "h", "Body": '{"kind": "unknown"}', "Attributes": {}}
    result = stack.billing(sqs_event([message, bad], queue_arn="arn:q"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    run = stack.call("GET", f"/billing-runs/{started['id']}").body
    assert run["status"] == "completed_with_errors"
    assert run["failed"] == [{"account_id": "acc_1", "message": "RuntimeError: boom"}]


def test_months_outside_2000_to_2100_are_refused_at_the_edge(stack):
    assert stack.call("POST", "/billing-runs", body={"period": "0000-01"}).status == 422
    assert stack.call("GET", "/usage/summary", query={"period": "2101-01", "account_id": "a"}).status == 422
