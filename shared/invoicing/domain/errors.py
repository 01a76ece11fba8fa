"""The one error tree. The API maps these to HTTP in one place; other functions let them raise."""

from __future__ import annotations

from typing import Any


class InvoicingError(Exception):
    """Base of every error the service raises on purpose."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class DomainValidationError(InvoicingError):
    """Input the domain refuses; ``details`` = ``[{"loc": [...], "msg": "..."}]``."""


class NotFoundError(InvoicingError):
    """No such object for this caller (another tenant's invoice is also not found)."""


class InvalidTransitionError(InvoicingError):
    """The invoice's status does not allow the action; the message names the status."""

    def __init__(self, action: str, status: str, message: str | None = None) -> None:
        super().__init__(message or f"Cannot {action} an invoice in status '{status}'.")
        self.action = action
        self.status = status


class ConflictError(InvoicingError):
    """A concurrent change won (stale version), or an idempotency key was reused with another body."""


class DuplicateError(InvoicingError):
    """The write was already applied (an idempotent replay); callers treat it as success."""


class RetryableError(InvoicingError):
    """A transient dependency failure (throttling, timeouts); the caller may retry."""


class PaymentProviderError(InvoicingError):
    """Razorpay failed or timed out; nothing was half-done, so retrying is safe."""


class ForbiddenError(InvoicingError):
    """The caller lacks the scope, or names another account."""


class UnauthorizedError(InvoicingError):
    """No usable identity."""


class BadRequestError(InvoicingError):
    """A request the server cannot interpret: malformed JSON, a forged or foreign cursor."""


class SequenceTakenError(ConflictError):
    """Another issue took the invoice number first; read the counter again and retry."""
