"""The contract as a whole: the generated OpenAPI document, and what an unexpected failure shows."""

from __future__ import annotations

import re
import sys

from infra.cfn import load_template
from invoicing.contracts.invoices import SummaryResponse

LATER: set[tuple[str, str]] = set()  # every route of the contract is served
DOCS = {("GET", "/openapi.json"), ("GET", "/swagger")}


def template_routes() -> set[tuple[str, str]]:
    events = load_template()["Resources"]["InvoiceApiFunction"]["Properties"]["Events"]
    return {
        (e["Properties"]["Method"].upper(), re.sub(r"\{\w+\}", "{id}", e["Properties"]["Path"]))
        for e in events.values()
    }


def test_the_openapi_document_is_valid_openapi_3_and_lists_every_route(api):
    reply = api.call("GET", "/openapi.json")

    assert reply.status == 200
    document = reply.json()
    from openapi_spec_validator import validate  # imported by the one worker that runs this

    validate(document)
    assert document["openapi"].startswith("3.")
    documented = {
        (method.upper(), re.sub(r"\{\w+\}", "{id}", path))
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert documented == template_routes() - LATER - DOCS


def test_the_openapi_document_describes_the_error_body_and_the_models(api):
    document = api.call("GET", "/openapi.json").json()
    schemas = document["components"]["schemas"]

    for name in (
        "CreateInvoiceRequest",
        "PatchInvoiceRequest",
        "InvoiceResponse",
        "ListResponse",
        "ErrorResponse",
    ):
        assert name in schemas
    assert schemas["CreateInvoiceRequest"]["additionalProperties"] is False
    get_invoice = document["paths"]["/invoices/{invoice_id}"]["get"]
    assert get_invoice["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert get_invoice["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InvoiceResponse"
    }
    create = document["paths"]["/invoices"]["post"]
    assert "201" in create["responses"]
    header = create["parameters"][0]
    assert (header["name"].lower(), header["in"], header["required"]) == ("idempotency-key", "header", False)
    assert create["tags"] == ["Operator"]
    assert document["components"]["securitySchemes"]["jwt"]["scheme"] == "bearer"


def test_swagger_ui_embeds_the_same_document(api):
    html = api.call("GET", "/swagger").text

    assert "swagger-ui" in html.lower()
    assert '"/invoices/{invoice_id}/issue"' in html


def test_an_unexpected_failure_is_a_500_with_a_correlation_id_and_nothing_internal(api, monkeypatch):
    class Broken:
        def get(self, *args, **kwargs):
            raise RuntimeError("boom at /var/task/secret_module.py with key sk_live_123")

    assert api.handler  # loaded, with its routes
    monkeypatch.setattr(sys.modules["routes.invoices"], "invoice_service", Broken)
    invoice_id = "inv_AAAAAAAAAAAAAA"

    reply = api.customer("acc_a", "GET", f"/invoices/{invoice_id}")

    assert reply.status == 500
    error = reply.error
    assert error["code"] == "internal_error" and error["details"] == []
    correlation_id = api.last_event["requestContext"]["requestId"]
    assert correlation_id in error["message"]
    for leak in ("boom", "secret_module", "sk_live", "Traceback", "RuntimeError"):
        assert leak not in reply.text


def test_a_response_that_breaks_its_own_model_is_a_500_not_a_422(api, monkeypatch):
    # Given a route whose answer no longer fits its response model (a bug of ours)
    monkeypatch.setattr(SummaryResponse, "of", classmethod(lambda cls, summary: {"currency": "INR"}))

    reply = api.customer("acc_a", "GET", "/invoices/summary")

    assert reply.status == 500
    assert reply.error["code"] == "internal_error"
