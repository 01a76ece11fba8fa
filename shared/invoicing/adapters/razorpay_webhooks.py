"""Razorpay webhooks in: the signature on the raw body, the payload shapes, the mapping to a notice.

Razorpay signs the exact bytes it sends (``X-Razorpay-Signature`` = hex HMAC-SHA256 with the webhook
secret) and names each event (``X-Razorpay-Event-Id``, the same on every retry). The signature is
checked over those bytes — base64-decoded first when API Gateway says ``isBase64Encoded`` — before
anything is parsed, with ``hmac.compare_digest`` against every accepted secret (the current one and,
during a rotation, the previous one). Razorpay re-signs retries of older events with the secret they
were first sent with, hence the previous secret.

The models accept exactly the shapes Razorpay sends (see the samples in the docs): extra fields are
ignored, ``notes`` is an object, or ``[]`` when empty, or ``null``. Amounts are integers in paise.

This module does not import the ``razorpay`` SDK (its import costs cold-start time for nothing:
the check is one HMAC).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError

from invoicing.config import ConfigurationError
from invoicing.domain.errors import BadRequestError
from invoicing.domain.invoice import Payment
from invoicing.domain.limits import EARLIEST, LATEST
from invoicing.domain.notices import FailedPaymentAttempt, NoticeKind, PaymentNotice, RefundNotice
from invoicing.observability import logger

SIGNATURE_HEADER = "X-Razorpay-Signature"
EVENT_ID_HEADER = "X-Razorpay-Event-Id"

PAYMENT_EVENTS = frozenset({"payment.captured", "invoice.paid", "invoice.partially_paid"})
INVOICE_PAYMENT_EVENTS = frozenset({"invoice.paid", "invoice.partially_paid"})
EXPIRY_EVENTS = frozenset({"invoice.expired"})
FAILED_PAYMENT_EVENTS = frozenset({"payment.failed"})
REFUND_EVENTS = frozenset({"refund.processed", "refund.failed"})
# Wallet top-ups are collected by payment links: paid (with the payment), or no longer payable.
LINK_PAYMENT_EVENTS = frozenset({"payment_link.paid", "payment_link.partially_paid"})
LINK_EXPIRY_EVENTS = frozenset({"payment_link.expired", "payment_link.cancelled"})
# A payment made on a payment link describes itself "#" + the link id without its "plink_" prefix
# (Razorpay's payment_link.paid sample); payment.captured carries nothing else naming the link.
_LINK_PAYMENT_DESCRIPTION = re.compile(r"#([A-Za-z0-9]{14})")


# ------------------------------------------------------------------------------------- signature
def raw_body(body: str | None, is_base64_encoded: bool) -> bytes:
    """The bytes Razorpay sent, as API Gateway hands them over."""
    if not body:
        return b""
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("The request body is not valid base64.") from None
    return body.encode("utf-8")


def sign(raw: bytes, secret: str) -> str:
    """The signature Razorpay computes: hex HMAC-SHA256 of the raw body with the webhook secret."""
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def verify_signature(raw: bytes, signature: str, secrets: list[str]) -> bool:
    """Whether ``signature`` is ``raw``'s signature under any of ``secrets`` (constant time).

    Every secret is compared (no early exit), so the timing does not tell which one matched.
    """
    if not signature:
        return False
    try:
        given = signature.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    matched = False
    for secret in secrets:
        if secret:
            matched |= hmac.compare_digest(sign(raw, secret).encode("ascii"), given)
    return matched


# ---------------------------------------------------------------------------------------- models
class _Entity(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


def _empty_notes(value: Any) -> Any:
    """Razorpay sends empty notes as ``[]`` (and sometimes ``null``)."""
    return {} if value is None or value == [] else value


Notes = Annotated[dict[str, Any], BeforeValidator(_empty_notes)]


class PaymentEntity(_Entity):
    id: str = Field(min_length=1)
    entity: str = "payment"
    amount: StrictInt = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    status: str
    method: str | None = None
    order_id: str | None = None
    invoice_id: str | None = None
    description: str | None = None
    captured: bool | None = None
    error_code: str | None = None
    error_reason: str | None = None
    notes: Notes = Field(default_factory=dict)
    created_at: StrictInt


class InvoiceEntity(_Entity):
    id: str = Field(min_length=1)
    entity: str = "invoice"
    status: str | None = None
    amount: StrictInt | None = None
    amount_paid: StrictInt | None = None
    amount_due: StrictInt | None = None
    currency: str | None = None
    payment_id: str | None = None
    expired_at: StrictInt | None = None
    notes: Notes = Field(default_factory=dict)

    @property
    def our_invoice_id(self) -> str | None:
        return _note(self.notes, "invoice_id")

    @property
    def our_account_id(self) -> str | None:
        return _note(self.notes, "account_id")


class PaymentLinkEntity(_Entity):
    id: str = Field(min_length=1)
    status: str | None = None
    amount: StrictInt | None = None
    amount_paid: StrictInt | None = None
    currency: str | None = None
    reference_id: str | None = None
    notes: Notes = Field(default_factory=dict)

    @property
    def our_top_up_id(self) -> str | None:
        """Ours when the notes say so, or when its reference is a top-up id (we set both)."""
        noted = _note(self.notes, "top_up_id")
        if noted:
            return noted
        reference = self.reference_id or ""
        return reference if reference.startswith("top_") else None

    @property
    def our_account_id(self) -> str | None:
        return _note(self.notes, "account_id")


class RefundEntity(_Entity):
    id: str = Field(min_length=1)
    entity: str = "refund"
    amount: StrictInt = Field(ge=0)
    currency: str | None = None
    payment_id: str = Field(min_length=1)
    status: str
    notes: Notes = Field(default_factory=dict)


def _note(notes: dict[str, Any], name: str) -> str | None:
    value = notes.get(name)
    return value if isinstance(value, str) and value else None


E = TypeVar("E", bound=_Entity)
R = TypeVar("R")


class Wrapped(_Entity, Generic[E]):
    entity: E


class PaymentEventPayload(_Entity):
    """``payment.captured``, ``payment.failed``."""

    payment: Wrapped[PaymentEntity]


class InvoiceEventPayload(_Entity):
    """``invoice.paid``, ``invoice.partially_paid`` (with the payment), ``invoice.expired`` (without)."""

    invoice: Wrapped[InvoiceEntity]
    payment: Wrapped[PaymentEntity] | None = None


class PaymentLinkEventPayload(_Entity):
    """``payment_link.paid`` (with the payment and its order), ``payment_link.expired``/``cancelled``."""

    payment_link: Wrapped[PaymentLinkEntity]
    payment: Wrapped[PaymentEntity] | None = None


class RefundEventPayload(_Entity):
    """``refund.processed``, ``refund.failed``."""

    refund: Wrapped[RefundEntity]


class RazorpayEvent(_Entity):
    """The envelope. ``payload`` is read with the model of the event's type only when we handle it."""

    entity: str = "event"
    event: str = Field(min_length=1)
    account_id: str | None = None
    contains: list[str] = Field(default_factory=list)
    created_at: StrictInt | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------- mapping
def parse_notice(raw: bytes, event_id: str, *, received_at: datetime | None = None) -> PaymentNotice:
    """The notice an (already verified) body carries. Malformed JSON is a ``BadRequestError``;
    well-formed JSON of a shape we do not understand becomes an ``UNREADABLE`` notice (kept for
    review), because answering 400 to Razorpay would only make it retry for a day and give up."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequestError("The webhook body is not valid JSON (or nested too deeply).") from None
    fallback = received_at or datetime.now(UTC)
    try:
        event = RazorpayEvent.model_validate(document)
    except ValidationError as exc:
        return PaymentNotice(
            event_id=event_id,
            event_type=_event_type(document),
            kind=NoticeKind.UNREADABLE,
            occurred_at=fallback,
            problem=_problem(exc),
        )
    base: dict[str, Any] = {"event_id": event_id, "event_type": event.event, "occurred_at": fallback}
    try:
        if event.created_at is not None:
            base["occurred_at"] = _timestamp(event.created_at)
        return PaymentNotice(**base, **_fields(event))
    except ValidationError as exc:
        return PaymentNotice(**base, kind=NoticeKind.UNREADABLE, problem=_problem(exc))
    except _OutOfRange as exc:
        return PaymentNotice(**base, kind=NoticeKind.UNREADABLE, problem=str(exc))


def _fields(event: RazorpayEvent) -> dict[str, Any]:
    name = event.event
    if name in INVOICE_PAYMENT_EVENTS:
        invoice_payload = InvoiceEventPayload.model_validate(event.payload)
        if invoice_payload.payment is None:
            return {"kind": NoticeKind.UNREADABLE, "problem": f"{name} without payload.payment"}
        invoice, payment = invoice_payload.invoice.entity, invoice_payload.payment.entity
        return {
            "kind": NoticeKind.PAYMENT,
            "invoice_id": invoice.our_invoice_id,
            "account_id": invoice.our_account_id,
            "ours": invoice.our_invoice_id is not None,
            "provider_invoice_id": invoice.id,
            "payment": to_payment(payment),
            "payment_captured": _captured(payment),
        }
    if name in LINK_PAYMENT_EVENTS:
        link_payload = PaymentLinkEventPayload.model_validate(event.payload)
        if link_payload.payment is None:
            return {"kind": NoticeKind.UNREADABLE, "problem": f"{name} without payload.payment"}
        link, payment = link_payload.payment_link.entity, link_payload.payment.entity
        return {
            "kind": NoticeKind.PAYMENT,
            "top_up_id": link.our_top_up_id,
            "provider_link_id": link.id,
            "account_id": link.our_account_id,
            "ours": link.our_top_up_id is not None,
            "payment": to_payment(payment),
            "payment_captured": _captured(payment),
        }
    if name in PAYMENT_EVENTS:  # payment.captured: the payment names Razorpay's invoice (or link) only
        payment = PaymentEventPayload.model_validate(event.payload).payment.entity
        return {
            "kind": NoticeKind.PAYMENT,
            "provider_invoice_id": payment.invoice_id,
            "payment": to_payment(payment),
            "payment_captured": _captured(payment),
            **_link_of(payment),
        }
    if name in LINK_EXPIRY_EVENTS:
        link = PaymentLinkEventPayload.model_validate(event.payload).payment_link.entity
        return {
            "kind": NoticeKind.EXPIRY,
            "top_up_id": link.our_top_up_id,
            "provider_link_id": link.id,
            "account_id": link.our_account_id,
            "ours": link.our_top_up_id is not None,
        }
    if name in EXPIRY_EVENTS:
        invoice = InvoiceEventPayload.model_validate(event.payload).invoice.entity
        return {
            "kind": NoticeKind.EXPIRY,
            "invoice_id": invoice.our_invoice_id,
            "provider_invoice_id": invoice.id,
        }
    if name in FAILED_PAYMENT_EVENTS:
        payment = PaymentEventPayload.model_validate(event.payload).payment.entity
        return {
            "kind": NoticeKind.FAILED_PAYMENT,
            "provider_invoice_id": payment.invoice_id,
            "failed_payment": FailedPaymentAttempt(
                id=payment.id,
                amount=payment.amount,
                currency=payment.currency.upper(),
                method=payment.method or "unknown",
                error_code=payment.error_code,
                error_reason=payment.error_reason,
                attempted_at=_timestamp(payment.created_at),
            ),
        }
    if name in REFUND_EVENTS:
        refund = RefundEventPayload.model_validate(event.payload).refund.entity
        return {
            "kind": NoticeKind.REFUND,
            "refund": RefundNotice(
                provider_refund_id=refund.id,
                payment_id=refund.payment_id,
                amount=refund.amount,
                status="processed" if name == "refund.processed" else "failed",
                refund_id=_note(refund.notes, "refund_id"),
                invoice_id=_note(refund.notes, "invoice_id"),
            ),
        }
    return {"kind": NoticeKind.UNHANDLED}


def _link_of(payment: PaymentEntity) -> dict[str, Any]:
    """What a payment (not on an invoice) says of the payment link it was made on, if anything."""
    if payment.invoice_id is not None:
        return {}
    found = _LINK_PAYMENT_DESCRIPTION.fullmatch(payment.description or "")
    top_up_id = _note(payment.notes, "top_up_id")
    if found is None and top_up_id is None:
        return {}
    return {
        "provider_link_id": f"plink_{found.group(1)}" if found else None,
        "top_up_id": top_up_id,
        "account_id": _note(payment.notes, "account_id"),
        "ours": top_up_id is not None,
    }


def to_payment(entity: PaymentEntity) -> Payment:
    """A Razorpay payment as the domain's ``Payment`` (amount in paise, method as Razorpay names it)."""
    return Payment(
        id=entity.id,
        amount=entity.amount,
        method=entity.method or "unknown",
        paid_at=_timestamp(entity.created_at),
        currency=entity.currency.upper(),
    )


def _captured(payment: PaymentEntity) -> bool:
    return payment.status == "captured" or payment.captured is True


class _OutOfRange(ValueError):
    pass


def _timestamp(epoch_seconds: int) -> datetime:
    """Epoch seconds as a UTC timestamp; outside 2000–2100 the payload is unreadable (never a 500)."""
    if not EARLIEST.timestamp() <= epoch_seconds <= LATEST.timestamp():
        raise _OutOfRange(f"Unreadable payload: timestamp {epoch_seconds} is outside 2000-2100.")
    return datetime.fromtimestamp(epoch_seconds, tz=UTC)


def _event_type(document: Any) -> str:
    name = document.get("event") if isinstance(document, dict) else None
    return name if isinstance(name, str) and name else "unknown"


def _problem(exc: ValidationError) -> str:
    """Where the payload did not fit, without the values (they may be customer data)."""
    places = [".".join(str(part) for part in error["loc"]) or "(root)" for error in exc.errors()][:5]
    return f"Unreadable payload ({exc.title}) at: " + ", ".join(places)


# -------------------------------------------------------------------------------------- receiver
class RazorpayWebhookReceiver(Generic[R]):
    """Inbound adapter: verify → read → hand the notice to ``process`` (the idempotent use case)."""

    def __init__(
        self,
        *,
        secrets: Callable[[], Iterable[str | None]],
        process: Callable[..., R],
    ) -> None:
        self._secrets = secrets
        self._process = process

    def receive(self, body: str | None, is_base64_encoded: bool, headers: Mapping[str, str]) -> R:
        lowered = {name.lower(): value for name, value in headers.items()}
        raw = raw_body(body, is_base64_encoded)
        secrets = [secret for secret in self._secrets() if secret]
        if not secrets:
            raise ConfigurationError("No Razorpay webhook secret is configured.")
        if not verify_signature(raw, lowered.get(SIGNATURE_HEADER.lower()) or "", secrets):
            raise BadRequestError(
                "The webhook signature is missing or does not match the body.",
                [{"loc": ["header", SIGNATURE_HEADER], "msg": "missing or invalid signature"}],
            )
        event_id = (lowered.get(EVENT_ID_HEADER.lower()) or "").strip() or _body_key(raw)
        notice = parse_notice(raw, event_id)
        logger.append_keys(event_id=event_id, event_type=notice.event_type)
        return self._process(notice=notice)


def _body_key(raw: bytes) -> str:
    """Without an event id header (Razorpay always sends one), the body's digest stands in."""
    return "body-sha256:" + hashlib.sha256(raw).hexdigest()
