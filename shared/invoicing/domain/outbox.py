"""Side effects, written in the same transaction as the state change that causes them.

A commit that changes state carries an :class:`OutboxMessage` listing what must happen because of
it: domain events, the PDF render request, a reminder e-mail, a refund at the payment provider.
The dispatcher (``services.outbox``) performs them after the commit, at least once, and removes the
message; every consumer tolerates a repeat (events carry a stable id, renders are keyed by version,
refunds by our refund id). So a crash between the commit and its effects delays them; it never
loses them, and an effect never happens without the change it follows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from invoicing.domain.ids import new_id


class _Effect(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class PublishEvent(_Effect):
    """A domain event on the EventBridge bus (source ``invoicing``)."""

    kind: Literal["event"] = "event"
    detail_type: str
    detail: dict[str, Any]


class RenderDocument(_Effect):
    """Render a document's PDF at ``version`` (the render queue's job)."""

    kind: Literal["render"] = "render"
    document: Literal["invoice", "credit_note", "receipt"] = "invoice"
    document_id: str
    version: int = 1


class SendReminder(_Effect):
    """E-mail the overdue notice or a reminder for an invoice, if it is still overdue then."""

    kind: Literal["reminder"] = "reminder"
    invoice_id: str
    today: date
    first_notice: bool


class RequestRefund(_Effect):
    """Ask the payment provider to refund ``amount`` of a captured payment (idempotent on
    ``refund_id``). ``invoice_id`` names the invoice the refund is recorded on, if any (a payment
    that could be recorded nowhere is refunded all the same)."""

    kind: Literal["refund"] = "refund"
    refund_id: str
    payment_id: str
    amount: int = Field(gt=0)
    invoice_id: str | None = None


class Relink(_Effect):
    """Make the invoice's payment link collect exactly what it owes now (its balance changed other
    than through that link: a credit note, a payment on an older link). Idempotent: the dispatcher
    reads the invoice and the provider and does only what is missing."""

    kind: Literal["relink"] = "relink"
    invoice_id: str


class RegisterEInvoice(_Effect):
    """Queue a document's registration with the IRP (``attempt``: the e-invoice's attempts count it
    is for; a job for another count is stale). ``delay_seconds``: the retry backoff."""

    kind: Literal["einvoice"] = "einvoice"
    document: Literal["invoice", "credit_note"] = "invoice"
    document_id: str
    attempt: int = Field(default=0, ge=0)
    delay_seconds: int = Field(default=0, ge=0)


Effect = Annotated[
    PublishEvent | RenderDocument | SendReminder | RequestRefund | Relink | RegisterEInvoice,
    Field(discriminator="kind"),
]


class OutboxMessage(BaseModel):
    """The effects of one commit. ``id`` makes every effect's de-duplication key stable."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str = Field(default_factory=lambda: new_id("obx"))
    account_id: str
    created_at: datetime
    effects: tuple[Effect, ...] = Field(min_length=1)
    attempts: int = 0

    def event_id(self, index: int) -> str:
        """The stable id of the ``index``-th effect (repeats of the message reuse it)."""
        return f"{self.id}:{index}"
