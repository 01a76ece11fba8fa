"""A stand-in for the slice of Razorpay the service uses: invoices, their hosted page, their webhooks.

:class:`RazorpayStandIn` is transport-free: ``handle(method, path, headers, body)`` answers one REST
call (``path`` relative to the SDK's ``base_url``, e.g. ``/v1/invoices/inv_…/issue``) the way
Razorpay's API does — Basic auth with the key id and secret, JSON entities shaped like Razorpay's,
errors as ``{"error": {"code": "BAD_REQUEST_ERROR", "description": ...}}``. The local stack serves it
over HTTP; ``tests/support/razorpay.py`` routes the real SDK to it through ``responses``.

:meth:`RazorpayStandIn.pay` is what a customer paying on the hosted page does: it records a captured
payment and returns the webhooks Razorpay would send (``payment.captured``, then ``invoice.paid`` or
``invoice.partially_paid``), each with its exact raw body signed (hex HMAC-SHA256 with the webhook
secret, ``X-Razorpay-Signature``) and a unique ``X-Razorpay-Event-Id``. Delivering them is the
caller's business.

Supported: ``POST /v1/invoices`` (``draft: "1"`` keeps it a draft), ``GET /v1/invoices`` (filters
``receipt``, ``status``), ``GET|PATCH|DELETE /v1/invoices/{id}``, ``POST /v1/invoices/{id}/issue``,
``POST /v1/invoices/{id}/cancel``, ``GET /v1/payments/{id}``, ``POST /v1/payments/{id}/refund``
(idempotent on ``X-Refund-Idempotency``), ``GET /v1/refunds/{id}``; and Payment Links (wallet
top-ups): ``POST /v1/payment_links`` (``reference_id`` unique, as Razorpay requires),
``GET /v1/payment_links`` (filters ``reference_id``, ``payment_id``), ``GET /v1/payment_links/{id}``,
``POST /v1/payment_links/{id}/cancel``. State is in memory, guarded by one lock.

:meth:`RazorpayStandIn.pay_link` is a customer paying a link on its hosted page (``/l/{id}``): a
captured payment of the link's amount, then ``payment.captured`` (the payment, described
``#<link id without plink_>`` as Razorpay does, no invoice) and ``payment_link.paid`` (the link, the
payment and its order), signed like the invoices' webhooks. :meth:`RazorpayStandIn.expire_link`
delivers ``payment_link.expired``.

As Razorpay does, a receipt is carried by one invoice at a time: an issued, (partly) paid or expired
invoice holds it until it is cancelled (drafts hold none). A refund is refused beyond what the
payment has left (its amount less what was refunded); it is created ``pending`` and
:meth:`RazorpayStandIn.process_refunds` later settles it ``processed`` with a signed
``refund.processed`` webhook (the local stack calls it every half second for refunds older than a
second); :meth:`RazorpayStandIn.fail_refund` fails one with ``refund.failed``.

Deliberate simplifications: line items carry their own ``amount`` (no ``item_id``, no tax fields),
and ``expire_by`` is not checked against the clock (so demo data can be back-dated).

Tests make the next calls of an operation fail (timeout, connection error, 5xx) with
:meth:`RazorpayStandIn.fail_next`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import html
import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAYMENT_METHODS = ("upi", "card", "netbanking", "wallet")
METHOD_LABELS = {"upi": "UPI", "card": "Card", "netbanking": "Net banking", "wallet": "Wallet"}
ISSUED_EDITABLE = frozenset({"receipt", "expire_by", "notes", "partial_payment", "terms"})
CREATE_FIELDS = frozenset(
    {
        "type", "description", "draft", "customer_id", "customer", "line_items", "expire_by",
        "sms_notify", "email_notify", "partial_payment", "first_payment_min_amount", "currency",
        "receipt", "notes", "terms", "comment", "date", "supply_state_code", "billing_start",
        "billing_end", "view_less", "group_taxes_discounts", "invoice_number", "callback_url",
        "callback_method", "reminder_enable",
    }
)  # fmt: skip
LINE_ITEM_FIELDS = frozenset(
    {"name", "description", "amount", "currency", "quantity", "unit", "hsn_code", "sac_code"}
)
PAYABLE = frozenset({"issued", "partially_paid"})
HOLDS_RECEIPT = frozenset({"issued", "partially_paid", "paid", "expired"})
REFUND_FIELDS = frozenset({"amount", "speed", "receipt", "notes"})
LINK_FIELDS = frozenset(
    {
        "amount", "currency", "accept_partial", "first_min_partial_amount", "expire_by", "reference_id",
        "description", "customer", "notify", "reminder_enable", "notes", "callback_url", "callback_method",
        "upi_link",
    }
)  # fmt: skip
REFUND_IDEMPOTENCY_HEADER = "x-refund-idempotency"
_ALNUM = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """Razorpay-style id: ``prefix_`` + 14 alphanumerics."""
    return f"{prefix}_" + "".join(secrets.choice(_ALNUM) for _ in range(14))


def format_inr(paise: int) -> str:
    """``₹1,23,456.70`` — Indian digit grouping."""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    head, groups = digits[:-3], [digits[-3:]]
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return f"{'-' if paise < 0 else ''}₹{','.join(groups)}.{rest:02d}"


def sign(body: bytes, secret: str) -> str:
    """Razorpay's webhook signature: hex HMAC-SHA256 of the exact raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class InjectedTimeout(Exception):
    """A call :meth:`RazorpayStandIn.fail_next` made time out: the transport raises its timeout."""


class InjectedConnectionError(Exception):
    """A call :meth:`RazorpayStandIn.fail_next` made fail to connect."""


OPERATIONS = (
    "create", "list", "fetch", "edit", "delete", "issue", "cancel", "refund",
    "create_link", "list_links", "fetch_link", "cancel_link",
)  # fmt: skip
FAILURE_KINDS = ("timeout", "connection", "server_error")


def operation_of(method: str, path: str) -> str | None:
    """Which operation of the REST slice a call is (``None`` if none): ``POST /v1/invoices`` is
    ``create``, ``POST /v1/invoices/{id}/issue`` is ``issue``, ``POST /v1/payments/{id}/refund`` is
    ``refund``, ..."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    method = method.upper()
    if parts[:2] == ["v1", "payments"] and len(parts) == 4 and parts[3] == "refund" and method == "POST":
        return "refund"
    if parts[:2] == ["v1", "payment_links"]:
        if len(parts) == 2:
            return {"POST": "create_link", "GET": "list_links"}.get(method)
        if len(parts) == 3 and method == "GET":
            return "fetch_link"
        if len(parts) == 4 and parts[3] == "cancel" and method == "POST":
            return "cancel_link"
        return None
    if parts[:2] != ["v1", "invoices"]:
        return None
    if len(parts) == 2:
        return {"POST": "create", "GET": "list"}.get(method)
    if len(parts) == 3:
        return {"GET": "fetch", "PATCH": "edit", "DELETE": "delete"}.get(method)
    if len(parts) == 4 and method == "POST" and parts[3] in ("issue", "cancel"):
        return parts[3]
    return None


class RazorpayError(Exception):
    """An API error, answered as Razorpay does; ``display`` is how the hosted page puts it to a person."""

    def __init__(
        self, description: str, *, status: int = 400, field: str | None = None, display: str | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.field = field
        self.display = display or description

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": self.description,
                "source": "NA" if self.status == 401 else "business",
                "step": "NA" if self.status == 401 else "payment_initiation",
                "reason": "NA" if self.status == 401 else "input_validation_failed",
                "metadata": {},
                "field": self.field,
            }
        }


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook, ready to POST: the exact raw body and the headers Razorpay sends with it."""

    event: str
    event_id: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


class RazorpayStandIn:
    """In-memory Razorpay invoices behind Razorpay's REST shapes."""

    def __init__(
        self,
        *,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        hosted_base_url: str = "https://rzp.io",
        account_id: str = "acc_LocalStandIn01",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self.hosted_base_url = hosted_base_url.rstrip("/")
        self.account_id = account_id
        self._clock = clock
        self._lock = threading.RLock()
        self._invoices: dict[str, dict[str, Any]] = {}
        self._orders: dict[str, dict[str, Any]] = {}
        self._payments: dict[str, dict[str, Any]] = {}
        self._refunds: dict[str, dict[str, Any]] = {}
        self._refund_keys: dict[str, str] = {}  # X-Refund-Idempotency → refund id
        self._links: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[str]] = {}

    # ------------------------------------------------------------------------------------ HTTP
    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one REST call; ``path`` is relative to the SDK's ``base_url`` (``/v1/...``).

        A failure injected with :meth:`fail_next` answers 502 or raises :class:`InjectedTimeout` /
        :class:`InjectedConnectionError` for the transport to turn into its own exception.
        """
        injected = self._injected(method.upper(), path)
        if injected is not None:
            return injected
        try:
            status, payload = self._dispatch(method.upper(), path, headers, body)
        except RazorpayError as error:
            status, payload = error.status, error.body()
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def _dispatch(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> tuple[int, Any]:
        self._authenticate(headers)
        url = urlsplit(path)
        parts = [p for p in url.path.split("/") if p]
        data = self._json(body) if method in ("POST", "PATCH") else {}
        if parts[:2] == ["v1", "payments"] and len(parts) in (3, 4):
            with self._lock:
                if len(parts) == 3 and method == "GET":
                    return 200, self.fetch_payment(parts[2])
                if len(parts) == 4 and method == "POST" and parts[3] == "refund":
                    key = next(
                        (v for k, v in headers.items() if k.lower() == REFUND_IDEMPOTENCY_HEADER), None
                    )
                    return 200, self.refund(parts[2], data, idempotency_key=key)
            raise RazorpayError("The requested URL was not found on the server.", status=404)
        if parts[:2] == ["v1", "payment_links"] and len(parts) <= 4:
            with self._lock:
                if len(parts) == 2 and method == "POST":
                    return 200, self.create_link(data)
                if len(parts) == 2 and method == "GET":
                    return 200, self.list_links({k: v[-1] for k, v in parse_qs(url.query).items()})
                if len(parts) == 3 and method == "GET":
                    return 200, self.fetch_link(parts[2])
                if len(parts) == 4 and method == "POST" and parts[3] == "cancel":
                    return 200, self.cancel_link(parts[2])
            raise RazorpayError("The requested URL was not found on the server.", status=404)
        if parts[:2] == ["v1", "refunds"] and len(parts) == 3 and method == "GET":
            with self._lock:
                return 200, self.fetch_refund(parts[2])
        if parts[:2] != ["v1", "invoices"] or len(parts) > 4:
            raise RazorpayError("The requested URL was not found on the server.", status=404)
        with self._lock:
            if len(parts) == 2 and method == "POST":
                return 200, self.create_invoice(data)
            if len(parts) == 2 and method == "GET":
                return 200, self.list_invoices({k: v[-1] for k, v in parse_qs(url.query).items()})
            if len(parts) == 3 and method == "GET":
                return 200, self.fetch_invoice(parts[2])
            if len(parts) == 3 and method == "PATCH":
                return 200, self.edit_invoice(parts[2], data)
            if len(parts) == 3 and method == "DELETE":
                self.delete_invoice(parts[2])
                return 200, []
            if len(parts) == 4 and method == "POST" and parts[3] == "issue":
                return 200, self.issue_invoice(parts[2])
            if len(parts) == 4 and method == "POST" and parts[3] == "cancel":
                return 200, self.cancel_invoice(parts[2])
        raise RazorpayError("The requested URL was not found on the server.", status=404)

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not value.lower().startswith("basic "):
            raise RazorpayError("Please provide your api key for authentication purposes.", status=401)
        try:
            key_id, _, key_secret = base64.b64decode(value[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise RazorpayError("The api key provided is invalid", status=401) from None
        if not (
            hmac.compare_digest(key_id, self.key_id) and hmac.compare_digest(key_secret, self._key_secret)
        ):
            raise RazorpayError("The api key provided is invalid", status=401)

    @staticmethod
    def _json(body: bytes | str | None) -> dict[str, Any]:
        if not body:
            return {}
        try:
            data = json.loads(body)
        except ValueError:
            raise RazorpayError("The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise RazorpayError("The request body must be a JSON object.")
        return data

    # ------------------------------------------------------------------------- failure injection
    def fail_next(self, operation: str, how: str = "timeout", times: int = 1) -> None:
        """Fail the next ``times`` calls of ``operation`` (:data:`OPERATIONS`): ``timeout`` and
        ``connection`` raise :class:`InjectedTimeout` / :class:`InjectedConnectionError` from
        :meth:`handle` (the transport raises its own timeout or connection error), ``server_error``
        answers 502 with Razorpay's ``SERVER_ERROR`` body. Nothing is changed by a failed call."""
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
        if how not in FAILURE_KINDS:
            raise ValueError(f"how must be one of {', '.join(FAILURE_KINDS)}, not {how!r}")
        with self._lock:
            self._failures.setdefault(operation, []).extend([how] * times)

    def _injected(self, method: str, path: str) -> tuple[int, dict[str, str], bytes] | None:
        operation = operation_of(method, path)
        with self._lock:
            pending = self._failures.get(operation or "")
            how = pending.pop(0) if pending else None
        if how == "timeout":
            raise InjectedTimeout(f"{operation}: read timed out (injected)")
        if how == "connection":
            raise InjectedConnectionError(f"{operation}: connection refused (injected)")
        if how == "server_error":
            body = {"error": {"code": "SERVER_ERROR", "description": "The server encountered an error."}}
            return 502, {"Content-Type": "application/json"}, json.dumps(body).encode()
        return None

    # ------------------------------------------------------------------------------ invoices
    def create_invoice(self, data: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(data) - CREATE_FIELDS)
        if unknown:
            raise RazorpayError(f"{', '.join(unknown)} is/are not required and should not be sent")
        if data.get("type") != "invoice":
            raise RazorpayError("The type field is required and must be invoice.", field="type")
        if data.get("currency", "INR") != "INR":
            raise RazorpayError("Currency is not supported by the local stand-in.", field="currency")
        if data.get("customer_id") and not data.get("customer"):
            raise RazorpayError("customer_id is not supported by the local stand-in; send customer.")
        now = self._now()
        invoice_id = new_id("inv")
        invoice: dict[str, Any] = {
            "id": invoice_id,
            "entity": "invoice",
            "receipt": None,
            "invoice_number": None,
            "customer_id": None,
            "customer_details": None,
            "order_id": None,
            "line_items": [],
            "payment_id": None,
            "status": "draft",
            "expire_by": None,
            "issued_at": None,
            "paid_at": None,
            "cancelled_at": None,
            "expired_at": None,
            "sms_status": None,
            "email_status": None,
            "date": None,
            "terms": None,
            "partial_payment": False,
            "gross_amount": 0,
            "tax_amount": 0,
            "taxable_amount": 0,
            "amount": 0,
            "amount_paid": 0,
            "amount_due": 0,
            "first_payment_min_amount": None,
            "currency": "INR",
            "currency_symbol": "₹",
            "description": None,
            "notes": [],
            "comment": None,
            "short_url": None,
            "view_less": True,
            "billing_start": None,
            "billing_end": None,
            "type": "invoice",
            "group_taxes_discounts": False,
            "supply_state_code": None,
            "user_id": None,
            "created_at": now,
            "idempotency_key": None,
            "_notify": (_truthy(data.get("sms_notify", 1)), _truthy(data.get("email_notify", 1))),
        }
        self._apply(invoice, data, creating=True)
        if not invoice["line_items"]:
            raise RazorpayError("The line items field is required.", field="line_items")
        with self._lock:
            if not _truthy(data.get("draft")):
                self._check_receipt_free(invoice)
            self._invoices[invoice_id] = invoice
            if not _truthy(data.get("draft")):
                self._issue(invoice)
            return self._public(invoice)

    def list_invoices(self, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            count = min(max(int(params.get("count", 10)), 1), 100)
            skip = max(int(params.get("skip", 0)), 0)
        except ValueError:
            raise RazorpayError("count and skip must be integers.") from None
        with self._lock:
            items = sorted(self._invoices.values(), key=lambda i: i["created_at"], reverse=True)
            if "receipt" in params:
                items = [i for i in items if i["receipt"] == params["receipt"]]
            if "status" in params:
                items = [i for i in items if i["status"] == params["status"]]
            page = [self._public(i) for i in items[skip : skip + count]]
        return {"entity": "collection", "count": len(page), "items": page}

    def fetch_invoice(self, invoice_id: str) -> dict[str, Any]:
        with self._lock:
            return self._public(self._get(invoice_id))

    def edit_invoice(self, invoice_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            invoice = self._get(invoice_id)
            if invoice["status"] == "draft":
                unknown = sorted(set(data) - CREATE_FIELDS - {"type", "draft"})
                if unknown:
                    raise RazorpayError(f"{', '.join(unknown)} is/are not required and should not be sent")
            elif invoice["status"] == "issued":  # once (partly) paid, nothing changes any more
                refused = sorted(set(data) - ISSUED_EDITABLE)
                if refused:
                    status = invoice["status"]
                    raise RazorpayError(
                        f"{', '.join(refused)} cannot be updated for an invoice in {status} status."
                    )
            else:
                raise RazorpayError(f"Operation not allowed for Invoice in {invoice['status']} status.")
            if invoice["status"] != "draft" and "receipt" in data:
                self._check_receipt_free({**invoice, "receipt": data["receipt"]})
            self._apply(invoice, data, creating=False)
            return self._public(invoice)

    def delete_invoice(self, invoice_id: str) -> None:
        with self._lock:
            invoice = self._get(invoice_id)
            if invoice["status"] != "draft":
                raise RazorpayError(f"Operation not allowed for Invoice in {invoice['status']} status.")
            del self._invoices[invoice_id]

    def issue_invoice(self, invoice_id: str) -> dict[str, Any]:
        with self._lock:
            invoice = self._get(invoice_id)
            if invoice["status"] != "draft":
                raise RazorpayError(f"Invoice is not in draft state; current status is {invoice['status']}.")
            self._check_receipt_free(invoice)
            self._issue(invoice)
            return self._public(invoice)

    def cancel_invoice(self, invoice_id: str) -> dict[str, Any]:
        with self._lock:
            invoice = self._get(invoice_id)
            if invoice["status"] != "issued":
                raise RazorpayError(f"Operation not allowed for Invoice in {invoice['status']} status.")
            invoice["status"] = "cancelled"
            invoice["cancelled_at"] = self._now()
            return self._public(invoice)

    # ----------------------------------------------------------------------------- payments
    def pay(self, invoice_id: str, amount: int | None = None, method: str = "upi") -> list[WebhookDelivery]:
        """A captured payment on the hosted page; returns the signed webhooks Razorpay would send."""
        if method not in PAYMENT_METHODS:
            raise RazorpayError(f"method must be one of {', '.join(PAYMENT_METHODS)}.", field="method")
        with self._lock:
            invoice = self._get(invoice_id)
            if invoice["status"] not in PAYABLE:
                raise RazorpayError(f"Invoice is not payable; its status is {invoice['status']}.")
            due = invoice["amount_due"]
            amount = due if amount is None else amount
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise RazorpayError(
                    "amount must be a positive integer number of paise.",
                    field="amount",
                    display="Enter a positive amount.",
                )
            if amount > due:
                raise RazorpayError(
                    f"amount {amount} exceeds the amount due ({due} paise).",
                    field="amount",
                    display=f"{format_inr(amount)} is more than the amount due, {format_inr(due)}.",
                )
            if amount < due and not invoice["partial_payment"]:
                raise RazorpayError(
                    "This invoice does not accept partial payments.",
                    field="amount",
                    display=f"This invoice does not accept partial payments: pay {format_inr(due)}.",
                )
            now = self._now()
            order = self._order_of(invoice)
            payment = self._payment(invoice, order, amount, method, now)
            self._payments[payment["id"]] = payment
            invoice["amount_paid"] += amount
            invoice["amount_due"] = invoice["amount"] - invoice["amount_paid"]
            invoice["payment_id"] = payment["id"]
            invoice["status"] = "paid" if invoice["amount_due"] == 0 else "partially_paid"
            if invoice["status"] == "paid":
                invoice["paid_at"] = now
            order.update(
                amount_paid=invoice["amount_paid"],
                amount_due=invoice["amount_due"],
                status="paid" if invoice["status"] == "paid" else "attempted",
                attempts=order["attempts"] + 1,
            )
            invoice_event = "invoice.paid" if invoice["status"] == "paid" else "invoice.partially_paid"
            return [
                self._event("payment.captured", {"payment": payment}, now),
                self._event(
                    invoice_event,
                    {"payment": payment, "order": order, "invoice": self._webhook_invoice(invoice)},
                    now,
                ),
            ]

    # ------------------------------------------------------------------------- payment links
    def create_link(self, data: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(data) - LINK_FIELDS)
        if unknown:
            raise RazorpayError(f"{', '.join(unknown)} is/are not required and should not be sent")
        amount = data.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100:
            raise RazorpayError("The amount must be atleast INR 1.00", field="amount")
        if data.get("currency", "INR") != "INR":
            raise RazorpayError("Currency is not supported by the local stand-in.", field="currency")
        reference = data.get("reference_id")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 40):
            raise RazorpayError(
                "reference_id must be a string of at most 40 characters.", field="reference_id"
            )
        notes = data.get("notes") or {}
        if not isinstance(notes, dict) or len(notes) > 15:
            raise RazorpayError("notes must be an object with at most 15 keys.", field="notes")
        expire_by = data.get("expire_by")
        if expire_by is not None and (isinstance(expire_by, bool) or not isinstance(expire_by, int)):
            raise RazorpayError("expire_by must be a unix timestamp.", field="expire_by")
        with self._lock:
            if reference and any(link["reference_id"] == reference for link in self._links.values()):
                raise RazorpayError(
                    f"Payment Link with reference_id {reference} already exists", field="reference_id"
                )
            now = self._now()
            link_id = new_id("plink")
            notify = data.get("notify") or {}
            customer = data.get("customer") or {}
            self._links[link_id] = {
                "id": link_id,
                "accept_partial": _truthy(data.get("accept_partial", False)),
                "amount": amount,
                "amount_paid": 0,
                "callback_method": data.get("callback_method", ""),
                "callback_url": data.get("callback_url", ""),
                "cancelled_at": 0,
                "created_at": now,
                "currency": "INR",
                "customer": {k: customer[k] for k in ("name", "email", "contact") if k in customer},
                "description": data.get("description", ""),
                "expire_by": expire_by or 0,
                "expired_at": 0,
                "first_min_partial_amount": data.get("first_min_partial_amount", 0),
                "notes": {str(k): str(v) for k, v in notes.items()} or None,
                "notify": {
                    "email": _truthy(notify.get("email", True)),
                    "sms": _truthy(notify.get("sms", True)),
                    "whatsapp": False,
                },
                "order_id": None,
                "payments": None,
                "reference_id": reference or "",
                "reminder_enable": _truthy(data.get("reminder_enable", True)),
                "reminders": [],
                "short_url": self.link_url(link_id),
                "status": "created",
                "updated_at": now,
                "upi_link": _truthy(data.get("upi_link", False)),
                "user_id": "",
            }
            return copy.deepcopy(self._links[link_id])

    def list_links(self, params: Mapping[str, str]) -> dict[str, Any]:
        with self._lock:
            links = sorted(self._links.values(), key=lambda link: link["created_at"], reverse=True)
            if "reference_id" in params:
                links = [link for link in links if link["reference_id"] == params["reference_id"]]
            if "payment_id" in params:
                links = [
                    link
                    for link in links
                    if any(p["payment_id"] == params["payment_id"] for p in link["payments"] or [])
                ]
            return {"payment_links": copy.deepcopy(links)}

    def fetch_link(self, link_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._link(link_id))

    def cancel_link(self, link_id: str) -> dict[str, Any]:
        with self._lock:
            link = self._link(link_id)
            if link["status"] not in ("created", "partially_paid"):
                raise RazorpayError(f"Payment link cannot be cancelled as it is already {link['status']}")
            link.update(status="cancelled", cancelled_at=self._now(), updated_at=self._now())
            return copy.deepcopy(link)

    def pay_link(self, link_id: str, method: str = "upi") -> list[WebhookDelivery]:
        """A captured payment of the link's amount on its hosted page; returns the signed webhooks
        Razorpay would send: ``payment.captured``, then ``payment_link.paid``."""
        if method not in PAYMENT_METHODS:
            raise RazorpayError(f"method must be one of {', '.join(PAYMENT_METHODS)}.", field="method")
        with self._lock:
            link = self._link(link_id)
            if link["status"] not in ("created", "partially_paid"):
                raise RazorpayError(f"Payment link is not payable; its status is {link['status']}.")
            now = self._now()
            amount = link["amount"] - link["amount_paid"]
            order_id = new_id("order")
            order = {
                "id": order_id,
                "entity": "order",
                "amount": link["amount"],
                "amount_paid": link["amount"],
                "amount_due": 0,
                "currency": link["currency"],
                "receipt": link["reference_id"] or None,
                "offer_id": None,
                "status": "paid",
                "attempts": 1,
                "notes": [],
                "created_at": now,
                "product_type": "payment_link_v2",
                "product_id": link_id.removeprefix("plink_"),
            }
            self._orders[order_id] = order
            holder = {"customer_details": {**link["customer"]}, "currency": link["currency"], "id": None}
            payment = self._payment(holder, order, amount, method, now)
            payment.update(invoice_id=None, description=f"#{link_id.removeprefix('plink_')}")
            self._payments[payment["id"]] = payment
            link["amount_paid"] += amount
            link.update(status="paid", order_id=order_id, updated_at=now)
            link["payments"] = [
                *(link["payments"] or []),
                {"amount": amount, "created_at": now, "method": method, "payment_id": payment["id"],
                 "status": "captured"},
            ]  # fmt: skip
            return [
                self._event("payment.captured", {"payment": payment}, now),
                self._event(
                    "payment_link.paid", {"payment_link": link, "payment": payment, "order": order}, now
                ),
            ]

    def expire_link(self, link_id: str) -> list[WebhookDelivery]:
        """Razorpay expiring a link at its ``expire_by``: ``payment_link.expired``."""
        with self._lock:
            link = self._link(link_id)
            if link["status"] not in ("created", "partially_paid"):
                raise RazorpayError(f"Payment link cannot expire as it is already {link['status']}.")
            now = self._now()
            link.update(status="expired", expired_at=now, updated_at=now)
            return [self._event("payment_link.expired", {"payment_link": link}, now)]

    def link_url(self, link_id: str) -> str:
        return f"{self.hosted_base_url}/l/{link_id}"

    def _link(self, link_id: str) -> dict[str, Any]:
        link = self._links.get(link_id)
        if link is None:
            raise RazorpayError("The id provided does not exist", field="id")
        return link

    # ------------------------------------------------------------------------------ refunds
    def fetch_payment(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            payment = self._payments.get(payment_id)
            if payment is None:
                raise RazorpayError("The id provided does not exist", field="id")
            return copy.deepcopy(payment)

    def fetch_refund(self, refund_id: str) -> dict[str, Any]:
        with self._lock:
            refund = self._refunds.get(refund_id)
            if refund is None:
                raise RazorpayError("The id provided does not exist", field="id")
            return self._public(refund)

    def refund(
        self, payment_id: str, data: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """A normal refund of a captured payment, ``pending`` until :meth:`process_refunds`.

        The same ``X-Refund-Idempotency`` key answers the refund it first made, never a second one.
        """
        with self._lock:
            if idempotency_key and idempotency_key in self._refund_keys:
                return self._public(self._refunds[self._refund_keys[idempotency_key]])
            payment = self._payments.get(payment_id)
            if payment is None:
                raise RazorpayError("The id provided does not exist", field="id")
            unknown = sorted(set(data) - REFUND_FIELDS)
            if unknown:
                raise RazorpayError(f"{', '.join(unknown)} is/are not required and should not be sent")
            if payment["status"] not in ("captured", "refunded") or not payment["captured"]:
                raise RazorpayError("Only captured payments can be refunded.", field="payment_id")
            left = payment["amount"] - payment["amount_refunded"]
            amount = data.get("amount", left)
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise RazorpayError("The amount must be a positive integer (paise).", field="amount")
            if amount > left:
                raise RazorpayError(
                    "The total refund amount is greater than the refund payment amount "
                    f"({left} paise of {payment['amount']} is left to refund).",
                    field="amount",
                )
            notes = data.get("notes") or {}
            if not isinstance(notes, dict) or len(notes) > 15:
                raise RazorpayError("notes must be an object with at most 15 keys.", field="notes")
            now = self._now()
            refund = {
                "id": new_id("rfnd"),
                "entity": "refund",
                "amount": amount,
                "currency": payment["currency"],
                "payment_id": payment_id,
                "notes": {str(k): str(v) for k, v in notes.items()} or [],
                "receipt": data.get("receipt"),
                "acquirer_data": {"arn": None},
                "created_at": now,
                "batch_id": None,
                "status": "pending",
                "speed_processed": "normal",
                "speed_requested": data.get("speed") or "normal",
            }
            self._refunds[refund["id"]] = refund
            if idempotency_key:
                self._refund_keys[idempotency_key] = refund["id"]
            payment["amount_refunded"] += amount
            full = payment["amount_refunded"] == payment["amount"]
            payment["refund_status"] = "full" if full else "partial"
            if full:
                payment["status"] = "refunded"
            return self._public(refund)

    def process_refunds(self, min_age_seconds: float = 0.0) -> list[WebhookDelivery]:
        """Settle the pending refunds at least ``min_age_seconds`` old: ``refund.processed`` each."""
        with self._lock:
            now = self._now()
            due = [
                r
                for r in self._refunds.values()
                if r["status"] == "pending" and now - r["created_at"] >= min_age_seconds
            ]
            deliveries = []
            for refund in due:
                refund["status"] = "processed"
                refund["acquirer_data"] = {"arn": str(secrets.randbelow(10**14)).zfill(14)}
                deliveries.append(self._refund_event("refund.processed", refund, now))
            return deliveries

    def fail_refund(self, refund_id: str) -> list[WebhookDelivery]:
        """The bank refused a pending refund: the money is back on the payment; ``refund.failed``."""
        with self._lock:
            refund = self._refunds.get(refund_id)
            if refund is None:
                raise RazorpayError("The id provided does not exist", field="id")
            if refund["status"] != "pending":
                raise RazorpayError(f"Refund {refund_id} is already {refund['status']}.")
            refund["status"] = "failed"
            payment = self._payments[refund["payment_id"]]
            payment["amount_refunded"] -= refund["amount"]
            payment["status"] = "captured"
            payment["refund_status"] = "partial" if payment["amount_refunded"] else None
            return [self._refund_event("refund.failed", refund, self._now())]

    def pending_refunds(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._public(r) for r in self._refunds.values() if r["status"] == "pending"]

    def refunds(self) -> list[dict[str, Any]]:
        """Every refund made, newest first."""
        with self._lock:
            return [self._public(r) for r in sorted(self._refunds.values(), key=lambda r: -r["created_at"])]

    def _refund_event(self, event: str, refund: Mapping[str, Any], now: int) -> WebhookDelivery:
        payment = self._payments[refund["payment_id"]]
        return self._event(event, {"refund": refund, "payment": payment}, now)

    def expire(self, invoice_id: str) -> list[WebhookDelivery]:
        """Razorpay expiring an invoice (``expire_by`` passed): ``invoice.expired``."""
        with self._lock:
            invoice = self._get(invoice_id)
            if invoice["status"] not in PAYABLE:
                raise RazorpayError(f"Operation not allowed for Invoice in {invoice['status']} status.")
            now = self._now()
            invoice["status"], invoice["expired_at"] = "expired", now
            return [self._event("invoice.expired", {"invoice": self._webhook_invoice(invoice)}, now)]

    def set_clock(self, clock: Callable[[], float]) -> None:
        """What "now" is for the stand-in (epoch seconds): demo data is made back-dated."""
        with self._lock:
            self._clock = clock

    def hosted_url(self, invoice_id: str) -> str:
        return f"{self.hosted_base_url}/i/{invoice_id}"

    def sign(self, body: bytes) -> str:
        return sign(body, self._webhook_secret)

    # ------------------------------------------------------------------------------ helpers
    def _now(self) -> int:
        return int(self._clock())

    def _get(self, invoice_id: str) -> dict[str, Any]:
        invoice = self._invoices.get(invoice_id)
        if invoice is None:
            raise RazorpayError("The id provided does not exist", field="id")
        return invoice

    def _check_receipt_free(self, invoice: Mapping[str, Any]) -> None:
        """Refuse a receipt another issued (not cancelled) invoice carries."""
        receipt = invoice.get("receipt")
        if receipt is None:
            return
        for other in self._invoices.values():
            if (
                other["id"] != invoice["id"]
                and other["receipt"] == receipt
                and other["status"] in HOLDS_RECEIPT
            ):
                raise RazorpayError(
                    f"Invoice receipt should be unique: {receipt} is on {other['id']} ({other['status']}); "
                    "cancel that invoice first.",
                    field="receipt",
                )

    def _issue(self, invoice: dict[str, Any]) -> None:
        now = self._now()
        order_id = new_id("order")
        self._orders[order_id] = {
            "id": order_id,
            "entity": "order",
            "amount": invoice["amount"],
            "amount_paid": invoice["amount_paid"],
            "amount_due": invoice["amount_due"],
            "currency": invoice["currency"],
            "receipt": invoice["receipt"],
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": [],
            "created_at": now,
        }
        sms, email = invoice["_notify"]
        invoice.update(
            status="issued",
            order_id=order_id,
            issued_at=now,
            date=invoice["date"] or now,
            short_url=self.hosted_url(invoice["id"]),
            sms_status="sent" if sms else None,
            email_status="sent" if email else None,
        )

    def _order_of(self, invoice: Mapping[str, Any]) -> dict[str, Any]:
        return self._orders.get(invoice["order_id"] or "", {"attempts": 0})

    def _apply(self, invoice: dict[str, Any], data: Mapping[str, Any], *, creating: bool) -> None:
        if "line_items" in data:
            invoice["line_items"] = [
                self._line_item(item, i) for i, item in enumerate(data["line_items"] or [])
            ]
            gross = sum(item["gross_amount"] for item in invoice["line_items"])
            if invoice["line_items"] and gross < 100:
                raise RazorpayError("The amount must be atleast INR 1.00", field="amount")
            invoice.update(gross_amount=gross, taxable_amount=gross, amount=gross)
            invoice["amount_due"] = gross - invoice["amount_paid"]
        if "customer" in data:
            invoice["customer_details"] = self._customer(data["customer"])
            invoice["customer_id"] = invoice["customer_details"]["id"]
        if "receipt" in data:
            receipt = data["receipt"]
            if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
                raise RazorpayError("receipt must be a string of at most 40 characters.", field="receipt")
            invoice["receipt"] = invoice["invoice_number"] = receipt
        if "expire_by" in data:
            expire_by = data["expire_by"]
            if expire_by is not None and (isinstance(expire_by, bool) or not isinstance(expire_by, int)):
                raise RazorpayError("expire_by must be a unix timestamp.", field="expire_by")
            invoice["expire_by"] = expire_by
        if "partial_payment" in data:
            invoice["partial_payment"] = _truthy(data["partial_payment"])
        if "notes" in data:
            notes = data["notes"] or {}
            if not isinstance(notes, dict) or len(notes) > 15:
                raise RazorpayError("notes must be an object with at most 15 keys.", field="notes")
            invoice["notes"] = {str(k): str(v) for k, v in notes.items()} or []
        for name in (
            "description", "terms", "comment", "date", "first_payment_min_amount", "supply_state_code",
            "billing_start", "billing_end",
        ):  # fmt: skip
            if name in data:
                invoice[name] = data[name]
        if creating or "sms_notify" in data or "email_notify" in data:
            previous = invoice["_notify"]
            invoice["_notify"] = (
                _truthy(data.get("sms_notify", previous[0])),
                _truthy(data.get("email_notify", previous[1])),
            )

    @staticmethod
    def _line_item(item: Any, index: int) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise RazorpayError(f"line_items[{index}] must be an object.", field="line_items")
        if "item_id" in item:
            raise RazorpayError("item_id is not supported by the local stand-in.", field="line_items")
        unknown = sorted(set(item) - LINE_ITEM_FIELDS)
        if unknown:
            raise RazorpayError(
                f"line_items[{index}]: {', '.join(unknown)} is/are not required and should not be sent",
                field="line_items",
            )
        name, amount, quantity = item.get("name"), item.get("amount"), item.get("quantity", 1)
        if not isinstance(name, str) or not name:
            raise RazorpayError(f"line_items[{index}].name is required.", field="line_items")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise RazorpayError(
                f"line_items[{index}].amount must be a non-negative integer (paise).", field="line_items"
            )
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise RazorpayError(
                f"line_items[{index}].quantity must be a positive integer.", field="line_items"
            )
        total = amount * quantity
        return {
            "id": new_id("li"),
            "item_id": None,
            "ref_id": None,
            "ref_type": None,
            "name": name,
            "description": item.get("description"),
            "amount": amount,
            "unit_amount": amount,
            "gross_amount": total,
            "tax_amount": 0,
            "taxable_amount": total,
            "net_amount": total,
            "currency": item.get("currency", "INR"),
            "type": "invoice",
            "tax_inclusive": False,
            "hsn_code": item.get("hsn_code"),
            "sac_code": item.get("sac_code"),
            "tax_rate": None,
            "unit": item.get("unit"),
            "quantity": quantity,
            "taxes": [],
        }

    @staticmethod
    def _customer(customer: Any) -> dict[str, Any]:
        if not isinstance(customer, dict):
            raise RazorpayError("customer must be an object.", field="customer")

        def address(value: Any) -> dict[str, Any] | None:
            if not value:
                return None
            if not isinstance(value, dict):
                raise RazorpayError("addresses must be objects.", field="customer")
            return {"id": new_id("addr"), "type": "billing_address", "primary": True, **value}

        details = {
            "id": new_id("cust"),
            "name": customer.get("name"),
            "email": customer.get("email"),
            "contact": customer.get("contact"),
            "gstin": customer.get("gstin"),
            "billing_address": address(customer.get("billing_address")),
            "shipping_address": address(customer.get("shipping_address")),
        }
        details.update(
            customer_name=details["name"],
            customer_email=details["email"],
            customer_contact=details["contact"],
        )
        return details

    def _payment(
        self, invoice: Mapping[str, Any], order: Mapping[str, Any], amount: int, method: str, now: int
    ) -> dict[str, Any]:
        customer = invoice["customer_details"] or {}
        fee = amount * 2 // 100
        payment: dict[str, Any] = {
            "id": new_id("pay"),
            "entity": "payment",
            "amount": amount,
            "currency": invoice["currency"],
            "base_amount": amount,
            "status": "captured",
            "order_id": order.get("id"),
            "invoice_id": invoice["id"],
            "international": False,
            "method": method,
            "amount_refunded": 0,
            "amount_transferred": 0,
            "refund_status": None,
            "captured": True,
            "description": f"Invoice #{invoice['id']}",
            "card_id": None,
            "bank": None,
            "wallet": None,
            "vpa": None,
            "email": customer.get("email"),
            "contact": customer.get("contact") or "+919000090000",
            "notes": [],
            "fee": fee,
            "tax": fee * 18 // 118,
            "error_code": None,
            "error_description": None,
            "error_source": None,
            "error_step": None,
            "error_reason": None,
            "acquirer_data": {},
            "created_at": now,
        }
        if method == "upi":
            payment["vpa"] = "customer@okhdfcbank"
            payment["acquirer_data"] = {"rrn": str(secrets.randbelow(10**12)).zfill(12)}
            payment["upi"] = {"payer_account_type": "bank_account", "vpa": payment["vpa"], "flow": "collect"}
        elif method == "card":
            payment["card_id"] = new_id("card")
            payment["card"] = {
                "id": payment["card_id"],
                "entity": "card",
                "name": customer.get("name") or "Customer",
                "last4": "1111",
                "network": "Visa",
                "type": "credit",
                "issuer": "HDFC",
                "international": False,
                "emi": False,
            }
            payment["acquirer_data"] = {"auth_code": str(secrets.randbelow(10**6)).zfill(6)}
        elif method == "netbanking":
            payment["bank"] = "HDFC"
            payment["acquirer_data"] = {"bank_transaction_id": str(secrets.randbelow(10**10))}
        else:
            payment["wallet"] = "paytm"
        return payment

    def _event(self, event: str, entities: Mapping[str, Any], now: int) -> WebhookDelivery:
        payload = {
            "entity": "event",
            "account_id": self.account_id,
            "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": copy.deepcopy(entity)} for name, entity in entities.items()},
            "created_at": now,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        event_id = new_id("evt")
        return WebhookDelivery(
            event=event,
            event_id=event_id,
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Razorpay-Signature": self.sign(body),
                "X-Razorpay-Event-Id": event_id,
                "User-Agent": "Razorpay-Webhook/v1",
            },
        )

    def _webhook_invoice(self, invoice: Mapping[str, Any]) -> dict[str, Any]:
        """Webhooks carry the invoice entity without its line items (as in Razorpay's samples)."""
        public = self._public(invoice)
        public.pop("line_items", None)
        return public

    @staticmethod
    def _public(invoice: Mapping[str, Any]) -> dict[str, Any]:
        return copy.deepcopy({k: v for k, v in invoice.items() if not k.startswith("_")})


# ------------------------------------------------------------------------------------------------
# The hosted payment page
# ------------------------------------------------------------------------------------------------
def parse_rupees(text: str) -> int:
    """``"1,234.50"`` → ``123450`` paise; ``RazorpayError`` if it is not an amount."""
    try:
        value = Decimal(text.replace(",", "").replace("₹", "").strip())
    except InvalidOperation:
        raise RazorpayError("Enter the amount in rupees, e.g. 1500.00.", field="amount") from None
    paise = value * 100
    if paise != paise.to_integral_value() or paise <= 0:
        raise RazorpayError("Enter a positive amount with at most two decimals.", field="amount")
    return int(paise)


_STYLE = """
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:#eef2f7;color:#1f2a44}.wrap{max-width:440px;margin:48px auto;padding:0 16px}
.card{background:#fff;border-radius:14px;box-shadow:0 8px 30px rgba(15,35,80,.12);overflow:hidden}
.head{background:#0b2d6b;color:#fff;padding:20px 24px}.head small{opacity:.75;letter-spacing:.04em}
.head h1{margin:4px 0 0;font-size:19px;font-weight:600}.body{padding:20px 24px}
.due{font-size:30px;font-weight:700;margin:4px 0 2px}.muted{color:#6b7690;font-size:13px}
.row{display:flex;justify-content:space-between;margin:6px 0}.badge{display:inline-block;padding:2px 10px;
border-radius:999px;font-size:12px;font-weight:600;text-transform:uppercase;background:#e6ecf8;color:#0b2d6b}
.badge.paid{background:#dff5e7;color:#146c37}.badge.cancelled,.badge.expired{background:#fde8e8;color:#9b1c1c}
fieldset{border:0;padding:0;margin:16px 0}legend{font-weight:600;margin-bottom:8px}
.methods{display:grid;grid-template-columns:1fr 1fr;gap:8px}.methods label{border:1px solid #cfd8ea;
border-radius:10px;padding:10px 12px;cursor:pointer}.methods input{margin-right:6px}
input[type=text]{width:100%;padding:10px 12px;border:1px solid #cfd8ea;border-radius:10px;font-size:16px}
button{width:100%;margin-top:8px;padding:13px;border:0;border-radius:10px;background:#3395ff;color:#fff;
font-size:16px;font-weight:600;cursor:pointer}button:hover{background:#1f7fe6}
.note{margin-top:16px;padding:12px 14px;border-radius:10px;font-size:14px}.ok{background:#dff5e7}
.err{background:#fde8e8}.note ul{margin:6px 0 0;padding-left:18px}code{font-size:12px}
.foot{text-align:center;margin-top:14px;font-size:12px;color:#6b7690}
"""


def rupees(paise: int) -> str:
    """``123450`` → ``"1234.50"``: the amount field's text (no symbol, no grouping)."""
    return f"{paise // 100}.{paise % 100:02d}"


def render_hosted_page(
    invoice: Mapping[str, Any],
    *,
    action: str,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
    amount_text: str | None = None,
) -> str:
    """The stand-in's hosted page for one invoice; ``action`` is where its form POSTs.

    ``error`` is shown as it is (say amounts in rupees); ``amount_text`` is what the amount field
    keeps (what was typed, after an error), else the amount due.
    """
    esc = html.escape
    title = invoice.get("receipt") or invoice["id"]
    customer = (invoice.get("customer_details") or {}).get("name") or ""
    status = invoice["status"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Pay invoice {esc(title)}</title><style>{_STYLE}</style></head><body><div class='wrap'>",
        "<div class='card'><div class='head'><small>RAZORPAY · LOCAL STAND-IN · TEST MODE</small>",
        f"<h1>Invoice {esc(title)}</h1></div><div class='body'>",
        f"<div class='muted'>{esc(customer)}{' · ' if customer and invoice.get('description') else ''}"
        f"{esc(invoice.get('description') or '')}</div>",
        f"<div class='due'>{format_inr(invoice['amount_due'])}</div><div class='muted'>amount due</div>",
        f"<div class='row'><span>Invoice amount</span><span>{format_inr(invoice['amount'])}</span></div>",
        f"<div class='row'><span>Paid so far</span><span>{format_inr(invoice['amount_paid'])}</span></div>",
        f"<div class='row'><span>Status</span><span class='badge {esc(status)}'>"
        f"{esc(status.replace('_', ' '))}</span></div>",
    ]
    if result:
        items = "".join(
            f"<li><code>{esc(d['event'])}</code> → {esc(str(d.get('status_code')))}</li>"
            for d in result.get("deliveries", [])
        )
        parts.append(
            f"<div class='note ok'><strong>Payment of {format_inr(result['amount'])} captured</strong> "
            f"<code>{esc(result['payment_id'])}</code><br>Webhooks delivered:<ul>{items}</ul></div>"
        )
    if error:
        parts.append(f"<div class='note err'>{esc(error)}</div>")
    if status in PAYABLE:
        methods = "".join(
            f"<label><input type='radio' name='method' value='{m}'{' checked' if m == 'upi' else ''}>"
            f"{METHOD_LABELS[m]}</label>"
            for m in PAYMENT_METHODS
        )
        amount_field = ""
        if invoice.get("partial_payment"):
            typed = rupees(invoice["amount_due"]) if amount_text is None else amount_text
            amount_field = (
                "<fieldset><legend>Amount (₹)</legend>"
                f"<input type='text' name='amount' inputmode='decimal' value='{esc(typed)}'>"
                "<div class='muted'>Partial payments are allowed for this invoice.</div></fieldset>"
            )
        parts.append(
            f"<form method='post' action='{esc(action)}'><fieldset><legend>Pay with</legend>"
            f"<div class='methods'>{methods}</div></fieldset>{amount_field}"
            f"<button type='submit'>Pay{'' if amount_field else ' ' + format_inr(invoice['amount_due'])}"
            "</button></form>"
        )
    elif not result:
        parts.append(
            f"<div class='note'>This invoice is {esc(status.replace('_', ' '))}; nothing to pay.</div>"
        )
    parts.append(
        "</div></div><div class='foot'>No money moves: paying here sends Razorpay's signed webhooks "
        "to the local webhook route.</div></div></body></html>"
    )
    return "".join(parts)


def render_not_found(invoice_id: str) -> str:
    esc = html.escape
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Not found</title>"
        f"<style>{_STYLE}</style></head><body><div class='wrap'><div class='card'><div class='body'>"
        f"No invoice <code>{esc(invoice_id)}</code> at the Razorpay stand-in.</div></div></div></body></html>"
    )


def render_link_page(
    link: Mapping[str, Any], *, action: str, result: Mapping[str, Any] | None = None, error: str | None = None
) -> str:
    """The stand-in's hosted page for one payment link (a wallet top-up); ``action`` is where its
    "Pay" form POSTs. A link collects its whole amount at once (no partial payments)."""
    esc = html.escape
    title = link.get("description") or link["id"]
    customer = (link.get("customer") or {}).get("name") or ""
    status = link["status"]
    due = link["amount"] - link["amount_paid"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Pay {esc(link['id'])}</title><style>{_STYLE}</style></head><body><div class='wrap'>",
        "<div class='card'><div class='head'><small>RAZORPAY · LOCAL STAND-IN · TEST MODE</small>",
        f"<h1>Payment link {esc(link.get('reference_id') or link['id'])}</h1></div><div class='body'>",
        f"<div class='muted'>{esc(customer)}{' · ' if customer else ''}{esc(title)}</div>",
        f"<div class='due'>{format_inr(due)}</div><div class='muted'>to pay</div>",
        f"<div class='row'><span>Amount</span><span>{format_inr(link['amount'])}</span></div>",
        f"<div class='row'><span>Status</span><span class='badge {esc(status)}'>{esc(status)}</span></div>",
    ]
    if result:
        items = "".join(
            f"<li><code>{esc(d['event'])}</code> → {esc(str(d.get('status_code')))}</li>"
            for d in result.get("deliveries", [])
        )
        parts.append(
            f"<div class='note ok'><strong>Payment of {format_inr(result['amount'])} captured</strong> "
            f"<code>{esc(result['payment_id'])}</code><br>Webhooks delivered:<ul>{items}</ul></div>"
        )
    if error:
        parts.append(f"<div class='note err'>{esc(error)}</div>")
    if status in ("created", "partially_paid"):
        methods = "".join(
            f"<label><input type='radio' name='method' value='{m}'{' checked' if m == 'upi' else ''}>"
            f"{METHOD_LABELS[m]}</label>"
            for m in PAYMENT_METHODS
        )
        parts.append(
            f"<form method='post' action='{esc(action)}'><fieldset><legend>Pay with</legend>"
            f"<div class='methods'>{methods}</div></fieldset>"
            f"<button type='submit'>Pay {format_inr(due)}</button></form>"
        )
    elif not result:
        parts.append(f"<div class='note'>This payment link is {esc(status)}; nothing to pay.</div>")
    parts.append(
        "</div></div><div class='foot'>No money moves: paying here sends Razorpay's signed webhooks "
        "to the local webhook route.</div></div></body></html>"
    )
    return "".join(parts)
