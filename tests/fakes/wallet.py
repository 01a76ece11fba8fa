"""Prepaid wallets in the in-memory store: the handlers of the wallet's changes and a ``WalletStore``.

Importing this module registers the handlers with ``tests.fakes.store`` (as importing
``repository.wallet`` registers the DynamoDB writers): the same conditions, and the same errors, as
the DynamoDB writers. Collections: ``top_ups``, ``receipts``, ``receipt_pdfs``, ``advances`` (by
``(account, order)``; an advance drawn to 0 is removed), ``wallets`` (``balance``, ``received``,
``drawn`` per account), ``settlements`` (by ``(account, invoice)``) and ``unapplied`` (payment ids
refunded instead of credited).
"""

from __future__ import annotations

from invoicing.domain.errors import ConflictError, DuplicateError, NotFoundError
from invoicing.domain.ledger import topup_entry
from invoicing.domain.numbering import ist_date
from invoicing.domain.queries import Page
from invoicing.domain.wallet import (
    Advance,
    AdvanceMovedError,
    DrawAdvances,
    IssueReceipt,
    KeepUnapplied,
    ReceiptDocument,
    RecordSettlement,
    SaveTopUp,
    SettlementRecord,
    TopUp,
)
from tests.fakes.pages import page_of
from tests.fakes.store import InMemoryStore, _ts, handles

TOP_UPS, RECEIPTS, PDFS, ADVANCES, WALLETS, UNAPPLIED, SETTLEMENTS = (
    "top_ups",
    "receipts",
    "receipt_pdfs",
    "advances",
    "wallets",
    "unapplied",
    "settlements",
)


def _wallet(store: InMemoryStore, account_id: str) -> dict[str, int]:
    return store.collection(WALLETS).setdefault(account_id, {"balance": 0, "received": 0, "drawn": 0})


# ---------------------------------------------------------------------------------- handlers
def _check_top_up(store: InMemoryStore, change: SaveTopUp) -> None:
    stored = store.collection(TOP_UPS).get(change.after.id)
    if change.before is None:
        if stored is not None:
            raise ConflictError(f"Top-up {change.after.id} already exists.")
    elif stored is None or (stored.status, stored.version) != (change.before.status, change.before.version):
        raise ConflictError(f"{change.before.id} was changed by someone else; read it again and retry.")


@handles(SaveTopUp, _check_top_up)
def _save_top_up(store: InMemoryStore, change: SaveTopUp) -> None:
    store.collection(TOP_UPS)[change.after.id] = change.after


def _check_receipt(store: InMemoryStore, change: IssueReceipt) -> None:
    advance = change.advance
    if change.receipt.id in store.collection(RECEIPTS) or (
        (advance.account_id, advance.order) in store.collection(ADVANCES)
    ):
        raise ConflictError(f"Receipt voucher {change.receipt.id} already exists.")


@handles(IssueReceipt, _check_receipt)
def _issue_receipt(store: InMemoryStore, change: IssueReceipt) -> None:
    receipt, advance = change.receipt, change.advance
    store.collection(RECEIPTS)[receipt.id] = receipt
    store.collection(ADVANCES)[(advance.account_id, advance.order)] = advance
    wallet = _wallet(store, receipt.account_id)
    wallet["balance"] += receipt.amount
    wallet["received"] += receipt.amount
    store.book(
        [
            topup_entry(
                receipt.account_id,
                top_up_id=receipt.top_up_id,
                receipt_number=receipt.receipt_number,
                paid_on=ist_date(receipt.paid_at),
                total=receipt.total,
                method=receipt.method,
            )
        ]
    )


def _check_draws(store: InMemoryStore, change: DrawAdvances) -> None:
    advances = store.collection(ADVANCES)
    for draw in change.draws:
        stored = advances.get((draw.advance.account_id, draw.advance.order))
        if stored is None or stored.remaining != draw.advance.remaining:
            raise AdvanceMovedError(f"The advances of {change.account_id} changed meanwhile.")
    if store.collection(WALLETS).get(change.account_id, {}).get("balance", 0) < change.total:
        raise AdvanceMovedError(f"The wallet of {change.account_id} no longer covers {change.total}.")


@handles(DrawAdvances, _check_draws)
def _draw(store: InMemoryStore, change: DrawAdvances) -> None:
    advances = store.collection(ADVANCES)
    for draw in change.draws:
        key = (draw.advance.account_id, draw.advance.order)
        if draw.after == 0:
            del advances[key]
        else:
            advances[key] = Advance(**{**vars(draw.advance), "remaining": draw.after})
    wallet = _wallet(store, change.account_id)
    wallet["balance"] -= change.total
    wallet["drawn"] += change.total


def _check_settlement(store: InMemoryStore, change: RecordSettlement) -> None:
    record = change.record
    if (record.account_id, record.invoice_id) in store.collection(SETTLEMENTS):
        raise ConflictError(f"Invoice {record.invoice_id} was already settled from advances.")


@handles(RecordSettlement, _check_settlement)
def _record_settlement(store: InMemoryStore, change: RecordSettlement) -> None:
    record = change.record
    store.collection(SETTLEMENTS)[(record.account_id, record.invoice_id)] = record


def _check_unapplied(store: InMemoryStore, change: KeepUnapplied) -> None:
    if change.payment_id in store.collection(UNAPPLIED):
        raise DuplicateError(f"Payment {change.payment_id} was already refunded.")


@handles(KeepUnapplied, _check_unapplied)
def _unapplied(store: InMemoryStore, change: KeepUnapplied) -> None:
    store.collection(UNAPPLIED)[change.payment_id] = change


# ------------------------------------------------------------------------------------- store
def _sort_key(top_up: TopUp) -> str:
    return f"{_ts(top_up.created_at)}#{top_up.id}"


class InMemoryWallets:
    """``services.ports.WalletStore`` over an :class:`InMemoryStore`; ``reads`` counts calls."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.reads: list[str] = []

    @property
    def top_ups(self) -> dict[str, TopUp]:
        return self.store.collection(TOP_UPS)

    def top_up(self, top_up_id: str) -> TopUp:
        self.reads.append("top_up")
        top_up = self.top_ups.get(top_up_id)
        if top_up is None:
            raise NotFoundError(f"No top-up {top_up_id}.")
        return top_up

    def top_up_by_link(self, provider_link_id: str) -> TopUp:
        self.reads.append("top_up_by_link")
        pointer = self.store.pointers.get(provider_link_id)
        if pointer is None or pointer["kind"] != "razorpay_payment_link":
            raise NotFoundError(f"No top-up is collected by payment link {provider_link_id}.")
        return self.top_up(pointer["document_id"])

    def list_top_ups(self, account_id: str, *, limit: int, cursor: str | None) -> Page[TopUp]:
        return page_of(
            (t for t in self.top_ups.values() if t.account_id == account_id),
            account_id,
            key=_sort_key,
            limit=limit,
            cursor=cursor,
        )

    def balance(self, account_id: str) -> int:
        self.reads.append("balance")
        return self.store.collection(WALLETS).get(account_id, {}).get("balance", 0)

    def open_advances(self, account_id: str, *, covering: int, limit: int) -> list[Advance]:
        self.reads.append("open_advances")
        ordered = sorted(
            (a for (account, _), a in self.store.collection(ADVANCES).items() if account == account_id),
            key=lambda a: a.order,
        )
        found: list[Advance] = []
        for advance in ordered[:limit]:
            found.append(advance)
            if sum(a.remaining for a in found) >= covering:
                break
        return found

    def settlement(self, account_id: str, invoice_id: str) -> SettlementRecord | None:
        self.reads.append("settlement")
        return self.store.collection(SETTLEMENTS).get((account_id, invoice_id))

    def receipt(self, receipt_id: str) -> ReceiptDocument:
        receipt = self.store.collection(RECEIPTS).get(receipt_id)
        if receipt is None:
            raise NotFoundError(f"No receipt voucher {receipt_id}.")
        return ReceiptDocument(receipt=receipt, pdf_version=self.store.collection(PDFS).get(receipt_id))

    def mark_receipt_rendered(self, receipt_id: str, version: int) -> bool:
        receipt = self.store.collection(RECEIPTS).get(receipt_id)
        pdfs = self.store.collection(PDFS)
        if receipt is None or receipt.version != version or pdfs.get(receipt_id, 0) >= version:
            return False
        pdfs[receipt_id] = version
        return True

    def next_sequence(self, series: str) -> int:
        return self.store.next_sequence(series)

    # -------------------------------------------------------------------------- for tests
    def advances(self, account_id: str) -> list[Advance]:
        return sorted(
            (a for (account, _), a in self.store.collection(ADVANCES).items() if account == account_id),
            key=lambda a: a.order,
        )

    def settlements(self, account_id: str) -> list[SettlementRecord]:
        return [r for (account, _), r in self.store.collection(SETTLEMENTS).items() if account == account_id]

    def totals(self, account_id: str) -> dict[str, int]:
        return dict(self.store.collection(WALLETS).get(account_id, {"balance": 0, "received": 0, "drawn": 0}))
