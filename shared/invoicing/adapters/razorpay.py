"""Razorpay Invoices, outbound, through the official ``razorpay`` SDK.

This is the only module that imports ``razorpay`` (and ``requests``), and it does so inside the
methods, so a cold start that never talks to Razorpay does not pay for the SDK.

Endpoints used (Razorpay's documented Invoices API):

- ``POST /v1/invoices`` — a draft (``draft: "1"``) with our customer and lines;
- ``GET /v1/invoices/{id}`` — its current state;
- ``PATCH /v1/invoices/{id}`` — on a draft: customer, receipt, description, partial_payment,
  expire_by, notes; on an issued invoice only what Razorpay allows there (receipt,
  partial_payment, expire_by, notes);
- ``POST /v1/invoices/{id}/issue``, ``POST /v1/invoices/{id}/cancel``, ``DELETE /v1/invoices/{id}``
  (a draft only);
- ``POST /v1/payments/{id}/refund`` with ``X-Refund-Idempotency`` = our refund id (Razorpay's
  documented idempotent refund: a repeat answers the first refund, never a second one);
- ``GET /v1/invoices?receipt=...`` — which of Razorpay's invoices carry a receipt (a balance link
  after a credit note needs one no collecting invoice holds: see :meth:`draft_balance`);
- Payment Links, for wallet top-ups: ``POST /v1/payment_links`` (SMS and e-mail off, our ids in
  ``notes``, ``reference_id`` = the top-up's id, ``expire_by`` set), ``GET /v1/payment_links?
  reference_id=...`` (a retry finds the link it made: never a second one), ``GET`` and
  ``POST /v1/payment_links/{id}/cancel``.

Razorpay's total is our ``amount`` to the paisa: one Razorpay line per line of ours (quantity 1,
the line's amount) plus one line per GST component ("CGST @ 9%", "SGST @ 9%" or "IGST @ 18%").
Lines of 0 paise are left out (they change nothing Razorpay collects).

Every call has a timeout, and every failure (HTTP error, timeout, connection error, an SDK
error, an answer we cannot read) becomes :class:`PaymentProviderError`. Each method is safe to
call again after a failure: see :meth:`RazorpayPaymentProvider.publish` for how a retry converges.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from decimal import Decimal
from typing import Any

from invoicing.adapters.secrets import RazorpayCredentials
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    InvalidTransitionError,
    InvoicingError,
    PaymentProviderError,
)
from invoicing.domain.invoice import Invoice, LineItem
from invoicing.domain.provider import ProviderInvoice, ProviderLink, ProviderRefund
from invoicing.domain.wallet import TopUp

# Razorpay statuses (theirs, not ours).
DRAFT = "draft"
ISSUED = "issued"
PARTIALLY_PAID = "partially_paid"
PAID = "paid"
CANCELLED = "cancelled"
EXPIRED = "expired"
DELETED = "deleted"
_GONE = frozenset({CANCELLED, EXPIRED, DELETED})

_MAX_NAME = 250
_MAX_DESCRIPTION = 500


class RazorpayPaymentProvider:
    """``services.ports.PaymentProvider`` on Razorpay Invoices.

    ``credentials`` is called once per operation, so a rotated key is picked up without a restart
    (the secrets adapter caches the secret). ``base_url`` points the SDK elsewhere (the local
    stack's stand-in); ``timeout_seconds`` bounds every HTTP call (connect and read).
    """

    def __init__(
        self,
        credentials: Callable[[], RazorpayCredentials],
        *,
        base_url: str | None = None,
        timeout_seconds: float = 8.0,
    ) -> None:
        self._credentials = credentials
        self._base_url = base_url or None
        self._timeout = timeout_seconds
        self._clients: dict[tuple[str, str], Any] = {}

    # ------------------------------------------------------------------ port
    def create_draft(self, invoice: Invoice) -> ProviderInvoice:
        """A Razorpay invoice in draft (not payable) for ``invoice``; receipt = our id until numbered."""
        with self._session("create a draft invoice") as client:
            return _provider_invoice(client.invoice.create(invoice_body(invoice, draft=True)))

    def publish(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        """Make Razorpay's invoice ``provider_id`` match ``invoice`` (receipt = its number) and issue it.

        What it finds at Razorpay decides what it does, so a retry after any failure converges:

        - a draft that collects what ours does (same lines and total): PATCH customer, receipt,
          description, partial_payment, expire_by and notes, then issue it;
        - already issued (an earlier attempt issued it, then failed before our commit) and
          collecting what ours does: PATCH only what differs of receipt, partial_payment and
          expire_by (Razorpay allows those on an issued invoice); partially paid or paid there:
          returned as it is;
        - lines or total that no longer match (the draft was edited after a failed attempt), an
          expiry ours no longer has, or cancelled/expired/deleted there: it is **replaced** — an
          issued one is cancelled first, a fresh invoice is created and issued, and a stale draft
          is deleted afterwards (best effort: a leftover draft is never payable). The fresh
          invoice comes back with its own ``provider_id``, which the caller must record
          (``InvoiceService.issue`` does, before its own commit).
        """
        with self._session("issue the invoice") as client:
            current = client.invoice.fetch(provider_id)
            status = current.get("status")
            if status in _GONE:
                return _create_and_issue(client, invoice)
            if _diverged(current, invoice):
                if status == DRAFT:
                    fresh = _create_and_issue(client, invoice)
                    _delete_quietly(client, provider_id)
                    return fresh
                if status == ISSUED:
                    client.invoice.cancel(provider_id)
                    return _create_and_issue(client, invoice)
                raise PaymentProviderError(
                    f"Razorpay invoice {provider_id} is {status} there but no longer matches invoice "
                    f"{invoice.id}; reconcile it in the Razorpay dashboard."
                )
            if status == DRAFT:
                client.invoice.edit(provider_id, _draft_patch(invoice))
                return _provider_invoice(client.invoice.issue(provider_id))
            return _provider_invoice(_apply_issued_changes(client, current, invoice))

    def update(self, provider_id: str, invoice: Invoice) -> ProviderInvoice:
        """Carry an issued invoice's edits (partial_payment, expire_by, receipt) to Razorpay.

        Never replaces Razorpay's invoice. Razorpay cannot remove an expiry (422 here) and allows
        no change once an invoice is partly paid there (409); if Razorpay already cancelled or
        expired it, the change is refused (409) and its webhook will bring ours along.
        """
        with self._session("update the invoice") as client:
            current = client.invoice.fetch(provider_id)
            status = current.get("status")
            if status in _GONE:
                raise ConflictError(
                    f"Razorpay invoice {provider_id} is already {status} there; invoice {invoice.id} "
                    "will follow when Razorpay's notification arrives."
                )
            if current.get("expire_by") and invoice.expire_by is None:
                raise DomainValidationError(
                    "Razorpay cannot remove the expiry of an issued invoice; set a later expire_by instead.",
                    [{"loc": ["body", "expire_by"], "msg": "cannot be removed once issued"}],
                )
            return _provider_invoice(_apply_issued_changes(client, current, invoice))

    def cancel(self, provider_id: str) -> None:
        """Cancel it at Razorpay; already cancelled there is fine."""
        from razorpay.errors import BadRequestError

        with self._session("cancel the invoice") as client:
            try:
                client.invoice.cancel(provider_id)
            except BadRequestError:
                # Razorpay refuses to cancel twice; anything else it refused is a real failure.
                status = client.invoice.fetch(provider_id).get("status")
                if status != CANCELLED:
                    raise PaymentProviderError(
                        f"Razorpay refused to cancel invoice {provider_id}: it is {status} there."
                    ) from None

    def withdraw(self, provider_id: str) -> None:
        """Our draft is going away: its Razorpay invoice (left by a failed issue) must not collect."""
        with self._session("withdraw the invoice") as client:
            status = client.invoice.fetch(provider_id).get("status")
            if status == "draft":
                client.invoice.delete(provider_id)
            elif status == "issued":
                client.invoice.cancel(provider_id)
            elif status in ("partially_paid", "paid"):
                raise PaymentProviderError(
                    f"Razorpay invoice {provider_id} has already collected money ({status}); "
                    "it cannot be withdrawn with the draft."
                )

    def refund(
        self, payment_id: str, amount: int, *, refund_id: str, notes: dict[str, str]
    ) -> ProviderRefund:
        """A normal-speed refund of ``amount`` paise of a captured payment, idempotent on ``refund_id``."""
        body = {"amount": amount, "speed": "normal", "receipt": refund_id, "notes": notes}
        with self._session("refund the payment") as client:
            data = client.payment.refund(payment_id, body, headers={"X-Refund-Idempotency": refund_id})
            return ProviderRefund(
                provider_refund_id=str(data["id"]),
                payment_id=str(data.get("payment_id") or payment_id),
                amount=int(data.get("amount") or amount),
                status=str(data.get("status") or "pending"),
            )

    def fetch(self, provider_id: str) -> ProviderInvoice:
        """Razorpay's invoice as it is now; one Razorpay no longer has comes back ``deleted``."""
        from razorpay.errors import BadRequestError

        with self._session("read the invoice") as client:
            try:
                return _provider_invoice(client.invoice.fetch(provider_id))
            except BadRequestError as exc:
                if "does not exist" not in str(exc):
                    raise
                return ProviderInvoice(
                    provider_id=provider_id, status=DELETED, payment_url=None, amount=0, receipt=None
                )

    def draft_balance(self, invoice: Invoice) -> ProviderInvoice:
        """A Razorpay draft collecting ``invoice.amount_due`` (after a credit note), not payable yet.

        Razorpay lets a receipt be carried by one invoice at a time unless the earlier one is
        cancelled. The receipt is our invoice number when no issued, (partly) paid or expired
        Razorpay invoice holds it (the replaced link was cancelled), else the number with the first
        free suffix (``INV/2627/000042-2``: the old link was partly paid and cannot be cancelled).
        A draft of ours left holding a candidate (an interrupted earlier attempt) is deleted first,
        so a retry never strands one.
        """
        with self._session("create the balance invoice") as client:
            receipt = _free_receipt(client, invoice)
            return _provider_invoice(client.invoice.create(balance_body(invoice, receipt)))

    def issue_draft(self, provider_id: str) -> ProviderInvoice:
        """Issue a draft made by :meth:`draft_balance`; one already issued is returned as it is."""
        with self._session("issue the balance invoice") as client:
            current = client.invoice.fetch(provider_id)
            if current.get("status") != DRAFT:
                return _provider_invoice(current)
            return _provider_invoice(client.invoice.issue(provider_id))

    # ---------------------------------------------------- payment links (wallet top-ups)
    def create_payment_link(self, top_up: TopUp) -> ProviderLink:
        """A payment link collecting ``top_up.total``; the one already made for this top-up (its
        ``reference_id``) when an earlier attempt created it, so a retry never makes a second."""
        with self._session("create the payment link") as client:
            existing = _link_with_reference(client, top_up.id)
            if existing is not None:
                return _provider_link(existing)
            return _provider_link(client.payment_link.create(payment_link_body(top_up)))

    def fetch_payment_link(self, provider_id: str) -> ProviderLink:
        with self._session("read the payment link") as client:
            return _provider_link(client.payment_link.fetch(provider_id))

    def cancel_payment_link(self, provider_id: str) -> None:
        """Cancel it; one already cancelled, paid or expired there is fine (it collects nothing)."""
        from razorpay.errors import BadRequestError

        with self._session("cancel the payment link") as client:
            try:
                client.payment_link.cancel(provider_id)
            except BadRequestError:
                status = client.payment_link.fetch(provider_id).get("status")
                if status not in _LINK_DONE:
                    raise PaymentProviderError(
                        f"Razorpay refused to cancel payment link {provider_id}: it is {status} there."
                    ) from None

    # --------------------------------------------------------------- helpers
    @contextmanager
    def _session(self, action: str) -> Iterator[Any]:
        """A client for one operation; every Razorpay or transport failure becomes PaymentProviderError."""
        import requests
        from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

        failures = (
            requests.RequestException,
            BadRequestError,
            GatewayError,
            ServerError,
            SignatureVerificationError,
            ValueError,  # an answer that is not the JSON we expect
            KeyError,
        )
        try:
            yield self._client()
        except InvoicingError:
            raise
        except requests.Timeout:
            raise PaymentProviderError(
                f"Razorpay did not answer within {self._timeout:g} s while trying to {action}; "
                "nothing was changed here, so retrying is safe."
            ) from None
        except failures as exc:
            raise PaymentProviderError(
                f"Razorpay failed while trying to {action} ({type(exc).__name__}: {_short(exc)}); "
                "nothing was changed here, so retrying is safe."
            ) from None

    def _client(self) -> Any:
        import razorpay

        credentials = self._credentials()
        if not credentials.key_id or not credentials.key_secret:
            raise PaymentProviderError("Razorpay API keys are not configured (key_id/key_secret are empty).")
        key = (credentials.key_id, credentials.key_secret)
        client = self._clients.get(key)
        if client is None:
            options = {"base_url": self._base_url} if self._base_url else {}
            client = razorpay.Client(session=_timeout_session(self._timeout), auth=key, **options)
            client.set_app_details({"title": "invoicing", "version": "1"})
            self._clients = {key: client}  # forget clients of rotated-away keys
        return client


def _timeout_session(timeout: float) -> Any:
    """A ``requests.Session`` that applies ``timeout`` to every request that does not set its own.

    The SDK passes no timeout of its own, so without this a hung connection would hold the Lambda
    until its own timeout.
    """
    import requests

    class TimeoutSession(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            kwargs.setdefault("timeout", (timeout, timeout))
            return super().request(method, url, *args, **kwargs)

    return TimeoutSession()


# ------------------------------------------------------------------ bodies
def invoice_body(invoice: Invoice, *, draft: bool) -> dict[str, Any]:
    """The create body: customer, lines (ours + GST), receipt, expiry and our ids in ``notes``."""
    body: dict[str, Any] = {
        "type": "invoice",
        "customer": _customer(invoice),
        "line_items": line_items(invoice),
        "currency": invoice.currency,
        "receipt": _receipt(invoice),
        "partial_payment": invoice.partial_payment,
        "notes": _notes(invoice),
        "sms_notify": 0,
        "email_notify": 0,
    }
    if draft:
        body["draft"] = "1"
    if invoice.description:
        body["description"] = invoice.description[:_MAX_DESCRIPTION]
    if invoice.expire_by is not None:
        body["expire_by"] = _epoch(invoice)
    return body


def line_items(invoice: Invoice) -> list[dict[str, Any]]:
    """One Razorpay line per line of ours, then the GST components: their sum is ``invoice.amount``."""
    items: list[dict[str, Any]] = [
        {
            "name": line.resource_name[:_MAX_NAME],
            "description": _line_description(line)[:_MAX_DESCRIPTION],
            "amount": line.amount,
            "currency": invoice.currency,
            "quantity": 1,
        }
        for line in invoice.line_items
    ]
    tax = invoice.tax
    rate = Decimal(tax.rate)
    for name, amount in (
        (f"CGST @ {_percent(rate / 2)}%", tax.cgst),
        (f"SGST @ {_percent(rate / 2)}%", tax.sgst),
        (f"IGST @ {_percent(rate)}%", tax.igst),
    ):
        items.append(
            {
                "name": name,
                "description": f"GST on taxable value {_rupees(invoice.taxable_amount)}",
                "amount": amount,
                "currency": invoice.currency,
                "quantity": 1,
            }
        )
    kept = [item for item in items if item["amount"] > 0]
    assert sum(item["amount"] for item in kept) == invoice.amount
    return kept


MAX_RECEIPT_SUFFIX = 50
_HOLDS_RECEIPT = frozenset({ISSUED, PARTIALLY_PAID, PAID, EXPIRED})


def balance_body(invoice: Invoice, receipt: str) -> dict[str, Any]:
    """A draft collecting the invoice's balance: one line (``amount_due``), our ids in ``notes``."""
    number = invoice.invoice_number or invoice.id
    credits = ", ".join(c.credit_note_number for c in invoice.credit_notes)
    description = f"Balance of tax invoice {number}" + (f" after credit note(s) {credits}" if credits else "")
    body: dict[str, Any] = {
        "type": "invoice",
        "draft": "1",
        "customer": _customer(invoice),
        "line_items": [
            {
                "name": f"Balance of tax invoice {number}"[:_MAX_NAME],
                "description": description[:_MAX_DESCRIPTION],
                "amount": invoice.amount_due,
                "currency": invoice.currency,
                "quantity": 1,
            }
        ],
        "currency": invoice.currency,
        "receipt": receipt,
        "partial_payment": invoice.partial_payment,
        "notes": _notes(invoice) | {"balance_of": number},
        "description": description[:_MAX_DESCRIPTION],
        "sms_notify": 0,
        "email_notify": 0,
    }
    epoch = _epoch(invoice)
    if epoch is not None and epoch > time.time():
        body["expire_by"] = epoch
    return body


_LINK_DONE = frozenset({"cancelled", "paid", "expired"})


def payment_link_body(top_up: TopUp) -> dict[str, Any]:
    """A payment link for a top-up: its total, nobody notified by Razorpay (the portal shows the
    link), our ids in ``notes``, the top-up's id as ``reference_id``, and an expiry."""
    tax = " + ".join(
        f"{name} {_rupees(amount)}"
        for name, amount in (("CGST", top_up.tax.cgst), ("SGST", top_up.tax.sgst), ("IGST", top_up.tax.igst))
        if amount
    )
    return {
        "amount": top_up.total,
        "currency": top_up.currency,
        "accept_partial": False,
        "description": (
            f"Wallet top-up: credit {_rupees(top_up.amount)} + {tax} (advance for GPU cloud services)"
        ),
        "customer": {"name": top_up.customer.name[:_MAX_NAME], "email": top_up.customer.email},
        "notify": {"sms": False, "email": False},
        "reminder_enable": False,
        "notes": {"top_up_id": top_up.id, "account_id": top_up.account_id},
        "reference_id": top_up.id,
        "expire_by": int(top_up.expire_by.timestamp()),
    }


def _link_with_reference(client: Any, reference_id: str) -> dict[str, Any] | None:
    links = client.payment_link.all({"reference_id": reference_id}).get("payment_links") or []
    live = [
        link
        for link in links
        if link.get("reference_id") == reference_id and link.get("status") != "cancelled"
    ]
    return live[0] if live else None


def _provider_link(data: dict[str, Any]) -> ProviderLink:
    return ProviderLink(
        provider_id=str(data["id"]),
        status=str(data.get("status") or ""),
        payment_url=data.get("short_url") or None,
        amount=int(data.get("amount") or 0),
        reference_id=data.get("reference_id"),
    )


def _free_receipt(client: Any, invoice: Invoice) -> str:
    number = invoice.invoice_number or invoice.id
    for suffix in range(1, MAX_RECEIPT_SUFFIX + 1):
        receipt = number if suffix == 1 else f"{number}-{suffix}"
        holders = [
            item
            for item in client.invoice.all({"receipt": receipt, "count": 100}).get("items", [])
            if item.get("receipt") == receipt and item.get("status") not in (CANCELLED, DELETED)
        ]
        stale_drafts = [h for h in holders if h.get("status") == DRAFT and _ours(h, invoice)]
        if any(h.get("status") in _HOLDS_RECEIPT or not _ours(h, invoice) for h in holders):
            continue
        for draft in stale_drafts:
            client.invoice.delete(draft["id"])
        return receipt
    raise PaymentProviderError(
        f"Razorpay holds {MAX_RECEIPT_SUFFIX} invoices for {number}; "
        "reconcile them in the Razorpay dashboard."
    )


def _ours(item: dict[str, Any], invoice: Invoice) -> bool:
    notes = item.get("notes")
    return isinstance(notes, dict) and notes.get("invoice_id") == invoice.id


def _line_description(line: LineItem) -> str:
    start = line.usage_start.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    end = line.usage_end.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    text = f"{_plain(line.quantity)} {line.unit} × ₹{_plain(line.unit_rate)} · {start} – {end} UTC"
    return f"{line.description} · {text}" if line.description else text


def _customer(invoice: Invoice) -> dict[str, Any]:
    address = invoice.customer.address
    billing = {
        "line1": address.line1,
        "zipcode": address.postal_code,
        "city": address.city,
        "state": address.state,
        "country": address.country.lower(),
    }
    if address.line2:
        billing["line2"] = address.line2
    return {"name": invoice.customer.name, "email": invoice.customer.email, "billing_address": billing}


def _draft_patch(invoice: Invoice) -> dict[str, Any]:
    body = invoice_body(invoice, draft=False)
    for name in ("type", "line_items", "currency", "sms_notify", "email_notify"):
        body.pop(name)
    return body


def _apply_issued_changes(client: Any, current: dict[str, Any], invoice: Invoice) -> dict[str, Any]:
    """PATCH what differs of the fields Razorpay lets us change once issued; the invoice as it is then."""
    changes = _issued_changes(current, invoice)
    if not changes:
        return current
    status = current.get("status")
    if status != ISSUED:
        raise InvalidTransitionError(
            "change",
            str(status),
            f"Razorpay allows no change to {', '.join(sorted(changes))} of an invoice {status} there.",
        )
    edited: dict[str, Any] = client.invoice.edit(current["id"], changes)  # razorpay is untyped
    return edited


def _issued_changes(current: dict[str, Any], invoice: Invoice) -> dict[str, Any]:
    wanted: dict[str, Any] = {
        "receipt": _receipt(invoice),
        "partial_payment": invoice.partial_payment,
        "expire_by": _epoch(invoice),
    }
    have: dict[str, Any] = {
        "receipt": current.get("receipt"),
        "partial_payment": bool(current.get("partial_payment")),
        "expire_by": int(current["expire_by"]) if current.get("expire_by") else None,
    }
    changes = {name: value for name, value in wanted.items() if have[name] != value}
    if changes.get("expire_by", 0) is None:
        del changes["expire_by"]  # cannot be cleared at Razorpay: callers refuse or replace first
    return changes


def _diverged(current: dict[str, Any], invoice: Invoice) -> bool:
    """Whether Razorpay's invoice no longer collects what ours does (total, lines, a dropped expiry)."""
    if int(current.get("amount") or 0) != invoice.amount:
        return True
    if current.get("expire_by") and invoice.expire_by is None:
        return True

    def key(item: dict[str, Any]) -> tuple[Any, ...]:
        return (item.get("name"), int(item.get("amount") or 0), int(item.get("quantity") or 1))

    theirs = sorted(key(item) for item in current.get("line_items") or [])
    ours = sorted(key(item) for item in line_items(invoice))
    return theirs != ours


def _create_and_issue(client: Any, invoice: Invoice) -> ProviderInvoice:
    fresh = client.invoice.create(invoice_body(invoice, draft=True))
    return _provider_invoice(client.invoice.issue(fresh["id"]))


def _delete_quietly(client: Any, provider_id: str) -> None:
    """Tidy up a superseded Razorpay draft; one left behind is harmless (drafts are never payable)."""
    from invoicing.observability import logger

    try:
        client.invoice.delete(provider_id)
    except Exception:
        logger.warning(
            "Could not delete superseded Razorpay draft", extra={"razorpay_invoice_id": provider_id}
        )


def _provider_invoice(data: dict[str, Any]) -> ProviderInvoice:
    due = data.get("amount_due")
    return ProviderInvoice(
        provider_id=str(data["id"]),
        status=str(data.get("status") or ""),
        payment_url=data.get("short_url") or None,
        amount=int(data.get("amount") or 0),
        receipt=data.get("receipt"),
        amount_due=int(due) if due is not None else None,
    )


def _receipt(invoice: Invoice) -> str:
    return invoice.invoice_number or invoice.id


def _notes(invoice: Invoice) -> dict[str, str]:
    notes = {"invoice_id": invoice.id, "account_id": invoice.account_id}
    if invoice.invoice_number:
        notes["invoice_number"] = invoice.invoice_number
    return notes


def _epoch(invoice: Invoice) -> int | None:
    return int(invoice.expire_by.timestamp()) if invoice.expire_by is not None else None


def _plain(value: Any) -> str:
    return format(value, "f")


def _percent(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def _rupees(paise: int) -> str:
    return f"₹{paise // 100}.{paise % 100:02d}"


def _short(exc: BaseException) -> str:
    text = str(exc) or "no detail"
    return text if len(text) <= 200 else text[:197] + "..."
