"""Prepaid wallets (billing.md, "Prepaid"): top-ups, their payment by webhook, and the month's invoice
settled from the advances.

Top-up (``WalletService.top_up``)
    Refused before anything is made: another account (403), an amount outside ₹100–₹10,00,000
    (422), no billing profile (409). Then Razorpay's payment link is created (a failure is a 502 and
    nothing is kept), and one commit stores the top-up, the pointer from the link to it and the
    ``Idempotency-Key``. With a key, the top-up's id is derived from it: a retry of a request whose
    commit never happened finds the link it made at Razorpay (``reference_id``) instead of making a
    second one, and a replay answers the first top-up (another body under the key: 409).

Paid (``TopUpPaymentService``, the webhook's ``payment_link.paid`` and ``payment.captured``)
    The same guarantees as invoice payments. One commit takes the next receipt-voucher number of
    the financial year (``TakeNumber``, gap-free), marks the top-up paid (conditional on its
    version), stores the voucher with its advance, grows the wallet's balance by ``amount``, books
    the ledger's credit of ``total`` and queues ``WalletTopUpPaid`` and the voucher's PDF. The same
    payment again (a duplicate, or the other event type) is a ``duplicate``; a commit that lost a
    race reads again. A payment that does not match the link (amount, currency), a second payment
    of a paid top-up, or one on a link of ours whose top-up does not exist, is never credited: it is
    refunded in full (once per payment), kept for review and published as ``PaymentUnapplied``.
    A link we do not know is ignored and kept for review.

Settled (``AdvanceSettlementService.settle``, called by the billing run after issuing a prepaid
account's invoice)
    The account's open advances are read oldest first (as many as cover what is owed) and the
    domain plans the payment (``domain.wallet.plan_settlement``); one commit records it on the
    invoice, draws each advance conditionally on what remained of it, lowers the wallet's balance
    conditionally on it covering the draw, keeps the settlement's record (what it took from each
    receipt, once per invoice), and queues the events, the invoice's PDF and ``Relink``
    (the payment link then collects exactly what is still due, or is cancelled). A commit that lost
    a race — another settlement, a concurrent run, a payment — reads everything again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from invoicing.domain import wallet as rules
from invoicing.domain.access import Caller
from invoicing.domain.changes import (
    Change,
    IdempotentReplay,
    KeepIdempotency,
    KeepReview,
    LinkProvider,
    SaveInvoice,
    TakeNumber,
)
from invoicing.domain.effects import emit, invoice_effects
from invoicing.domain.errors import (
    ConflictError,
    DuplicateError,
    ForbiddenError,
    InvalidTransitionError,
    NotFoundError,
    RetryableError,
)
from invoicing.domain.events import invoice_event
from invoicing.domain.ids import new_id
from invoicing.domain.invoice import Invoice, InvoiceStatus, Payment, Supplier
from invoicing.domain.notices import NoticeKind, PaymentNotice
from invoicing.domain.numbering import ist_date
from invoicing.domain.outbox import Effect, PublishEvent, Relink, RenderDocument, RequestRefund
from invoicing.domain.queries import IdempotencyClaim, Page
from invoicing.domain.reviews import ReviewItem, ReviewReason
from invoicing.domain.wallet import (
    AmountMismatchError,
    DrawAdvances,
    IssueReceipt,
    KeepUnapplied,
    RecordSettlement,
    SaveTopUp,
    TopUp,
    TopUpStatus,
)
from invoicing.observability import logger
from invoicing.services.payments import Outcome, OutcomeStatus
from invoicing.services.ports import (
    BillingStore,
    Clock,
    InvoiceStore,
    ReviewStore,
    TopUpLinks,
    Transactions,
    WalletStore,
)
from invoicing.services.retry import Backoff

IDEMPOTENCY_SCOPE = "top_ups"


class NoBillingProfileError(ConflictError):
    """A top-up needs the account's billing profile (the receipt's recipient and place of supply)."""


# ------------------------------------------------------------------------------------ the API
@dataclass
class WalletService:
    wallets: WalletStore
    profiles: BillingStore
    transactions: Transactions
    links: TopUpLinks
    supplier: Supplier
    clock: Clock

    def top_up(
        self, caller: Caller, account_id: str, amount: int, claim: IdempotencyClaim | None = None
    ) -> TopUp:
        """``POST /wallet/top-ups``: a top-up with its payment link (honouring an Idempotency-Key)."""
        if not caller.owns(account_id):
            raise ForbiddenError("You can only top up your own account's wallet.")
        rules.check_amount(amount)
        profile = self.profiles.profile(account_id)
        if profile is None:
            raise NoBillingProfileError(
                f"Account {account_id} has no billing profile; a top-up's receipt voucher needs its "
                "GST details (PUT /accounts/{account_id}/billing-profile first).",
                [{"loc": ["body", "account_id"], "msg": "has no billing profile"}],
            )
        top_up_id = rules.keyed_id(account_id, claim.key) if claim else new_id("top")
        if claim is not None:
            replayed = self._replay(top_up_id, claim)
            if replayed is not None:
                return replayed
        draft = TopUp.create(
            top_up_id=top_up_id,
            account_id=account_id,
            amount=amount,
            supplier=self.supplier,
            customer=profile.customer,
            now=self.clock(),
            request_hash=claim.request_hash if claim else None,
        )
        link = self.links.create_payment_link(draft)
        if link.amount != draft.total:  # a concurrent request under the same key, another amount
            raise _key_reused()
        top_up = draft.with_link(link.provider_id, link.payment_url)
        changes: list[Change] = [
            SaveTopUp(None, top_up),
            LinkProvider(link.provider_id, top_up.id, account_id, kind="razorpay_payment_link"),
        ]
        if claim is not None:
            changes.append(KeepIdempotency(IDEMPOTENCY_SCOPE, account_id, claim, top_up.id))
        try:
            self.transactions.commit(changes)
        except IdempotentReplay as replay:
            return self.wallets.top_up(replay.result_id)
        except ConflictError:
            if claim is not None:  # the same request, committed first by a concurrent attempt
                replayed = self._replay(top_up_id, claim)
                if replayed is not None:
                    return replayed
            raise
        logger.info(
            "Top-up created",
            extra={"top_up_id": top_up.id, "amount": top_up.amount, "total": top_up.total},
        )
        return top_up

    def _replay(self, top_up_id: str, claim: IdempotencyClaim) -> TopUp | None:
        try:
            stored = self.wallets.top_up(top_up_id)
        except NotFoundError:
            return None
        if stored.request_hash != claim.request_hash:
            raise _key_reused()
        return stored

    def get(self, caller: Caller, top_up_id: str) -> TopUp:
        try:
            top_up = self.wallets.top_up(top_up_id)
        except NotFoundError:
            raise NotFoundError(f"No top-up {top_up_id}.") from None
        if not caller.owns(top_up.account_id):
            raise NotFoundError(f"No top-up {top_up_id}.")
        return top_up

    def list(self, caller: Caller, account_id: str | None, *, limit: int, cursor: str | None) -> Page[TopUp]:
        return self.wallets.list_top_ups(caller.account_for_listing(account_id), limit=limit, cursor=cursor)

    def balance(self, caller: Caller, account_id: str | None) -> tuple[str, int]:
        """The account and its advance balance: one read."""
        account = caller.account_for_listing(account_id)
        return account, self.wallets.balance(account)


def _key_reused() -> ConflictError:
    return ConflictError(
        "This Idempotency-Key was already used with a different request body.",
        [{"loc": ["header", "Idempotency-Key"], "msg": "reused with a different body"}],
    )


# -------------------------------------------------------------------------------- the webhook
class _Ignored(Exception):
    def __init__(self, reason: ReviewReason, message: str, top_up: TopUp | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.top_up = reason, message, top_up


@dataclass
class TopUpPaymentService:
    wallets: WalletStore
    transactions: Transactions
    reviews: ReviewStore
    clock: Clock
    backoff: Backoff

    @staticmethod
    def concerns(notice: PaymentNotice) -> bool:
        """Whether a notice is about a payment link (a top-up's), not an invoice."""
        return notice.kind in (NoticeKind.PAYMENT, NoticeKind.EXPIRY) and bool(
            notice.top_up_id or notice.provider_link_id
        )

    def handle(self, notice: PaymentNotice) -> Outcome:
        """Apply one notice about a top-up's link. Raises only on transient failures (5xx)."""
        try:
            if notice.kind is NoticeKind.EXPIRY:
                return self.expire(notice)
            return self.record_payment(notice)
        except _Ignored as ignored:
            logger.info("Webhook ignored", extra={"reason": ignored.reason.value})
            new = self.reviews.add(self._review(notice, ignored.reason, ignored.message, ignored.top_up))
            status = OutcomeStatus.IGNORED if new else OutcomeStatus.DUPLICATE
            return Outcome(status=status, reason=ignored.reason)

    def record_payment(self, notice: PaymentNotice) -> Outcome:
        payment = notice.payment
        if payment is None:  # pragma: no cover - the adapter marks such payloads unreadable
            raise _Ignored(ReviewReason.UNREADABLE_PAYLOAD, "The notice carries no payment.")
        if not notice.payment_captured:
            raise _Ignored(ReviewReason.PAYMENT_NOT_CAPTURED, f"Payment {payment.id} is not captured.")
        try:
            top_up = self._find(notice)
        except _Ignored as unknown:
            if notice.ours:  # our link (its notes name a top-up of ours) but no top-up to credit
                return self._refund(notice, payment, None, unknown.reason, unknown.message)
            raise
        for attempt in self.backoff.tries():
            if attempt:
                top_up = self.wallets.top_up(top_up.id)
            if top_up.receipt is not None and top_up.receipt.payment_id == payment.id:
                return Outcome(status=OutcomeStatus.DUPLICATE)
            if top_up.receipt is not None:
                return self._refund(
                    notice,
                    payment,
                    top_up,
                    ReviewReason.PAYMENT_REFUNDED,
                    f"Top-up {top_up.id} is already paid by {top_up.receipt.payment_id}.",
                )
            try:
                top_up.check_payment(payment)
            except AmountMismatchError as exc:
                reason = (
                    ReviewReason.CURRENCY_MISMATCH
                    if payment.currency != top_up.currency
                    else ReviewReason.AMOUNT_MISMATCH
                )
                return self._refund(notice, payment, top_up, reason, exc.message)
            if self._credited(top_up, payment):
                return Outcome(status=OutcomeStatus.PROCESSED, effect="WalletTopUpPaid")
        raise ConflictError(
            f"Top-up {top_up.id} kept changing; gave up after {self.backoff.attempts} attempts (retry later)."
        )

    def _credited(self, top_up: TopUp, payment: Payment) -> bool:
        """Issue the receipt voucher and credit the wallet in one commit; ``False``: lost a race."""
        now = self.clock()
        today = ist_date(now)
        series = rules.series(today)
        sequence = self.wallets.next_sequence(series)
        receipt = rules.issue_receipt(
            top_up,
            payment,
            receipt_id=new_id("rcv"),
            receipt_number=rules.number(today, sequence),
            today=today,
            now=now,
        )
        after = top_up.pay(payment, receipt.ref(), now)
        effects: list[Effect] = [
            PublishEvent(
                detail_type="WalletTopUpPaid",
                detail={
                    "account_id": top_up.account_id,
                    "top_up_id": top_up.id,
                    "amount": top_up.amount,
                    "receipt_number": receipt.receipt_number,
                    "receipt_id": receipt.id,
                    "total": top_up.total,
                    "payment_id": payment.id,
                },
            ),
            RenderDocument(document="receipt", document_id=receipt.id, version=receipt.version),
        ]
        changes: list[Change] = [
            TakeNumber(series, sequence, receipt.receipt_number, receipt.id, top_up.account_id),
            SaveTopUp(top_up, after),
            IssueReceipt(receipt),
            *emit(top_up.account_id, effects, now),
        ]
        try:
            self.transactions.commit(changes)
        except ConflictError as lost:  # the top-up changed, or the number was taken
            logger.info(
                "Top-up payment lost a race; reading again",
                extra={"top_up_id": top_up.id, "reason": type(lost).__name__},
            )
            return False
        logger.info(
            "Top-up paid",
            extra={
                "top_up_id": top_up.id,
                "payment_id": payment.id,
                "receipt_number": receipt.receipt_number,
                "amount": top_up.amount,
            },
        )
        return True

    def expire(self, notice: PaymentNotice) -> Outcome:
        top_up = self._find(notice)
        for attempt in self.backoff.tries():
            if attempt:
                top_up = self.wallets.top_up(top_up.id)
            try:
                after = top_up.expire(self.clock())
            except DuplicateError:
                return Outcome(status=OutcomeStatus.DUPLICATE)
            except InvalidTransitionError as exc:  # paid: a late expiry changes nothing
                raise _Ignored(ReviewReason.LATE_EXPIRY, exc.message, top_up) from None
            try:
                self.transactions.commit([SaveTopUp(top_up, after)])
            except ConflictError:
                continue
            logger.info("Top-up expired", extra={"top_up_id": top_up.id})
            return Outcome(status=OutcomeStatus.PROCESSED, effect="WalletTopUpExpired")
        raise ConflictError(f"Top-up {top_up.id} kept changing; retry later.")

    def _find(self, notice: PaymentNotice) -> TopUp:
        """Our top-up: by the id our link's notes (or reference) carry, else through the link's pointer."""
        try:
            if notice.top_up_id:
                top_up = self.wallets.top_up(notice.top_up_id)
            elif notice.provider_link_id:
                top_up = self.wallets.top_up_by_link(notice.provider_link_id)
            else:  # pragma: no cover - concerns() routes only notices naming one
                raise NotFoundError("The event names no payment link.")
        except NotFoundError:
            raise _Ignored(
                ReviewReason.UNKNOWN_LINK,
                f"No top-up of ours is collected by payment link {notice.provider_link_id or '?'} "
                f"(top-up {notice.top_up_id or '?'}).",
            ) from None
        logger.append_keys(top_up_id=top_up.id)
        return top_up

    def _refund(
        self,
        notice: PaymentNotice,
        payment: Payment,
        top_up: TopUp | None,
        reason: ReviewReason,
        message: str,
    ) -> Outcome:
        """Money on a link of ours that no top-up can be credited with: never credited, refunded in
        full, kept for review and published as ``PaymentUnapplied``, once per payment (whichever
        event says it); answered ``ignored``."""
        account = top_up.account_id if top_up else (notice.account_id or "unknown")
        refund_id = "rfd_" + payment.id.removeprefix("pay_")
        detail = {
            "payment_id": payment.id,
            "amount": payment.amount,
            "currency": payment.currency,
            "disposition": "refunded",
            "refunded": payment.amount,
            "account_id": account,
            "top_up_id": top_up.id if top_up else notice.top_up_id,
            "reason": reason.value,
        }
        effects: list[Effect] = [
            RequestRefund(refund_id=refund_id, payment_id=payment.id, amount=payment.amount),
            PublishEvent(detail_type="PaymentUnapplied", detail=detail),
        ]
        now = self.clock()
        changes: list[Change] = [
            KeepUnapplied(payment.id, account, detail["top_up_id"], reason.value),  # type: ignore[arg-type]
            KeepReview(self._review(notice, reason, f"{message} Refunded in full.", top_up)),
            *emit(account, effects, now),
        ]
        try:
            self.transactions.commit(changes)
        except DuplicateError:
            return Outcome(status=OutcomeStatus.DUPLICATE, reason=reason)
        logger.info(
            "Unapplied top-up payment refunded", extra={"payment_id": payment.id, "reason": reason.value}
        )
        return Outcome(status=OutcomeStatus.IGNORED, effect="PaymentRefunded", reason=reason)

    def _review(
        self, notice: PaymentNotice, reason: ReviewReason, message: str, top_up: TopUp | None
    ) -> ReviewItem:
        payment = notice.payment
        return ReviewItem(
            reason=reason.value,
            message=message,
            event_id=notice.event_id,
            event_type=notice.event_type,
            occurred_at=notice.occurred_at,
            received_at=self.clock(),
            payment_id=payment.id if payment else None,
            amount=payment.amount if payment else None,
            currency=payment.currency if payment else None,
            top_up_id=top_up.id if top_up else notice.top_up_id,
            razorpay_payment_link_id=notice.provider_link_id
            or (top_up.razorpay_payment_link_id if top_up else None),
        )


class NoticeHandler(Protocol):
    def handle(self, notice: PaymentNotice) -> Outcome: ...


@dataclass
class NoticeRouter:
    """The webhook's one entry: a notice about a top-up's payment link goes to the wallet, every
    other one to the invoices' ``PaymentService``."""

    invoices: NoticeHandler
    top_ups: TopUpPaymentService

    def handle(self, notice: PaymentNotice) -> Outcome:
        if self.top_ups.concerns(notice):
            return self.top_ups.handle(notice)
        return self.invoices.handle(notice)


# ----------------------------------------------------------------------------- the billing run
@dataclass
class AdvanceSettlementService:
    invoices: InvoiceStore
    wallets: WalletStore
    transactions: Transactions
    clock: Clock
    backoff: Backoff

    def settle(self, invoice_id: str) -> Invoice:
        """Settle what the issued invoice owes from its account's advances (oldest first), once.

        Nothing to settle (not payable, nothing due, settled before, no advance) returns the
        invoice as it is. Raises ``RetryableError`` when the advances kept moving (the billing
        queue delivers the account again).
        """
        for attempt in self.backoff.tries():
            invoice = self.invoices.get(invoice_id)
            plan = None
            if invoice.status is not InvoiceStatus.DRAFT and invoice.amount_due > 0:
                advances = self.wallets.open_advances(
                    invoice.account_id,
                    covering=rules.taxable_covering(invoice, invoice.amount_due),
                    limit=rules.MAX_DRAWS,
                )
                plan = rules.plan_settlement(invoice, advances, self.clock())
            if plan is None:
                return invoice
            after = plan.after
            event = (
                invoice_event(
                    "InvoicePaid", after, settled_by="advance", receipts=list(plan.payment.receipts)
                )
                if plan.paid_in_full
                else invoice_event(
                    "InvoicePartiallyPaid",
                    after,
                    settled_by="advance",
                    receipts=list(plan.payment.receipts),
                )
            )
            effects = [*invoice_effects(invoice, after, [event]), Relink(invoice_id=after.id)]
            changes: list[Change] = [
                SaveInvoice(invoice, after),
                DrawAdvances(invoice.account_id, plan.draws),
                RecordSettlement(plan.record()),
                *emit(invoice.account_id, effects, after.updated_at),
            ]
            try:
                self.transactions.commit(changes)
            except ConflictError as lost:
                logger.info(
                    "Settlement from advances lost a race; reading again",
                    extra={"invoice_id": invoice_id, "attempt": attempt, "reason": type(lost).__name__},
                )
                continue
            logger.info(
                "Invoice settled from advances",
                extra={
                    "invoice_id": invoice_id,
                    "paid": plan.payment.amount,
                    "drawn": plan.drawn,
                    "receipts": len(plan.draws),
                    "amount_due": after.amount_due,
                },
            )
            return after
        raise RetryableError(f"The advances of invoice {invoice_id}'s account kept changing; retry.")


__all__ = [
    "AdvanceSettlementService",
    "NoBillingProfileError",
    "NoticeRouter",
    "TopUpPaymentService",
    "TopUpStatus",
    "WalletService",
]
