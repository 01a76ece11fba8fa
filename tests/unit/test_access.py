"""Who may see what (domain/access.py), what reads ask for (domain/queries.py) and documents'
names (domain/documents.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invoicing.domain.access import Caller
from invoicing.domain.documents import (
    Download,
    DownloadStatus,
    InvoiceDocument,
    InvoiceOwner,
    export_key,
    pdf_filename,
    pdf_key,
    zip_filename,
)
from invoicing.domain.errors import DomainValidationError, ForbiddenError
from invoicing.domain.invoice import InvoiceStatus
from invoicing.domain.queries import IdempotencyClaim
from tests.unit.factories import NOW, draft, issued

CUSTOMER = Caller(account_id="acc_1")
OTHER = Caller(account_id="acc_2")
OPERATOR = Caller(account_id=None, is_operator=True)


def test_a_customer_sees_its_own_invoices_but_never_a_draft():
    assert CUSTOMER.can_see(issued())
    assert not CUSTOMER.can_see(draft())
    assert not OTHER.can_see(issued())


def test_an_operator_sees_every_invoice_drafts_included():
    assert OPERATOR.can_see(issued()) and OPERATOR.can_see(draft())


def test_visibility_works_on_an_owner_projection_too():
    assert CUSTOMER.can_see(InvoiceOwner("inv_1", "acc_1", InvoiceStatus.PAID))
    assert not CUSTOMER.can_see(InvoiceOwner("inv_1", "acc_1", InvoiceStatus.DRAFT))


def test_owns_is_the_account_rule():
    assert CUSTOMER.owns("acc_1") and not CUSTOMER.owns("acc_2") and OPERATOR.owns("acc_2")


def test_a_customer_lists_its_own_account_and_may_name_it():
    assert CUSTOMER.account_for_listing(None) == "acc_1"
    assert CUSTOMER.account_for_listing("acc_1") == "acc_1"


def test_a_customer_naming_another_account_is_forbidden():
    with pytest.raises(ForbiddenError):
        CUSTOMER.account_for_listing("acc_2")


def test_an_operator_must_name_the_account():
    assert OPERATOR.account_for_listing("acc_9") == "acc_9"
    with pytest.raises(DomainValidationError) as refused:
        OPERATOR.account_for_listing(None)
    assert refused.value.details == [{"loc": ["query", "account_id"], "msg": "Field required"}]


def test_an_idempotency_claim_is_the_key_and_a_hash_of_the_body():
    claim = IdempotencyClaim.of("key-1", b'{"a": 1}')

    assert claim.key == "key-1" and len(claim.request_hash) == 64
    assert claim == IdempotencyClaim.of("key-1", b'{"a": 1}')
    assert claim.request_hash != IdempotencyClaim.of("key-1", b'{"a": 2}').request_hash


def test_a_pdf_is_keyed_by_account_invoice_and_version_and_named_by_its_number():
    invoice = issued(invoice_number="INV/2627/000042")

    assert pdf_key(invoice) == f"pdfs/acc_1/{invoice.id}/v{invoice.version}.pdf"
    assert pdf_filename(invoice) == "INV-2627-000042.pdf"
    assert pdf_filename(draft(invoice_id="inv_abc")) == "inv_abc.pdf"


def test_a_document_knows_whether_its_pdf_is_current_or_failed():
    invoice = issued()

    assert InvoiceDocument(invoice, invoice.version).pdf_is_current
    assert not InvoiceDocument(invoice, invoice.version - 1).pdf_is_current
    assert not InvoiceDocument(invoice, None).pdf_is_current
    assert InvoiceDocument(invoice, None, pdf_failed_version=invoice.version).pdf_failed


def test_a_download_s_zip_lives_under_the_expiring_exports_prefix():
    download = Download(
        id="dl_1",
        account_id="acc_1",
        invoice_ids=("inv_1", "inv_2"),
        status=DownloadStatus.PENDING,
        key=export_key("acc_1", "dl_1"),
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )

    assert download.key == "exports/acc_1/dl_1.zip"
    assert download.count == 2
    assert zip_filename("dl_1") == "invoices-dl_1.zip"
