"""RenderService with fakes: which version gets rendered, where it goes, and when nothing happens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from invoicing.domain.errors import ConflictError, InvalidTransitionError, NotFoundError
from invoicing.domain.invoice import Invoice
from invoicing.repository.documents import InvoiceDocument
from invoicing.services.rendering import InvoiceRenderJob, Outcome, RenderService, filename, pdf_key
from tests.unit.factories import NOW, draft, issued, payment


class FakeDocuments:
    """Stands in for ``DocumentRepository``; ``tests/integration/pdf`` runs the same contract on both."""

    def __init__(self) -> None:
        self.invoices: dict[str, Invoice] = {}
        self.pdf_versions: dict[str, int] = {}

    def create(self, invoice: Invoice) -> Invoice:
        self.invoices[invoice.id] = invoice
        return invoice

    def save(self, before: Invoice, after: Invoice) -> Invoice:
        """A change of the invoice: like the real table, it forgets which version had a PDF."""
        assert self.invoices[before.id].version == before.version
        self.invoices[after.id] = after
        self.pdf_versions.pop(after.id, None)
        return after

    def get(self, invoice_id: str) -> InvoiceDocument:
        if invoice_id not in self.invoices:
            raise NotFoundError(f"No invoice {invoice_id}.")
        return InvoiceDocument(self.invoices[invoice_id], self.pdf_versions.get(invoice_id))

    def mark_rendered(self, invoice_id: str, version: int) -> bool:
        invoice = self.invoices.get(invoice_id)
        if invoice is None or invoice.version != version or self.pdf_versions.get(invoice_id, 0) >= version:
            return False
        self.pdf_versions[invoice_id] = version
        return True


@dataclass
class FakeRenderer:
    rendered: list[tuple[str, int]] = field(default_factory=list)

    def render(self, invoice: Invoice) -> bytes:
        self.rendered.append((invoice.id, invoice.version))
        return f"%PDF {invoice.id} v{invoice.version}".encode()


@dataclass
class FakeStorage:
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def put(self, key: str, body: bytes, *, filename: str, content_type: str = "application/pdf") -> None:
        self.objects[key] = (body, filename)


@pytest.fixture
def documents() -> FakeDocuments:
    return FakeDocuments()


@pytest.fixture
def renderer() -> FakeRenderer:
    return FakeRenderer()


@pytest.fixture
def storage() -> FakeStorage:
    return FakeStorage()


@pytest.fixture
def service(documents, renderer, storage) -> RenderService:
    return RenderService(documents=documents, renderer=renderer, storage=storage)


def test_renders_the_named_version_to_its_versioned_key_and_records_it(service, documents, storage):
    invoice = documents.create(issued(invoice_number="INV/2627/000042"))

    rendition = service.render(invoice.id, invoice.version)

    key = f"pdfs/acc_1/{invoice.id}/v{invoice.version}.pdf"
    assert rendition.outcome is Outcome.RENDERED
    assert (rendition.key, rendition.version) == (key, invoice.version)
    assert storage.objects[key] == (f"%PDF {invoice.id} v{invoice.version}".encode(), "INV-2627-000042.pdf")
    assert documents.get(invoice.id).pdf_is_current


def test_a_job_for_an_older_version_renders_the_current_one(service, documents, storage, renderer):
    before = documents.create(issued())
    after = documents.save(before, before.apply_payment(payment(before.amount), NOW))

    rendition = service.render(after.id, before.version)

    assert rendition.version == after.version
    assert renderer.rendered == [(after.id, after.version)]
    assert list(storage.objects) == [pdf_key(after)]


def test_nothing_is_rendered_when_the_current_version_already_has_its_pdf(
    service, documents, renderer, storage
):
    invoice = documents.create(issued())
    service.render(invoice.id, invoice.version)
    renderer.rendered.clear()
    storage.objects.clear()

    again = service.render(invoice.id, invoice.version)
    older_job = service.render(invoice.id, invoice.version - 1)

    assert again.outcome is Outcome.ALREADY_RENDERED
    assert older_job.outcome is Outcome.ALREADY_RENDERED
    assert renderer.rendered == [] and storage.objects == {}


def test_a_change_during_rendering_leaves_the_newer_version_without_a_pdf(documents, storage):
    before = documents.create(issued())
    after = before.revise({"notes": "Changed while rendering"}, NOW)

    class ChangingRenderer(FakeRenderer):
        def render(self, invoice: Invoice) -> bytes:
            documents.save(before, after)
            return super().render(invoice)

    rendition = RenderService(documents, ChangingRenderer(), storage).render(before.id, before.version)

    assert rendition.outcome is Outcome.SUPERSEDED
    assert pdf_key(before) in storage.objects
    assert documents.get(before.id).pdf_version is None


def test_an_unknown_invoice_is_not_found(service):
    with pytest.raises(NotFoundError):
        service.render("inv_missing", 1)


def test_a_draft_has_no_pdf(service, documents, storage):
    invoice = documents.create(draft())

    with pytest.raises(InvalidTransitionError, match="draft"):
        service.render(invoice.id, invoice.version)
    assert storage.objects == {}


def test_a_job_from_the_future_is_a_conflict(service, documents, storage):
    invoice = documents.create(issued())

    with pytest.raises(ConflictError):
        service.render(invoice.id, invoice.version + 1)
    assert storage.objects == {}


def test_keys_and_file_names():
    invoice = issued(invoice_number="INV/2627/000042")

    assert pdf_key(invoice) == f"pdfs/acc_1/{invoice.id}/v2.pdf"
    assert filename(invoice) == "INV-2627-000042.pdf"
    assert filename(draft(invoice_id="inv_abc")) == "inv_abc.pdf"


def test_render_jobs_parse_from_the_queues_message_body():
    body = json.dumps({"kind": "invoice", "invoice_id": "inv_1", "version": 3})

    assert InvoiceRenderJob.parse(body) == InvoiceRenderJob(invoice_id="inv_1", version=3)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"kind": "download", "invoice_id": "inv_1", "version": 1}),
        json.dumps({"kind": "invoice", "invoice_id": "inv_1"}),
        json.dumps({"kind": "invoice", "invoice_id": "inv_1", "version": 0}),
        json.dumps({"kind": "invoice", "invoice_id": "inv_1", "version": 1, "extra": True}),
    ],
)
def test_malformed_render_jobs_are_refused(body):
    with pytest.raises((ValidationError, ValueError)):
        InvoiceRenderJob.parse(body)
