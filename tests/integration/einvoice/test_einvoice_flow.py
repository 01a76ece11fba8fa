"""E-invoicing end to end under moto, through the real handlers: the API issues (pending), the outbox
dispatcher queues the job, the registrar function registers it at the IRP stand-in (through the
real GSP adapter behind ``responses``), the PDF waits for the IRN; operators list and re-queue
failures; customers get 403 on the operator routes and 404 on another tenant's documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import responses

from tests.conftest import CURSOR_KEY
from tests.events.http import OPERATOR, customer, http_event
from tests.support.handlers import FUNCTIONS
from tests.support.irp import BASE_URL, CREDENTIALS, irp_standin_responses, new_standin
from tests.support.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, standin_responses


@dataclass
class Context:
    function_name: str = "invoicing-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ap-south-1:123456789012:function:invoicing-test"
    aws_request_id: str = "00000000-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Stack:
    def __init__(self, env: dict[str, str], standin: Any) -> None:
        self.env = env
        self.irp = standin
        self.api = _handler("invoice_api")
        self.registrar = _handler("einvoice_registrar")
        self.sqs = boto3.client("sqs")

    def call(
        self, method: str, path: str, claims: dict[str, str] = OPERATOR, **kwargs: Any
    ) -> tuple[int, Any]:
        result = self.api.lambda_handler(http_event(method, path, claims=claims, **kwargs), Context())
        body = result["body"]
        return result["statusCode"], json.loads(body) if body else None

    def issue(self, account_id: str = "acc_1", **customer_overrides: Any) -> dict[str, Any]:
        status, draft = self.call("POST", "/invoices", body=create_body(account_id, **customer_overrides))
        assert status == 201, draft
        status, issued = self.call("POST", f"/invoices/{draft['id']}/issue")
        assert status == 200, issued
        return issued

    def dispatch(self) -> None:
        from invoicing.wiring import outbox

        outbox.dispatcher().drain()

    def run_registrar(self, *, dispatch: bool = True) -> dict[str, Any]:
        if dispatch:
            self.dispatch()
        messages = self.sqs.receive_message(
            QueueUrl=self.env["EINVOICE_QUEUE_URL"], MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:ap-south-1:123456789012:einvoice",
                    "awsRegion": "ap-south-1",
                }
                for m in messages
            ]
        }
        result = self.registrar.lambda_handler(event, Context())
        for m in messages:
            self.sqs.delete_message(QueueUrl=self.env["EINVOICE_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])
        return result


def _handler(function: str) -> Any:
    """A function's handler.py under a module name of this test's own (other suites load the same
    files under theirs)."""
    import importlib.util
    import sys

    name = f"einvoice_flow_{function}_handler"
    if name not in sys.modules:
        folder = FUNCTIONS / function
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        spec = importlib.util.spec_from_file_location(name, folder / "handler.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def create_body(account_id: str, **customer_overrides: Any) -> dict[str, Any]:
    address = {
        "line1": "Sindhu Bhavan Marg",
        "city": "Ahmedabad",
        "state": "Gujarat",
        "postal_code": "380059",
    }
    return {
        "account_id": account_id,
        "customer": {
            "name": "Kavach AI Labs",
            "email": "finance@kavach.example",
            "gstin": "24AABCJ1087G1ZT",
            "state_code": "24",
            "address": address | customer_overrides.pop("address", {}),
        }
        | customer_overrides,
        "billing_period": {"start": "2026-09-01", "end": "2026-09-30"},
        "line_items": [
            {
                "resource_type": "pod",
                "resource_name": "gpu-a100-1",
                "usage_start": "2026-09-01T00:00:00Z",
                "usage_end": "2026-09-30T00:00:00Z",
                "quantity": "720",
                "unit": "hour",
                "unit_rate": "245.50",
            }
        ],
    }


@pytest.fixture
def stack(resources: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    from invoicing.wiring import api, einvoice, outbox

    secrets = boto3.client("secretsmanager")
    secrets.put_secret_value(
        SecretId=resources["RAZORPAY_SECRET_NAME"],
        SecretString=json.dumps(
            {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET}
        ),
    )
    secrets.put_secret_value(SecretId=resources["CURSOR_SECRET_NAME"], SecretString=CURSOR_KEY.decode())
    secrets.put_secret_value(
        SecretId=resources["GSP_SECRET_NAME"], SecretString=json.dumps(CREDENTIALS.__dict__)
    )
    for name, value in {
        "EINVOICING": "sandbox",
        "GSP_BASE_URL": BASE_URL,
        "EINVOICE_RETRY_BASE_SECONDS": "1",
        "EINVOICE_RETRY_CAP_SECONDS": "4",
        "OUTBOX_SWEEP_MIN_AGE_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    for wiring in (api, einvoice, outbox):
        wiring.reset()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        standin_responses(mock=mock).__enter__()
        with irp_standin_responses(new_standin(), mock=mock) as irp:
            yield Stack(resources, irp)
    for wiring in (api, einvoice, outbox):
        wiring.reset()


def test_an_issued_b2b_invoice_is_registered_after_the_commit_and_then_its_pdf_is_offered(stack):
    issued = stack.issue()
    assert issued["e_invoice"]["status"] == "pending"
    assert stack.call("GET", f"/invoices/{issued['id']}/pdf")[0] == 202  # waits for the IRN
    assert stack.irp.documents() == []  # nothing is sent inline

    assert stack.run_registrar() == {"batchItemFailures": []}

    status, invoice = stack.call("GET", f"/invoices/{issued['id']}", claims=customer("acc_1"))
    assert status == 200
    e_invoice = invoice["e_invoice"]
    assert (e_invoice["status"], e_invoice["irn"]) == ("generated", stack.irp.documents()[0]["irn"])
    assert len(e_invoice["ack_no"]) == 15 and e_invoice["signed_qr"].count(".") == 2
    assert (
        stack.call("GET", f"/invoices/{issued['id']}/pdf")[0] == 202
    )  # now: rendering the version with the IRN


def test_a_b2c_or_own_gstin_buyer_is_not_applicable(stack):
    b2c = stack.issue(gstin=None)
    assert b2c["e_invoice"]["status"] == "not_applicable"
    _status, draft = stack.call("POST", "/invoices", body=create_body("acc_1"))
    assert draft["e_invoice"] is None  # drafts carry none


def test_a_transient_failure_is_retried_from_the_queue_with_a_delay(stack):
    issued = stack.issue()
    stack.irp.fail_next("transient")
    stack.run_registrar()
    _status, invoice = stack.call("GET", f"/invoices/{issued['id']}")
    assert (invoice["e_invoice"]["status"], invoice["e_invoice"]["attempts"]) == ("retrying", 1)
    stack.dispatch()
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.env["EINVOICE_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_a_failed_registration_is_listed_refuses_the_pdf_and_can_be_requeued_by_an_operator(stack):
    bad = stack.issue(address={"postal_code": "38"})  # not a 6-digit PIN: the payload breaks a rule
    stack.run_registrar()
    assert ("POST", "/eicore/v1.03/Invoice") not in stack.irp.calls  # nothing sent

    status, page = stack.call("GET", "/e-invoices", query={"status": "failed"})
    assert status == 200
    (row,) = page["items"]
    assert (row["document_id"], row["type"], row["account_id"]) == (bad["id"], "invoice", "acc_1")
    assert (row["e_invoice"]["error"]["kind"], row["e_invoice"]["error"]["code"]) == ("validation", "pin")

    status, refused = stack.call("GET", f"/invoices/{bad['id']}/pdf", claims=customer("acc_1"))
    assert (status, refused["error"]["code"]) == (409, "invalid_state")
    assert "PIN" in refused["error"]["message"]

    assert stack.call("POST", f"/invoices/{bad['id']}/e-invoice/retry", claims=customer("acc_1"))[0] == 403
    status, accepted = stack.call("POST", f"/invoices/{bad['id']}/e-invoice/retry")
    assert (status, accepted["e_invoice"]["status"]) == (202, "pending")
    assert stack.call("GET", "/e-invoices", query={"status": "failed"})[1]["items"] == []
    assert stack.call("POST", f"/invoices/{bad['id']}/e-invoice/retry")[0] == 409  # not failed any more


def test_customers_get_403_on_operator_routes_and_404_on_another_tenant_s_documents(stack):
    theirs = stack.issue("acc_2")
    assert stack.call("GET", "/e-invoices", claims=customer("acc_1"))[0] == 403
    assert stack.call("GET", f"/invoices/{theirs['id']}/pdf", claims=customer("acc_1"))[0] == 404
    assert stack.call("GET", f"/invoices/{theirs['id']}", claims=customer("acc_1"))[0] == 404


def test_a_registration_takes_one_read_and_one_transaction(stack, aws_calls):
    stack.issue()
    stack.dispatch()
    aws_calls.clear()
    stack.run_registrar(dispatch=False)
    assert aws_calls.of("dynamodb") == ["GetItem", "TransactWriteItems"]


def test_a_page_of_failed_registrations_is_one_query_on_the_sparse_index(stack, aws_calls):
    for _ in range(3):
        stack.issue(address={"postal_code": "38"})
    stack.issue()  # generated: never in the index
    stack.run_registrar()
    aws_calls.clear()
    status, page = stack.call("GET", "/e-invoices", query={"status": "failed", "limit": "2"})
    assert status == 200 and len(page["items"]) == 2 and page["next_cursor"]
    assert aws_calls.of("dynamodb") == ["Query"]
    status, rest = stack.call("GET", "/e-invoices", query={"status": "failed", "cursor": page["next_cursor"]})
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert stack.call("GET", "/e-invoices", query={"status": "generated"})[0] == 422
