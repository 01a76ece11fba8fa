"""E-invoicing (einvoice.md): a document's registration with the IRP, as a small state machine.

An issued B2B document (invoice or credit note) carries an :class:`EInvoice`:

- ``not_applicable``: e-invoicing is ``off``, the buyer has no GSTIN (B2C), or the buyer's GSTIN is
  the supplier's own; drafts carry none at all;
- ``pending`` → ``generated`` (the IRP answered an IRN, ack number and date, signed QR), or
  ``retrying`` (a transient failure: timeout, 5xx, provider down, expired token; retried with
  backoff), or ``failed`` (``kind``: ``validation`` — the payload broke a rule, ours or the IRP's;
  ``duplicate_mismatch`` — the IRP holds this number for another buyer or total; ``transient`` —
  given up after the last attempt);
- ``failed`` → ``pending`` again when an operator re-queues it; ``generated`` → ``cancelled`` when
  the IRN is cancelled at the IRP (within 24 hours of its ack date).

``attempts`` counts the registration attempts made; each queued registration names the attempt it
is for, so a redelivered or stale job is recognised and dropped. ``unknown_outcome`` marks that the
last attempt timed out: the IRP may or may not hold the document, so the next attempt looks it up by
type, number and date before sending it again. Both, and ``next_attempt_at``, are bookkeeping the
API does not show.

The IRP's answers reach the services through the ``IrpClient`` port as values
(:class:`RegisteredDocument`) or as the errors below, whatever the provider's wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from invoicing.domain.errors import InvalidTransitionError, InvoicingError
from invoicing.domain.limits import Timestamp

Mode = Literal["off", "sandbox", "production"]
CANCEL_WINDOW = timedelta(hours=24)  # the IRP cancels an IRN only within 24 hours of its ack date
REPORTING_WINDOW_DAYS = 30  # AATO above ₹10 crore: no registration more than 30 days after the date
CANCEL_REASON_ORDER_CANCELLED = "3"  # NIC's CnlRsn codes: 1 duplicate, 2 data entry mistake, 3 order
# cancelled, 4 others
IRN_PATTERN = r"^[0-9a-f]{64}$"
ACK_NO_PATTERN = r"^[0-9]{15}$"


class EInvoiceStatus(StrEnum):
    NOT_APPLICABLE = "not_applicable"
    PENDING = "pending"
    GENERATED = "generated"
    RETRYING = "retrying"
    FAILED = "failed"
    CANCELLED = "cancelled"


AWAITING = frozenset({EInvoiceStatus.PENDING, EInvoiceStatus.RETRYING})  # the PDF waits for these
LISTED = frozenset({EInvoiceStatus.PENDING, EInvoiceStatus.RETRYING, EInvoiceStatus.FAILED})


class ErrorKind(StrEnum):
    VALIDATION = "validation"
    TRANSIENT = "transient"
    DUPLICATE_MISMATCH = "duplicate_mismatch"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EInvoiceError(_Frozen):
    code: str = Field(min_length=1, max_length=64)
    message: str = Field(min_length=1, max_length=1000)
    kind: ErrorKind


class Registration(_Frozen):
    """What the IRP answers for a registered document."""

    irn: str = Field(pattern=IRN_PATTERN)
    ack_no: str = Field(pattern=ACK_NO_PATTERN)
    ack_date: Timestamp
    signed_qr: str = Field(min_length=1)


class RegisteredDocument(_Frozen):
    """A registration the IRP holds, with what telling it apart from ours needs (buyer, total)."""

    registration: Registration
    buyer_gstin: str | None
    total_paise: int
    status: Literal["active", "cancelled"] = "active"


class EInvoice(_Frozen):
    status: EInvoiceStatus
    irn: str | None = Field(default=None, pattern=IRN_PATTERN)
    ack_no: str | None = Field(default=None, pattern=ACK_NO_PATTERN)
    ack_date: Timestamp | None = None
    signed_qr: str | None = None
    error: EInvoiceError | None = None
    attempts: int = Field(default=0, ge=0)
    cancelled_at: Timestamp | None = None
    # bookkeeping (not in the API)
    unknown_outcome: bool = False
    next_attempt_at: Timestamp | None = None

    @property
    def awaiting(self) -> bool:
        return self.status in AWAITING

    # ------------------------------------------------------------------ transitions
    def generated(self, registration: Registration) -> EInvoice:
        self._require("record an IRN for", AWAITING)
        return EInvoice(
            status=EInvoiceStatus.GENERATED,
            irn=registration.irn,
            ack_no=registration.ack_no,
            ack_date=registration.ack_date,
            signed_qr=registration.signed_qr,
            attempts=self.attempts + 1,
        )

    def retrying(self, error: EInvoiceError, at: datetime, *, unknown_outcome: bool) -> EInvoice:
        self._require("retry", AWAITING)
        return self.model_copy(
            update={
                "status": EInvoiceStatus.RETRYING,
                "error": error,
                "attempts": self.attempts + 1,
                "unknown_outcome": unknown_outcome,
                "next_attempt_at": at,
            }
        )

    def failed(self, error: EInvoiceError) -> EInvoice:
        self._require("fail", AWAITING)
        return self.model_copy(
            update={
                "status": EInvoiceStatus.FAILED,
                "error": error,
                "attempts": self.attempts + 1,
                "next_attempt_at": None,
            }
        )

    def requeued(self) -> EInvoice:
        """An operator asks for the registration again (after the data was fixed)."""
        self._require("re-queue", {EInvoiceStatus.FAILED})
        return self.model_copy(update={"status": EInvoiceStatus.PENDING, "error": None})

    def cancelled(self, now: datetime) -> EInvoice:
        self._require("cancel", {EInvoiceStatus.GENERATED})
        return self.model_copy(update={"status": EInvoiceStatus.CANCELLED, "cancelled_at": now})

    def cancellable_at_irp(self, now: datetime) -> bool:
        """An IRN younger than 24 hours is cancelled at the IRP (older ones stay: a credit note
        reverses them)."""
        return (
            self.status is EInvoiceStatus.GENERATED
            and self.ack_date is not None
            and now - self.ack_date < CANCEL_WINDOW
        )

    def _require(self, action: str, statuses: frozenset[EInvoiceStatus] | set[EInvoiceStatus]) -> None:
        if self.status not in statuses:
            raise InvalidTransitionError(
                action,
                self.status,
                f"Cannot {action} an e-invoice in status '{self.status}'.",
            )


@dataclass(frozen=True)
class EInvoiceEntry:
    """A document whose registration needs watching (``GET /e-invoices``): an invoice or a credit note."""

    document: Literal["invoice", "credit_note"]
    document_id: str
    number: str | None
    account_id: str
    e_invoice: EInvoice


def at_issue(mode: Mode, supplier_gstin: str, buyer_gstin: str | None) -> EInvoice:
    """The e-invoice state an issued document starts with."""
    if mode == "off" or not buyer_gstin or buyer_gstin == supplier_gstin:
        return EInvoice(status=EInvoiceStatus.NOT_APPLICABLE)
    return EInvoice(status=EInvoiceStatus.PENDING)


def printable(state: EInvoice | None, document_id: str, status: str) -> bool:
    """Whether a document's PDF may be offered now (einvoice.md): not while its IRN is awaited
    (``False``: come back later); a failed registration refuses it (409, naming the error)."""
    if state is None:
        return True
    if state.status is EInvoiceStatus.FAILED:
        reason = state.error.message if state.error else "unknown error"
        raise InvalidTransitionError(
            "download",
            status,
            f"The PDF of {document_id} waits for its IRN, and its registration with the IRP failed: {reason}",
        )
    return not state.awaiting


def backoff_delay(attempts: int, base_seconds: int, cap_seconds: int) -> int:
    """Seconds before attempt ``attempts + 1``: doubling from ``base_seconds``, at most ``cap_seconds``."""
    return int(min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


# ---------------------------------------------------------------------------------------------
# What the IRP port raises
# ---------------------------------------------------------------------------------------------
class IrpError(InvoicingError):
    """The IRP (through the GSP) refused or failed; ``code`` is the provider's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class IrpRejected(IrpError):
    """The IRP refused the document (a validation error of its own): sending it again is useless."""


class IrpUnavailable(IrpError):
    """A transient failure (5xx, provider down, throttled, token trouble): nothing was registered."""


class IrpTimeout(IrpUnavailable):
    """No answer in time: the document may or may not have been registered."""


class IrpDuplicate(IrpError):
    """Error 2150: the IRP already holds this document (its IRN, when the answer names it)."""

    def __init__(self, message: str, irn: str | None = None) -> None:
        super().__init__("2150", message)
        self.irn = irn
