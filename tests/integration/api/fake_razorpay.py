"""A small in-test Razorpay: the Invoices endpoints the service uses, behind ``responses``.

It keeps invoices in memory and applies Razorpay's documented rules (what may change in which
status, issue only from draft, cancel only an unpaid issued invoice), checks Basic auth, and can
be told to fail the next call to an endpoint (timeout, connection error or a 5xx).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
import responses

BASE_URL = "https://razorpay.test"
KEY_ID, KEY_SECRET = "rzp_test_key", "rzp_test_secret"
_ISSUED_FIELDS = {"partial_payment", "receipt", "comment", "terms", "notes", "expire_by"}
_ID = re.compile(r"/v1/invoices/(?P<id>inv_\w+)(?P<action>/issue|/cancel)?$")


def _error(status: int, description: str, code: str = "BAD_REQUEST_ERROR") -> tuple[int, dict, str]:
    return status, {}, json.dumps({"error": {"code": code, "description": description}})


@dataclass
class FakeRazorpay:
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    _failures: dict[str, list[str]] = field(default_factory=dict)

    # ------------------------------------------------------------- control
    def fail_next(self, operation: str, how: str = "timeout", times: int = 1) -> None:
        """Fail the next ``times`` calls of ``operation`` (create, fetch, edit, issue, cancel, delete)."""
        self._failures.setdefault(operation, []).extend([how] * times)

    def created(self) -> list[dict[str, Any]]:
        return list(self.invoices.values())

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, f"{BASE_URL}/v1/invoices", callback=self._create)
        pattern = re.compile(re.escape(BASE_URL) + r"/v1/invoices/inv_\w+(/issue|/cancel)?$")
        for method in (responses.GET, responses.PATCH, responses.DELETE, responses.POST):
            mock.add_callback(method, pattern, callback=self._by_id)

    # ----------------------------------------------------------- endpoints
    def _create(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        refused = self._refuse(request, "create")
        if refused:
            return refused
        body = json.loads(request.body or b"{}")
        self.requests.append(("create", "", body))
        if body.get("type") != "invoice" or not body.get("line_items"):
            return _error(400, "type and line_items are required")
        invoice_id = "inv_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(14))
        invoice = {
            "id": invoice_id,
            "entity": "invoice",
            "status": "draft" if body.get("draft") == "1" else "issued",
            "short_url": f"https://rzp.io/i/{invoice_id[4:12]}",
            "customer_details": body.get("customer"),
            "currency": body.get("currency"),
            "expire_by": body.get("expire_by"),
            "partial_payment": bool(body.get("partial_payment")),
            "receipt": body.get("receipt"),
            "notes": body.get("notes") or {},
            "description": body.get("description"),
            **self._lines(body["line_items"]),
        }
        self.invoices[invoice_id] = invoice
        return 200, {}, json.dumps(invoice)

    def _by_id(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        match = _ID.search(request.path_url)
        assert match is not None, request.path_url
        invoice_id, action = match["id"], match["action"]
        operation = {
            ("GET", None): "fetch",
            ("PATCH", None): "edit",
            ("DELETE", None): "delete",
            ("POST", "/issue"): "issue",
            ("POST", "/cancel"): "cancel",
        }[(request.method, action)]
        refused = self._refuse(request, operation)
        if refused:
            return refused
        body = json.loads(request.body) if request.body else None
        self.requests.append((operation, invoice_id, body))
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            return _error(400, "The id provided does not exist")
        status = invoice["status"]
        if operation == "fetch":
            return 200, {}, json.dumps(invoice)
        if operation == "edit":
            allowed = None if status == "draft" else _ISSUED_FIELDS if status == "issued" else {"notes"}
            if allowed is not None and set(body) - allowed:
                return _error(
                    400, f"{', '.join(sorted(set(body) - allowed))} cannot be updated when {status}"
                )
            if "line_items" in body:
                return _error(400, "this fake does not edit line items")
            if "customer" in body:
                invoice["customer_details"] = body.pop("customer")
            invoice.update(body)
            return 200, {}, json.dumps(invoice)
        if operation == "delete":
            if status != "draft":
                return _error(400, "Only a draft invoice can be deleted")
            invoice["status"] = "deleted"
            return 200, {}, "[]"
        if operation == "issue":
            if status != "draft":
                return _error(400, "Invoice is not in draft state")
            invoice["status"] = "issued"
            return 200, {}, json.dumps(invoice)
        if status == "cancelled":
            return _error(400, "Invoice is already cancelled")
        if status not in ("issued", "draft"):
            return _error(400, f"Invoice cannot be cancelled when {status}")
        invoice["status"] = "cancelled"
        return 200, {}, json.dumps(invoice)

    # ------------------------------------------------------------- helpers
    def _refuse(self, request: requests.PreparedRequest, operation: str) -> tuple[int, dict, str] | None:
        self.calls[operation] += 1
        expected = "Basic " + base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return _error(401, "The api key provided is invalid")
        pending = self._failures.get(operation)
        if pending:
            how = pending.pop(0)
            if how == "timeout":
                raise requests.exceptions.ReadTimeout("read timed out")
            if how == "connection":
                raise requests.exceptions.ConnectionError("connection refused")
            return _error(502, "Gateway unavailable", code="SERVER_ERROR")
        return None

    @staticmethod
    def _lines(items: list[dict[str, Any]]) -> dict[str, Any]:
        lines = [
            {
                "id": f"li_{index}",
                "quantity": 1,
                **item,
                "net_amount": item["amount"] * item.get("quantity", 1),
            }
            for index, item in enumerate(items)
        ]
        return {"line_items": lines, "amount": sum(line["net_amount"] for line in lines)}
