"""Prepaid accounts against the fakes: top-ups and their payment links, the webhook's receipt
vouchers exactly once, and the billing run settling the month's invoice from the advances.

Razorpay is the stand-in behind the real adapter; webhooks are its signed bodies, parsed by the real
mapping. Races are proved by injecting the competing commit just before ours."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.local.razorpay_standin import WebhookDelivery
from invoicing.adapters.razorpay_webhooks import parse_notice
from invoicing.domain.access import Caller
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    ForbiddenError,
    PaymentProviderError,
    RetryableError,
)
from invoicing.domain.invoice import InvoiceStatus
from invoicing.domain.ledger import EntryType
from invoicing.domain.numbering import ist_date
from invoicing.domain.outbox import (
    PublishEvent,
    RegisterEInvoice,
    Relink,
    RenderDocument,
    RequestRefund,
)
from invoicing.domain.queries import IdempotencyClaim
from invoicing.domain.wallet import (
    MIN_TOP_UP_PAISE,
    DrawAdvances,
    IssueReceipt,
    TopUp,
    TopUpStatus,
    tax_on,
)
from invoicing.services.einvoicing import EInvoicePolicy, EInvoiceRegistrar
from invoicing.services.ledger_backfill import LedgerBackfill
from invoicing.services.outbox import OutboxDispatcher
from invoicing.services.payment_links import PaymentLinkService
from invoicing.services.payments import Outcome, PaymentService
from invoicing.services.retry import NO_WAIT
from invoicing.services.statements import StatementOutcome, StatementRenderService, StatementService
from invoicing.services.wallet import (
    NoBillingProfileError,
    NoticeRouter,
    TopUpPaymentService,
    WalletService,
)
from tests.billing.conftest import NOVEMBER, OPERATOR, World, hourly, make_world, record
from tests.fakes.backfill import LedgerHistory
from tests.fakes.credit_notes import InMemoryCreditNotes
from tests.fakes.einvoice import RecordingEInvoiceJobs
from tests.fakes.messaging import RecordingEvents, RecordingMailer, RecordingRenderJobs
from tests.fakes.statements import RecordingStatementJobs, RecordingStatementRenderer, Statements
from tests.fakes.storage import InMemoryStorage
from tests.fakes.store import Ledger, OutboxView
from tests.support.irp import gsp_client, irp_standin_responses, new_standin
from tests.unit.factories import customer, supplier

CUSTOMER = Caller(account_id="acc_1")


@dataclass
class Prepaid:
    world: World
    wallet: WalletService
    webhooks: NoticeRouter
    published: RecordingEvents = field(default_factory=RecordingEvents)

    def profile(self, account: str = "acc_1", *, intra_state: bool = True, model: str = "prepaid") -> None:
        self.world.profile(account, billing_model=model, customer=customer(intra_state=intra_state))

    def top_up(self, amount: int, account: str = "acc_1", *, key: str | None = None) -> TopUp:
        claim = IdempotencyClaim.of(key, f"{account}:{amount}".encode()) if key else None
        return self.wallet.top_up(OPERATOR, account, amount, claim)

    def pay(self, top_up: TopUp, method: str = "upi") -> list[Outcome]:
        return [self.deliver(d) for d in self.world.standin.pay_link(top_up.razorpay_payment_link_id, method)]

    def paid(self, amount: int, account: str = "acc_1") -> TopUp:
        made = self.top_up(amount, account)
        self.pay(made)
        return self.world.wallets.top_up(made.id)

    def deliver(self, delivery: WebhookDelivery) -> Outcome:
        return self.webhooks.handle(parse_notice(delivery.body, delivery.event_id))

    def forged(self, delivery: WebhookDelivery, change: Any) -> WebhookDelivery:
        """The delivery with its payload changed by ``change`` and signed again (a new event)."""
        document = delivery.payload
        change(document)
        import json

        body = json.dumps(document).encode()
        return WebhookDelivery(
            delivery.event,
            delivery.event_id + "x",
            body,
            {"X-Razorpay-Signature": self.world.standin.sign(body)},
        )

    def outbox(self) -> list[Any]:
        return self.world.store.waiting_effects()

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e.detail for e in self.outbox() if isinstance(e, PublishEvent) and e.detail_type == name]

    def drain(self) -> None:
        """The outbox dispatcher performs what is due: events (``published``), refunds and relinks at
        the stand-in."""
        world = self.world
        links = PaymentLinkService(
            invoices=world.store,
            transactions=world.store,
            payments=world.payments,
            clock=world.clock,
            backoff=NO_WAIT,
        )
        OutboxDispatcher(
            outbox=OutboxView(world.store),
            invoices=world.store,
            events=self.published,
            renders=RecordingRenderJobs(),
            mailer=RecordingMailer(),
            payments=world.payments,
            links=links,
            metrics=world.metrics,
            clock=world.clock,
            einvoices=RecordingEInvoiceJobs(),
        ).drain()


@pytest.fixture
def prepaid(world: World) -> Prepaid:
    return make_prepaid(world)


def make_prepaid(world: World) -> Prepaid:
    store, clock = world.store, world.clock
    wallet = WalletService(
        wallets=world.wallets,
        profiles=world.billing,
        transactions=store,
        links=world.payments,  # type: ignore[arg-type]
        supplier=supplier(),
        clock=clock,
    )
    top_ups = TopUpPaymentService(
        wallets=world.wallets, transactions=store, reviews=store, clock=clock, backoff=NO_WAIT
    )
    invoices = PaymentService(invoices=store, transactions=store, reviews=store, clock=clock, backoff=NO_WAIT)
    return Prepaid(world, wallet, NoticeRouter(invoices=invoices, top_ups=top_ups))


# -------------------------------------------------------------------------------------- top-ups
def test_a_top_up_is_a_quiet_razorpay_link_for_its_total_with_our_ids(prepaid):
    prepaid.profile(intra_state=False)

    made = prepaid.top_up(500_000)

    link = prepaid.world.standin.fetch_link(made.razorpay_payment_link_id)
    assert (made.status, made.amount, made.tax.igst, made.total) == (
        TopUpStatus.CREATED,
        500_000,
        90_000,
        590_000,
    )
    assert (link["amount"], link["reference_id"], link["notes"]) == (
        590_000,
        made.id,
        {"top_up_id": made.id, "account_id": "acc_1"},
    )
    assert link["notify"] == {"sms": False, "email": False, "whatsapp": False}
    assert link["expire_by"] == int(made.expire_by.timestamp()) and made.payment_url == link["short_url"]
    assert prepaid.world.wallets.top_up_by_link(link["id"]) == made


def test_the_same_idempotency_key_gives_the_same_top_up_and_one_link(prepaid):
    prepaid.profile()
    first = prepaid.top_up(500_000, key="k-1")
    again = prepaid.top_up(500_000, key="k-1")

    assert again == first
    assert len(prepaid.world.standin.list_links({})["payment_links"]) == 1
    with pytest.raises(ConflictError) as reused:
        prepaid.top_up(600_000, key="k-1")
    assert reused.value.details[0]["loc"] == ["header", "Idempotency-Key"]


def test_a_retry_after_a_lost_commit_reuses_the_link_it_made(prepaid, monkeypatch):
    prepaid.profile()
    commit = prepaid.world.store.commit
    monkeypatch.setattr(
        prepaid.world.store, "commit", lambda changes: (_ for _ in ()).throw(RetryableError("throttled"))
    )
    with pytest.raises(RetryableError):
        prepaid.top_up(500_000, key="k-2")
    assert prepaid.world.wallets.top_ups == {}
    monkeypatch.setattr(prepaid.world.store, "commit", commit)

    made = prepaid.top_up(500_000, key="k-2")

    (link,) = prepaid.world.standin.list_links({})["payment_links"]
    assert made.razorpay_payment_link_id == link["id"] and prepaid.world.wallets.top_up(made.id) == made


@pytest.mark.parametrize(
    ("caller", "account", "amount", "error"),
    [
        (CUSTOMER, "acc_2", 500_000, ForbiddenError),
        (CUSTOMER, "acc_1", 9_999, DomainValidationError),
        (CUSTOMER, "acc_1", 100_000_001, DomainValidationError),
        (OPERATOR, "acc_3", 500_000, NoBillingProfileError),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(prepaid, caller, account, amount, error):
    prepaid.profile("acc_1")
    prepaid.profile("acc_2")
    commits = prepaid.world.store.commits

    with pytest.raises(error):
        prepaid.wallet.top_up(caller, account, amount)

    assert prepaid.world.store.commits == commits and prepaid.world.wallets.top_ups == {}
    assert prepaid.world.standin.list_links({})["payment_links"] == []


def test_razorpay_down_is_a_provider_error_and_keeps_nothing(prepaid):
    prepaid.profile()
    prepaid.world.standin.fail_next("create_link", "server_error")
    with pytest.raises(PaymentProviderError):
        prepaid.top_up(500_000)
    assert prepaid.world.wallets.top_ups == {}


def test_a_customer_sees_only_its_own_top_ups_and_balance(prepaid):
    prepaid.profile("acc_1")
    prepaid.profile("acc_2")
    theirs = prepaid.top_up(500_000, "acc_2")
    from invoicing.domain.errors import NotFoundError

    with pytest.raises(NotFoundError):
        prepaid.wallet.get(CUSTOMER, theirs.id)
    with pytest.raises(ForbiddenError):
        prepaid.wallet.list(CUSTOMER, "acc_2", limit=10, cursor=None)
    with pytest.raises(ForbiddenError):
        prepaid.wallet.balance(CUSTOMER, "acc_2")
    assert prepaid.wallet.balance(CUSTOMER, None) == ("acc_1", 0)


# ------------------------------------------------------------------------------- paid (webhook)
def test_paying_issues_one_receipt_voucher_credits_the_wallet_and_books_the_payment(prepaid):
    prepaid.profile()
    made = prepaid.top_up(500_000)

    outcomes = prepaid.pay(made)

    paid = prepaid.world.wallets.top_up(made.id)
    assert [o.status for o in outcomes] == ["processed", "duplicate"]  # payment.captured, then .paid
    assert (paid.status, paid.receipt.receipt_number, paid.receipt.method) == (
        "paid",
        "RV/2627/000001",
        "upi",
    )
    receipt = prepaid.world.wallets.receipt(paid.receipt.id).receipt
    assert (receipt.amount, receipt.tax.cgst, receipt.tax.sgst, receipt.total) == (
        500_000,
        45_000,
        45_000,
        590_000,
    )
    assert prepaid.world.wallets.balance("acc_1") == 500_000
    assert prepaid.events("WalletTopUpPaid") == [
        {
            "account_id": "acc_1",
            "top_up_id": made.id,
            "amount": 500_000,
            "receipt_number": "RV/2627/000001",
            "receipt_id": receipt.id,
            "total": 590_000,
            "payment_id": paid.receipt.payment_id,
        }
    ]
    assert [e for e in prepaid.outbox() if isinstance(e, RenderDocument)] == [
        RenderDocument(document="receipt", document_id=receipt.id, version=1)
    ]
    entries = prepaid.world.store.ledger_entries["acc_1"]
    assert [(e.type, e.credit, e.reference) for e in entries] == [
        (EntryType.PAYMENT, 590_000, "RV/2627/000001")
    ]


def test_a_link_paid_twice_or_out_of_order_gives_one_receipt_and_one_event(prepaid):
    prepaid.profile()
    made = prepaid.top_up(500_000)
    captured, paid = prepaid.world.standin.pay_link(made.razorpay_payment_link_id)

    answers = [prepaid.deliver(d).status for d in (paid, captured, paid, captured)]

    assert answers == ["processed", "duplicate", "duplicate", "duplicate"]
    assert len(prepaid.events("WalletTopUpPaid")) == 1 and prepaid.world.store.counters == {"RV/2627": 1}
    top_up = prepaid.world.wallets.top_up(made.id)
    assert (top_up.status, top_up.receipt.receipt_number) == (TopUpStatus.PAID, "RV/2627/000001")
    assert prepaid.world.wallets.balance("acc_1") == 500_000


def test_payment_captured_alone_credits_the_top_up_with_the_payment_s_method(prepaid: Prepaid) -> None:
    # Given Razorpay's payment_link.paid never arrives: the payment's own event names the link
    prepaid.profile()
    made = prepaid.top_up(100_000)
    captured, _ = prepaid.world.standin.pay_link(made.razorpay_payment_link_id, "card")

    assert prepaid.deliver(captured).status == "processed"

    top_up = prepaid.world.wallets.top_up(made.id)
    assert top_up.receipt is not None and (top_up.status, top_up.receipt.method) == (TopUpStatus.PAID, "card")
    assert prepaid.world.wallets.balance("acc_1") == 100_000


def test_both_events_processed_at_once_credit_once(prepaid, monkeypatch):
    # Given payment.captured is being applied while payment_link.paid commits first
    prepaid.profile()
    made = prepaid.top_up(500_000)
    captured, paid = prepaid.world.standin.pay_link(made.razorpay_payment_link_id)
    commit = prepaid.world.store.commit
    injected: list[Outcome] = []

    def racing(changes):
        if not injected and any(isinstance(c, IssueReceipt) for c in changes):
            monkeypatch.setattr(prepaid.world.store, "commit", commit)
            injected.append(prepaid.deliver(paid))
        return commit(changes)

    monkeypatch.setattr(prepaid.world.store, "commit", racing)
    # When
    first = prepaid.deliver(captured)
    # Then
    assert (injected[0].status, first.status) == ("processed", "duplicate")
    assert len(prepaid.world.store.collection("receipts")) == 1 and prepaid.world.store.counters == {
        "RV/2627": 1
    }
    assert prepaid.world.wallets.balance("acc_1") == 500_000


def test_receipt_numbers_are_gap_free_across_top_ups_and_accounts(prepaid):
    prepaid.profile("acc_1")
    prepaid.profile("acc_2")
    numbers = [
        prepaid.paid(100_000, account).receipt.receipt_number for account in ("acc_1", "acc_2", "acc_1")
    ]
    assert numbers == ["RV/2627/000001", "RV/2627/000002", "RV/2627/000003"]


def test_a_payment_that_does_not_match_the_link_is_refunded_never_credited(prepaid):
    prepaid.profile()
    made = prepaid.top_up(500_000)
    captured, paid = prepaid.world.standin.pay_link(made.razorpay_payment_link_id)

    def short(document):
        document["payload"]["payment"]["entity"]["amount"] = 100

    answers = [prepaid.deliver(prepaid.forged(d, short)) for d in (paid, captured)]

    assert [(a.status, a.reason) for a in answers] == [
        ("ignored", "amount_mismatch"),
        ("duplicate", "amount_mismatch"),
    ]
    assert prepaid.world.wallets.top_up(made.id).status is TopUpStatus.CREATED
    assert prepaid.world.wallets.balance("acc_1") == 0 and prepaid.world.store.counters == {}
    refunds = [e for e in prepaid.outbox() if isinstance(e, RequestRefund)]
    assert [(r.amount, r.payment_id) for r in refunds] == [
        (100, captured.payload["payload"]["payment"]["entity"]["id"])
    ]
    assert [e["reason"] for e in prepaid.events("PaymentUnapplied")] == ["amount_mismatch"]
    assert [r.reason for r in prepaid.world.store.reviews.values()] == ["amount_mismatch"]


def test_a_webhook_for_a_link_that_is_not_ours_is_ignored_and_kept_for_review(prepaid):
    link = prepaid.world.standin.create_link({"amount": 10_000, "reference_id": "someone-else"})
    captured, paid = prepaid.world.standin.pay_link(link["id"])

    answers = [prepaid.deliver(d) for d in (paid, captured)]

    assert [(a.status, a.reason) for a in answers] == [
        ("ignored", "unknown_link"),
        ("ignored", "unknown_link"),
    ]
    assert prepaid.outbox() == [] and len(prepaid.world.store.reviews) == 2


def test_money_on_a_link_of_ours_without_its_top_up_is_refunded(prepaid):
    link = prepaid.world.standin.create_link(
        {"amount": 11_800, "reference_id": "top_Gone0000000000", "notes": {"top_up_id": "top_Gone0000000000"}}
    )
    _, paid = prepaid.world.standin.pay_link(link["id"])

    answer = prepaid.deliver(paid)

    assert (answer.status, answer.reason) == ("ignored", "unknown_link")
    assert [r.amount for r in prepaid.outbox() if isinstance(r, RequestRefund)] == [11_800]


def test_a_second_payment_of_a_paid_top_up_is_refunded(prepaid):
    prepaid.profile()
    made = prepaid.top_up(500_000)
    captured, _ = prepaid.world.standin.pay_link(made.razorpay_payment_link_id)
    prepaid.deliver(captured)

    def another(document):
        document["payload"]["payment"]["entity"]["id"] = "pay_Another0000001"

    answer = prepaid.deliver(prepaid.forged(captured, another))

    assert (answer.status, answer.reason) == ("ignored", "payment_refunded")
    assert prepaid.world.wallets.balance("acc_1") == 500_000 and len(prepaid.events("WalletTopUpPaid")) == 1


def test_an_expired_link_expires_its_top_up_and_a_late_expiry_changes_nothing(prepaid):
    prepaid.profile()
    unpaid, paid = prepaid.top_up(100_000), prepaid.paid(100_000)
    (expired,) = prepaid.world.standin.expire_link(unpaid.razorpay_payment_link_id)

    assert prepaid.deliver(expired).status == "processed"
    assert prepaid.deliver(expired).status == "duplicate"
    expired_top_up = prepaid.world.wallets.top_up(unpaid.id)
    assert (expired_top_up.status, expired_top_up.payment_url, expired_top_up.receipt) == (
        TopUpStatus.EXPIRED,
        None,
        None,
    )
    late = prepaid.forged(expired, lambda d: d["payload"]["payment_link"]["entity"].update(
        id=paid.razorpay_payment_link_id, notes={"top_up_id": paid.id}, reference_id=paid.id
    ))  # fmt: skip
    assert (prepaid.deliver(late).status, prepaid.deliver(late).status) == ("ignored", "duplicate")
    assert prepaid.world.wallets.top_up(paid.id).status is TopUpStatus.PAID
    assert prepaid.world.wallets.balance("acc_1") == 100_000


def test_a_transient_failure_keeps_nothing_and_the_retry_credits(prepaid, monkeypatch):
    prepaid.profile()
    made = prepaid.top_up(500_000)
    _, paid = prepaid.world.standin.pay_link(made.razorpay_payment_link_id)
    commit = prepaid.world.store.commit
    monkeypatch.setattr(
        prepaid.world.store, "commit", lambda changes: (_ for _ in ()).throw(RetryableError("throttled"))
    )
    with pytest.raises(RetryableError):
        prepaid.deliver(paid)
    assert prepaid.world.wallets.top_up(made.id).status is TopUpStatus.CREATED
    monkeypatch.setattr(prepaid.world.store, "commit", commit)
    assert prepaid.deliver(paid).status == "processed"


# ---------------------------------------------------------------------------------- settlement
def _usage(world: World, account: str = "acc_1", hours: int = 10) -> None:
    world.price()  # ₹245.50 an hour
    world.post(*hourly(account, "pod-1", hours))


def test_a_month_covered_by_the_advances_is_issued_and_paid_from_them_oldest_first(prepaid):
    world = prepaid.world
    prepaid.profile()
    first, second = prepaid.paid(150_000), prepaid.paid(200_000)
    _usage(world)  # 10 h × ₹245.50 = ₹2,455.00 taxable, ₹2,896.90 with GST

    run = world.run()

    (invoice,) = world.invoices_of("acc_1")
    (settled,) = invoice.payments
    assert run.invoices_created == 1 and invoice.status is InvoiceStatus.PAID
    assert (invoice.taxable_amount, invoice.amount, invoice.amount_due) == (245_500, 289_690, 0)
    assert (settled.method, settled.amount, settled.receipts) == (
        "advance",
        289_690,
        (first.receipt.receipt_number, second.receipt.receipt_number),
    )
    assert world.wallets.balance("acc_1") == 350_000 - 245_500 == 104_500
    record = world.wallets.settlement("acc_1", invoice.id)
    assert (record.payment_id, record.amount, record.invoice_number) == (
        settled.id,
        289_690,
        invoice.invoice_number,
    )
    assert [(d.receipt_number, d.taken) for d in record.draws] == [
        (first.receipt.receipt_number, 150_000),
        (second.receipt.receipt_number, 95_500),
    ]
    (left,) = world.wallets.advances("acc_1")
    assert (left.receipt_number, left.remaining) == (second.receipt.receipt_number, 104_500)
    entries = Ledger(world.store).entries("acc_1", invoice.date - timedelta(days=60), invoice.date).items
    assert [(e.type, e.debit, e.credit) for e in entries] == [
        (EntryType.PAYMENT, 0, 177_000),
        (EntryType.PAYMENT, 0, 236_000),
        (EntryType.INVOICE, 289_690, 0),
    ]  # settling from advances books nothing: the top-ups were the payments
    assert Relink(invoice_id=invoice.id) in prepaid.outbox()
    paid = prepaid.events("InvoicePaid")
    assert paid == [paid[0]] and (paid[0]["settled_by"], paid[0]["amount_due"]) == ("advance", 0)

    # and once the outbox is dispatched, its Razorpay invoice is cancelled and the events are out
    prepaid.drain()
    assert world.standin.fetch_invoice(invoice.razorpay_invoice_id)["status"] == "cancelled"
    assert world.store.get(invoice.id).payment_url is None
    assert [n for n in prepaid.published.names if n in ("WalletTopUpPaid", "InvoicePaid")] == [
        "WalletTopUpPaid",
        "WalletTopUpPaid",
        "InvoicePaid",
    ]


def test_a_short_balance_is_drawn_to_zero_and_the_rest_stays_due_with_the_profile_s_terms(prepaid):
    world = prepaid.world
    prepaid.profile(intra_state=False)
    world.profile(
        "acc_1", billing_model="prepaid", payment_terms_days=30, customer=customer(intra_state=False)
    )
    prepaid.paid(100_000)
    _usage(world)  # ₹2,455.00 + IGST ₹441.90 = ₹2,896.90

    world.run()

    (invoice,) = world.invoices_of("acc_1")
    (settled,) = invoice.payments
    # ₹1,000.00 of advance pays ₹1,000.00 + IGST ₹180.00
    assert (settled.amount, invoice.amount_due, invoice.status) == (
        118_000,
        171_690,
        InvoiceStatus.PARTIALLY_PAID,
    )
    assert settled.amount == 100_000 + tax_on(invoice, 100_000)
    assert world.wallets.balance("acc_1") == 0 and world.wallets.advances("acc_1") == []
    record = world.wallets.settlement("acc_1", invoice.id)
    assert (record.drawn, record.amount, len(record.draws)) == (100_000, 118_000, 1)
    assert invoice.due_date == invoice.date + timedelta(days=30) and invoice.razorpay_invoice_id
    assert Relink(invoice_id=invoice.id) in prepaid.outbox()

    # and once the outbox is dispatched, a new Razorpay invoice collects exactly the rest
    prepaid.drain()
    relinked = world.store.get(invoice.id)
    link = world.standin.fetch_invoice(relinked.razorpay_invoice_id)
    assert (link["status"], link["amount_due"]) == ("issued", 171_690)
    assert relinked.payment_url == link["short_url"]
    assert world.standin.fetch_invoice(invoice.razorpay_invoice_id)["status"] == "cancelled"


def test_the_statement_shows_top_ups_as_payments_and_no_entry_for_the_settlement(prepaid: Prepaid) -> None:
    # Given ₹5,000.00 of advance (₹5,900.00 paid) and a month of ₹579.38 settled from it
    world = prepaid.world
    prepaid.profile()
    prepaid.paid(500_000)
    _usage(world, hours=2)
    world.run()
    today = ist_date(world.clock.now)

    # When the customer asks for today's statement and the renderer builds it
    statements, ledger, storage = Statements(world.store), Ledger(world.store), InMemoryStorage()
    api = StatementService(
        statements=statements,
        invoices=world.store,
        ledger=ledger,
        jobs=RecordingStatementJobs(),
        links=storage,
        clock=world.clock,
    )
    renders = StatementRenderService(
        statements=statements,
        ledger=ledger,
        backfill=LedgerBackfill(history=LedgerHistory(world.store), backoff=NO_WAIT),
        renderer=RecordingStatementRenderer(),
        storage=storage,
        supplier=supplier(),
        clock=world.clock,
    )
    requested = api.request(CUSTOMER, "acc_1", today, today)
    assert renders.render(requested.id).outcome is StatementOutcome.READY
    view = api.get(CUSTOMER, requested.id)

    # Then the top-up is a payment of its total, the invoice a debit, the settlement nothing
    assert [(e.type, e.debit, e.credit) for e in view.entries] == [
        (EntryType.PAYMENT, 0, 590_000),
        (EntryType.INVOICE, 57_938, 0),
    ]
    figures = view.statement.figures
    assert figures is not None and figures.closing_balance == 57_938 - 590_000  # negative: not yet used


def test_postpaid_accounts_and_empty_wallets_are_not_settled(prepaid):
    world = prepaid.world
    prepaid.profile("acc_1", model="postpaid")
    prepaid.profile("acc_2")
    prepaid.paid(500_000, "acc_1")
    _usage(world, "acc_1")
    world.post(*hourly("acc_2", "pod-9", 3))

    world.run()

    for account in ("acc_1", "acc_2"):
        (invoice,) = world.invoices_of(account)
        assert invoice.status is InvoiceStatus.ISSUED and invoice.payments == ()
    assert world.wallets.balance("acc_1") == 500_000


def test_two_runs_settling_the_same_invoice_at_once_draw_once(prepaid, monkeypatch):
    # Given run A settling the invoice while a redelivered message (run B) settles it first
    world = prepaid.world
    prepaid.profile()
    prepaid.paid(500_000)
    _usage(world)
    a = world.runs._start("2026-11", "operator", ("acc_1",), "run_A")
    b = world.runs._start("2026-11", "operator", ("acc_1",), "run_B")
    commit = world.store.commit
    injected: list[Any] = []

    def racing(changes):
        if not injected and any(isinstance(c, DrawAdvances) for c in changes):
            monkeypatch.setattr(world.store, "commit", commit)
            injected.append(world.runs.bill_account(b.id, "2026-11", "acc_1"))
        return commit(changes)

    monkeypatch.setattr(world.store, "commit", racing)
    # When
    world.runs.bill_account(a.id, "2026-11", "acc_1")
    # Then
    (invoice,) = world.invoices_of("acc_1")
    assert len(injected) == 1 and [p.method for p in invoice.payments] == ["advance"]
    assert world.wallets.balance("acc_1") == 500_000 - invoice.taxable_amount
    assert world.wallets.totals("acc_1")["drawn"] == invoice.taxable_amount
    assert world.wallets.settlement("acc_1", invoice.id).drawn == invoice.taxable_amount


def test_the_next_month_finds_only_what_the_last_one_left(prepaid):
    # Given two months' invoices of one account, each needing more than half the balance
    world = prepaid.world
    prepaid.profile()
    prepaid.paid(300_000)
    world.price()
    world.post(*hourly("acc_1", "pod-1", 8, start=NOVEMBER.replace(month=10)))
    world.post(*hourly("acc_1", "pod-2", 8))
    october = world.runs._start("2026-10", "operator", ("acc_1",), "run_Oct")
    world.runs.bill_account(october.id, "2026-10", "acc_1")
    # (October took ₹1,964.00 of ₹3,000.00; November's ₹1,964.00 finds only ₹1,036.00)
    (oct_invoice,) = world.invoices_of("acc_1")
    november = world.runs._start("2026-11", "operator", ("acc_1",), "run_Nov")
    world.runs.bill_account(november.id, "2026-11", "acc_1")
    nov_invoice = next(i for i in world.invoices_of("acc_1") if i.id != oct_invoice.id)

    assert world.wallets.balance("acc_1") == 0 and world.wallets.advances("acc_1") == []
    drawn = [p for i in (oct_invoice, nov_invoice) for p in world.store.get(i.id).payments]
    assert sum(p.amount for p in drawn) == oct_invoice.amount + 103_600 + tax_on(nov_invoice, 103_600)
    assert world.store.get(nov_invoice.id).amount_due > 0


@pytest.mark.parametrize("seed", range(12))
def test_the_balance_never_goes_below_zero_whatever_settlements_interleave(prepaid, monkeypatch, seed):
    # Given several issued invoices of one account, settled concurrently in a random interleaving:
    # each settlement is interrupted by another one committing first, at random points.
    rng = random.Random(seed)
    world = prepaid.world
    prepaid.profile()
    for amount in rng.sample([100_000, 150_000, 250_000, 400_000, 90_000], k=3):
        prepaid.paid(amount)
    received = world.wallets.balance("acc_1")
    invoices = [
        world.invoices.issue(
            world.invoices.create(
                account_id="acc_1",
                fields={
                    "customer": customer(),
                    "billing_period": _period(),
                    "line_items": [_line(rng.randint(5_000, 300_000))],
                },
            ).id
        )
        for _ in range(4)
    ]
    settle = world.runs.advances.settle
    commit = world.store.commit
    pending = [i.id for i in invoices]
    rng.shuffle(pending)

    raced: list[str] = []

    def racing(changes):
        drawing = any(isinstance(c, DrawAdvances) for c in changes)
        if pending and drawing and (not raced or rng.random() < 0.6):
            raced.append(pending[-1])
            settle(pending.pop())  # another settlement commits first
        return commit(changes)

    monkeypatch.setattr(world.store, "commit", racing)
    while pending:
        settle(pending.pop())
    monkeypatch.setattr(world.store, "commit", commit)
    assert raced  # at least one settlement lost a race and read everything again

    # Then
    totals = world.wallets.totals("acc_1")
    assert totals["balance"] >= 0 and totals["balance"] == sum(
        a.remaining for a in world.wallets.advances("acc_1")
    )
    assert totals["drawn"] == received - totals["balance"]
    settled = [world.store.get(i.id) for i in invoices]
    assert all(sum(p.method == "advance" for p in i.payments) <= 1 for i in settled)
    for invoice in settled:
        assert invoice.amount_paid + invoice.amount_due == invoice.amount
    if totals["balance"] > 0:  # money left means every invoice was paid in full
        assert all(i.status is InvoiceStatus.PAID for i in settled)


def _period():
    from invoicing.domain.invoice import BillingPeriod

    return BillingPeriod(start=world_day(1), end=world_day(30))


def world_day(day: int):
    from datetime import date

    return date(2026, 11, day)


def _line(paise: int):
    from invoicing.domain.invoice import LineItem

    return LineItem(
        resource_type="vm",
        resource_name="vm-1",
        usage_start=record("x").start,
        usage_end=record("x").end,
        quantity="1",
        unit="hour",
        unit_rate=f"{paise // 100}.{paise % 100:02d}",
    )


def test_a_prepaid_b2b_invoice_is_settled_from_the_advances_and_registered_once_as_it_is_paid():
    # Given e-invoicing on, a prepaid B2B account (GSTIN) with advances and a B2C one (none)
    with make_world(einvoicing="sandbox") as world:
        prepaid = make_prepaid(world)
        prepaid.profile("acc_1", intra_state=False)
        world.profile("acc_2", billing_model="prepaid", customer=customer(gstin=None))
        prepaid.paid(500_000, "acc_1")
        prepaid.paid(500_000, "acc_2")
        _usage(world, "acc_1")
        world.post(*hourly("acc_2", "pod-9", 3))

        # When the month is run
        world.run()

        # Then the B2B invoice is pending registration, queued once (its issue's commit), and paid
        # from the advances; the B2C one is not e-invoiced
        (b2b,) = world.invoices_of("acc_1")
        (b2c,) = world.invoices_of("acc_2")
        assert (b2b.status, b2b.e_invoice.status.value) == (InvoiceStatus.PAID, "pending")
        assert [p.method for p in b2b.payments] == ["advance"]
        assert b2c.e_invoice.status.value == "not_applicable" and b2c.status is InvoiceStatus.PAID
        queued = [e for e in prepaid.outbox() if isinstance(e, RegisterEInvoice)]
        assert [(e.document, e.document_id) for e in queued] == [("invoice", b2b.id)]
        assert world.wallets.settlement("acc_1", b2b.id).drawn == b2b.taxable_amount

        # and its registration job gives it its IRN; it stays paid
        registrar = EInvoiceRegistrar(
            invoices=world.store,
            credit_notes=InMemoryCreditNotes(world.store),
            transactions=world.store,
            irp=gsp_client(clock=lambda: world.clock().timestamp()),
            jobs=RecordingEInvoiceJobs(),
            policy=EInvoicePolicy(mode="sandbox"),
            clock=world.clock,
            backoff=NO_WAIT,
        )
        with irp_standin_responses(new_standin(clock=world.clock)) as irp:
            assert registrar.register("invoice", b2b.id, queued[0].attempt) == "generated"
        registered = world.store.get(b2b.id)
        e_invoice = registered.e_invoice
        assert e_invoice is not None and e_invoice.status.value == "generated"
        assert registered.status is InvoiceStatus.PAID and registered.payments == b2b.payments
        (at_irp,) = irp.documents()
        assert (at_irp["irn"], at_irp["type"], at_irp["number"]) == (e_invoice.irn, "INV", b2b.invoice_number)


# ------------------------------------------------------------------ the wallet's money invariant
_STEP = st.one_of(
    st.tuples(st.just("top_up"), st.integers(MIN_TOP_UP_PAISE, 4_000_00), st.booleans()),
    st.tuples(st.just("redeliver"), st.integers(0, 63), st.booleans()),
    st.tuples(st.just("invoice"), st.integers(1_00, 6_000_00), st.booleans()),
    st.tuples(st.just("settle_again"), st.integers(0, 63), st.booleans()),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(steps=st.lists(_STEP, min_size=1, max_size=10))
def test_the_balance_is_what_receipts_brought_less_what_settlements_drew_and_never_negative(steps):
    """Whatever mix of top-ups paid (their two events in either order), redelivered webhooks,
    invoices settled (some racing another settlement that commits first) and settlements retried:
    balance == Σ receipts − Σ settlements ≥ 0, each receipt's advance is what its draws left, and
    each settlement's record agrees with its invoice's advance payment."""
    with make_world() as world:
        prepaid = make_prepaid(world)
        prepaid.profile()
        settle = world.runs.advances.settle
        deliveries: list[WebhookDelivery] = []
        invoices: list[str] = []
        for kind, value, flag in steps:
            if kind == "top_up":
                made = prepaid.top_up(value)
                paid = world.standin.pay_link(made.razorpay_payment_link_id)
                for delivery in reversed(paid) if flag else paid:
                    prepaid.deliver(delivery)
                deliveries += paid
            elif kind == "redeliver" and deliveries:
                prepaid.deliver(deliveries[value % len(deliveries)])
            elif kind == "invoice":
                invoice = _issued(world, value)
                invoices.append(invoice.id)
                if flag:  # another invoice's settlement commits just before this one's
                    other = _issued(world, max(value // 2, 1_00)).id
                    _settle_racing(world, settle, invoice.id, other, invoices)
                else:
                    settle(invoice.id)
            elif kind == "settle_again" and invoices:
                settle(invoices[value % len(invoices)])
            _assert_the_wallet_adds_up(world, invoices)


def _issued(world: World, paise: int):
    created = world.invoices.create(
        account_id="acc_1",
        fields={"customer": customer(), "billing_period": _period(), "line_items": [_line(paise)]},
    )
    return world.invoices.issue(created.id)


def _settle_racing(world: World, settle, invoice_id: str, other_id: str, invoices: list[str]) -> None:
    commit = world.store.commit
    raced: list[str] = []

    def racing(changes):
        if not raced and any(isinstance(c, DrawAdvances) for c in changes):
            world.store.commit = commit  # type: ignore[method-assign]
            raced.append(other_id)
            settle(other_id)
        return commit(changes)

    world.store.commit = racing  # type: ignore[method-assign]
    try:
        settle(invoice_id)
    finally:
        world.store.commit = commit  # type: ignore[method-assign]
    invoices.append(other_id)


def _assert_the_wallet_adds_up(world: World, invoice_ids: list[str]) -> None:
    receipts = [r for r in world.store.collection("receipts").values() if r.account_id == "acc_1"]
    records = {i: world.wallets.settlement("acc_1", i) for i in invoice_ids}
    settled = [r for r in records.values() if r is not None]
    balance = world.wallets.balance("acc_1")

    assert balance == sum(r.amount for r in receipts) - sum(s.drawn for s in settled) >= 0
    assert balance == sum(a.remaining for a in world.wallets.advances("acc_1"))
    assert len({r.receipt_number for r in receipts}) == len(receipts)  # one voucher per payment
    remaining = {a.receipt_id: a.remaining for a in world.wallets.advances("acc_1")}
    for receipt in receipts:  # each advance: what its draws left of it
        taken = sum(d.taken for s in settled for d in s.draws if d.receipt_id == receipt.id)
        assert taken + remaining.get(receipt.id, 0) == receipt.amount
    for invoice_id, kept in records.items():
        invoice = world.store.get(invoice_id)
        advance = [p for p in invoice.payments if p.method == "advance"]
        assert invoice.amount_paid + invoice.amount_due == invoice.amount and invoice.amount_due >= 0
        if kept is None:
            assert advance == []
            continue
        (payment,) = advance
        assert (payment.id, payment.amount) == (kept.payment_id, kept.amount)
        assert payment.receipts == tuple(d.receipt_number for d in kept.draws)
        assert kept.amount == min(invoice.amount, kept.drawn + tax_on(invoice, kept.drawn))
