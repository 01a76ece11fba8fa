"""One contract, two implementations: DocumentRepository under moto and the unit tests' fake."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.domain.errors import NotFoundError
from invoicing.repository.documents import DocumentRepository
from tests.unit.factories import NOW, issued
from tests.unit.test_pdf_rendering_service import FakeDocuments


class RealDocuments:
    """DocumentRepository plus the InvoiceRepository writes the contract needs to set things up."""

    def __init__(self, repository: Any, documents: DocumentRepository) -> None:
        self.create = repository.create
        self.save = repository.save
        self.get = documents.get
        self.mark_rendered = documents.mark_rendered


@pytest.fixture(params=["dynamodb", "fake"])
def documents(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        return FakeDocuments()
    repository = request.getfixturevalue("repository")
    resources = request.getfixturevalue("pdf_resources")
    dynamodb = request.getfixturevalue("dynamodb")
    return RealDocuments(repository, DocumentRepository(resources["INVOICES_TABLE"], dynamodb))


def test_a_new_invoice_has_no_pdf(documents):
    invoice = documents.create(issued())

    document = documents.get(invoice.id)

    assert document.invoice == invoice
    assert document.pdf_version is None
    assert not document.pdf_is_current


def test_marking_the_current_version_makes_its_pdf_current(documents):
    invoice = documents.create(issued())

    assert documents.mark_rendered(invoice.id, invoice.version) is True

    document = documents.get(invoice.id)
    assert document.pdf_version == invoice.version
    assert document.pdf_is_current
    assert document.invoice == invoice  # no version bump, nothing else changed


def test_marking_twice_changes_nothing_the_second_time(documents):
    invoice = documents.create(issued())
    documents.mark_rendered(invoice.id, invoice.version)

    assert documents.mark_rendered(invoice.id, invoice.version) is False
    assert documents.get(invoice.id).pdf_version == invoice.version


def test_a_stale_version_cannot_be_marked(documents):
    before = documents.create(issued())
    after = documents.save(before, before.revise({"notes": "changed"}, NOW))

    assert documents.mark_rendered(before.id, before.version) is False
    assert documents.get(after.id).pdf_version is None


def test_a_change_of_the_invoice_makes_its_pdf_stale(documents):
    before = documents.create(issued())
    documents.mark_rendered(before.id, before.version)

    after = documents.save(before, before.revise({"notes": "changed"}, NOW))

    document = documents.get(after.id)
    assert document.invoice.version == after.version
    assert not document.pdf_is_current


def test_unknown_invoices_are_not_found_and_cannot_be_marked(documents):
    with pytest.raises(NotFoundError):
        documents.get("inv_DoesNotExist00")
    assert documents.mark_rendered("inv_DoesNotExist00", 1) is False
