"""E-invoicing through the functions under the shared moto stack: the API (``lambda_handler`` with
HTTP API v2 events), the outbox dispatcher, the e-invoice registrar fed from its SQS queue, the PDF
renderer; the IRP is the local stand-in behind the real GSP adapter (``irp``), Razorpay the local
stand-in behind the SDK (``razorpay``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.local.irp_standin import IrpStandIn
from tests.integration.api.conftest import Api
from tests.support.api import Reply, create_body
from tests.support.functions import Functions
from tests.support.stack import MotoStack

# A B2B buyer in another state (Gujarat): registered with the IRP, IGST.
B2B_CUSTOMER = {
    "name": "Kavach AI Labs",
    "email": "finance@kavach.example",
    "gstin": "24AABCJ1087G1ZT",
    "state_code": "24",
    "address": {
        "line1": "Sindhu Bhavan Marg",
        "city": "Ahmedabad",
        "state": "Gujarat",
        "postal_code": "380059",
        "country": "IN",
    },
}


@dataclass
class EInvoicing:
    api: Api
    irp: IrpStandIn
    effects: MotoStack
    clock: Any

    def issued(self, account_id: str = "acc_1", **customer: Any) -> dict[str, Any]:
        """A B2B invoice, issued (its registration queued, not yet run)."""
        body = create_body(account_id)
        body["customer"] = B2B_CUSTOMER | customer
        created = self.api.operator("POST", "/invoices", body=body)
        assert created.status == 201, created.text
        reply = self.api.operator("POST", f"/invoices/{created.json()['id']}/issue")
        assert reply.status == 200, reply.text
        return reply.json()

    def registered(self, account_id: str = "acc_1") -> dict[str, Any]:
        """A B2B invoice, issued and registered with the IRP."""
        invoice = self.issued(account_id)
        self.register()
        return self.invoice(invoice["id"])

    def register(self) -> list[dict[str, Any]]:
        """The outbox dispatched and the registrar fed until its queue is empty; the jobs done."""
        return self.effects.register_e_invoices()

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        reply = self.api.operator("GET", f"/invoices/{invoice_id}")
        assert reply.status == 200, reply.text
        return reply.json()

    def credit(self, invoice_id: str, amount: int = 10_000) -> Reply:
        body = {"reason": "discount", "description": "Goodwill.", "lines": [{"line": 0, "amount": amount}]}
        return self.api.operator("POST", f"/invoices/{invoice_id}/credit-notes", body=body)

    def credit_note(self, credit_note_id: str) -> dict[str, Any]:
        reply = self.api.operator("GET", f"/credit-notes/{credit_note_id}")
        assert reply.status == 200, reply.text
        return reply.json()

    def at_irp(self) -> dict[str, dict[str, Any]]:
        """What the IRP stand-in holds, by document number."""
        return {document["number"]: document for document in self.irp.documents()}

    def pdf_text(self, key: str) -> str:
        import io

        from pypdf import PdfReader

        body = boto3.client("s3").get_object(Bucket=self.effects.env["PDF_BUCKET"], Key=key)["Body"].read()
        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def einvoicing(
    functions: Functions, razorpay: Any, irp: IrpStandIn, effects: MotoStack, clock: Any
) -> EInvoicing:
    return EInvoicing(api=Api(functions), irp=irp, effects=effects, clock=clock)
