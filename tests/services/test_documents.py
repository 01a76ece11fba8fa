"""DocumentService, RenderService and ExportService against the fakes: PDF links, render jobs,
bulk-download jobs and their ZIPs."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest

from invoicing.domain.access import Caller
from invoicing.domain.changes import SaveInvoice
from invoicing.domain.credit_notes import CreditNote, CreditReason, CreditRequest
from invoicing.domain.documents import (
    Download,
    DownloadLink,
    DownloadStatus,
    Rendering,
    export_key,
    pdf_key,
)
from invoicing.domain.errors import (
    ConflictError,
    DomainValidationError,
    InvalidTransitionError,
    NotFoundError,
)
from invoicing.domain.invoice import Invoice
from invoicing.services.credit_note_documents import CreditNoteRenderService, RenderOutcome
from invoicing.services.documents import RENDER_AGAIN_AFTER, RenderFailedError
from invoicing.services.rendering import ExportOutcome, Outcome, RenderService
from tests.fakes.storage import InMemoryStorage, RecordingRenderer
from tests.fakes.store import Documents, Downloads, RenderRequests
from tests.services.conftest import World
from tests.unit.factories import NOW

CUSTOMER = Caller(account_id="acc_1")
OTHER = Caller(account_id="acc_2")
OPERATOR = Caller(account_id=None, is_operator=True)


def change(world: World, invoice: Invoice, notes: str) -> Invoice:
    after = invoice.revise({"notes": notes}, NOW)
    world.store.commit([SaveInvoice(invoice, after)])
    return after


# ---------------------------------------------------------------------------------------- pdf link


def test_without_a_current_pdf_a_render_is_queued_and_the_caller_told_to_come_back(world: World) -> None:
    invoice = world.issued()

    answer = world.documents.pdf_link(CUSTOMER, invoice.id)

    assert answer == Rendering(invoice.id)
    assert world.render_jobs.jobs[-1] == ("invoice", invoice.id, invoice.version)


def test_with_the_current_pdf_stored_the_caller_gets_a_short_lived_link(world: World) -> None:
    invoice = world.issued()
    world.renders.render(invoice.id, invoice.version)

    link = world.documents.pdf_link(CUSTOMER, invoice.id)

    assert isinstance(link, DownloadLink)
    assert link.filename == "INV-2627-000001.pdf"
    assert pdf_key(invoice) in link.url and (link.expires_at - NOW).total_seconds() == 900


def test_a_changed_invoice_needs_its_new_pdf(world: World) -> None:
    invoice = world.issued()
    world.renders.render(invoice.id, invoice.version)
    changed = change(world, invoice, "changed")

    assert world.documents.pdf_link(CUSTOMER, invoice.id) == Rendering(invoice.id)
    assert world.render_jobs.jobs[-1] == ("invoice", invoice.id, changed.version)


def test_polling_queues_one_render_per_version_and_again_only_once_the_request_is_stale(world: World) -> None:
    invoice = world.issued()

    answers = [world.documents.pdf_link(CUSTOMER, invoice.id) for _ in range(3)]

    assert answers == [Rendering(invoice.id)] * 3
    assert world.render_jobs.jobs == [("invoice", invoice.id, invoice.version)]
    world.clock.now = NOW + RENDER_AGAIN_AFTER + timedelta(seconds=1)  # its job may be lost
    assert world.documents.pdf_link(CUSTOMER, invoice.id) == Rendering(invoice.id)
    assert len(world.render_jobs.jobs) == 2


class BrokenRenderer(RecordingRenderer):
    def render(self, invoice: Invoice) -> bytes:
        raise OverflowError("date value out of range")


def test_a_render_the_renderer_fails_on_is_marked_failed_and_the_link_answers_409_without_a_job(
    world: World,
) -> None:
    invoice = world.issued()
    renders = RenderService(Documents(world.store), BrokenRenderer(), world.storage)

    rendition = renders.render(invoice.id, invoice.version)

    assert rendition.outcome is Outcome.FAILED and world.storage.objects == {}
    assert world.store.document(invoice.id).pdf_failed
    with pytest.raises(RenderFailedError, match="could not be rendered") as refused:
        world.documents.pdf_link(CUSTOMER, invoice.id)
    assert isinstance(refused.value, InvalidTransitionError)  # 409 invalid_state
    assert world.render_jobs.jobs == []


def test_after_a_failed_render_a_changed_invoice_is_rendered_afresh(world: World) -> None:
    invoice = world.issued()
    RenderService(Documents(world.store), BrokenRenderer(), world.storage).render(invoice.id, invoice.version)
    changed = change(world, invoice, "fixed")

    assert world.documents.pdf_link(CUSTOMER, invoice.id) == Rendering(invoice.id)
    assert world.render_jobs.jobs == [("invoice", invoice.id, changed.version)]


class BrokenStorage(InMemoryStorage):
    def put(self, key: str, body: bytes, *, filename: str, content_type: str) -> None:
        raise ConnectionError("S3 is away")


def test_a_storage_failure_is_no_failed_render_the_job_is_retried(world: World) -> None:
    invoice = world.issued()

    with pytest.raises(ConnectionError):
        RenderService(Documents(world.store), RecordingRenderer(), BrokenStorage()).render(
            invoice.id, invoice.version
        )
    assert not world.store.document(invoice.id).pdf_failed


@pytest.mark.parametrize("caller", [OTHER, CUSTOMER], ids=["another-account", "customer-draft"])
def test_what_the_caller_may_not_see_is_not_found(world: World, caller: Caller) -> None:
    invoice = world.issued("acc_9") if caller is OTHER else world.create()
    with pytest.raises(NotFoundError):
        world.documents.pdf_link(caller, invoice.id)
    with pytest.raises(NotFoundError):
        world.documents.pdf_link(CUSTOMER, "inv_nope")


def test_a_draft_has_no_pdf_even_for_an_operator(world: World) -> None:
    with pytest.raises(InvalidTransitionError, match="draft"):
        world.documents.pdf_link(OPERATOR, world.create().id)


# ------------------------------------------------------------------------------------------ render


def test_a_render_stores_the_named_version_and_records_it(world: World) -> None:
    invoice = world.issued()

    rendition = world.renders.render(invoice.id, invoice.version)

    assert (rendition.outcome, rendition.key) == (Outcome.RENDERED, pdf_key(invoice))
    assert world.storage.objects[pdf_key(invoice)] == (
        f"%PDF {invoice.id} v{invoice.version}".encode(),
        "INV-2627-000001.pdf",
    )
    assert world.store.document(invoice.id).pdf_is_current


def test_a_job_for_an_older_version_renders_the_current_one_and_a_repeat_renders_nothing(
    world: World,
) -> None:
    before = world.issued()
    after = change(world, before, "newer")

    first = world.renders.render(after.id, before.version)
    again = world.renders.render(after.id, before.version)

    assert (first.version, first.outcome, again.outcome) == (
        after.version,
        Outcome.RENDERED,
        Outcome.ALREADY_RENDERED,
    )
    assert world.renderer.rendered == [(after.id, after.version)]


def test_a_change_during_rendering_leaves_the_new_version_without_a_pdf(world: World) -> None:
    before = world.issued()

    class ChangingRenderer(RecordingRenderer):
        def render(self, invoice: Invoice) -> bytes:
            change(world, before, "changed while rendering")
            return super().render(invoice)

    rendition = RenderService(Documents(world.store), ChangingRenderer(), world.storage).render(
        before.id, before.version
    )

    assert rendition.outcome is Outcome.RENDERED  # the version it rendered is recorded ...
    assert pdf_key(before) in world.storage.objects
    document = world.store.document(before.id)
    assert (document.pdf_version, document.pdf_is_current) == (before.version, False)  # ... not current


def test_render_refuses_unknown_invoices_drafts_and_jobs_from_the_future(world: World) -> None:
    invoice = world.issued()
    with pytest.raises(NotFoundError):
        world.renders.render("inv_nope", 1)
    with pytest.raises(InvalidTransitionError, match="draft"):
        world.renders.render(world.create().id, 1)
    with pytest.raises(ConflictError):
        world.renders.render(invoice.id, invoice.version + 1)
    assert world.storage.objects == {}


# --------------------------------------------------------------------------------------- downloads


def test_a_download_is_stored_pending_and_queued(world: World) -> None:
    first, second = world.issued(), world.issued()

    download = world.documents.request_download(CUSTOMER, [first.id, second.id])

    assert (download.status, download.account_id, download.invoice_ids) == (
        DownloadStatus.PENDING,
        "acc_1",
        (first.id, second.id),
    )
    assert download.key == f"exports/acc_1/{download.id}.zip"
    assert world.render_jobs.downloads == [download.id]
    assert world.documents.download(CUSTOMER, download.id).link is None


@pytest.mark.parametrize("case", ["unknown", "another-account", "draft-for-customer"])
def test_a_download_naming_what_the_customer_may_not_see_is_refused_and_nothing_stored(
    world: World, case: str
) -> None:
    mine = world.issued()
    other = {
        "unknown": "inv_nope",
        "another-account": world.issued("acc_2").id,
        "draft-for-customer": world.create().id,
    }[case]

    with pytest.raises(NotFoundError) as refused:
        world.documents.request_download(CUSTOMER, [mine.id, other])

    assert other in refused.value.message
    assert refused.value.details == [{"loc": ["body", "invoice_ids", 1], "msg": f"no invoice {other}"}]
    assert world.store.downloads == {} and world.render_jobs.downloads == []


def test_an_operator_may_not_zip_drafts_or_mix_accounts(world: World) -> None:
    with pytest.raises(InvalidTransitionError):
        world.documents.request_download(OPERATOR, [world.create().id])
    with pytest.raises(DomainValidationError, match="one account"):
        world.documents.request_download(OPERATOR, [world.issued().id, world.issued("acc_2").id])


def test_another_account_s_download_is_not_found(world: World) -> None:
    download = world.documents.request_download(CUSTOMER, [world.issued().id])
    with pytest.raises(NotFoundError):
        world.documents.download(OTHER, download.id)
    assert world.documents.download(OPERATOR, download.id).download == download


# ----------------------------------------------------------------------------------------- export


def test_an_export_zips_each_pdf_by_number_rendering_what_is_missing(world: World) -> None:
    stored, missing = world.issued(), world.issued()
    world.renders.render(stored.id, stored.version)
    download = world.documents.request_download(CUSTOMER, [stored.id, missing.id])

    export = world.exports.export(download.id)

    assert (export.outcome, export.count, export.rendered) == (ExportOutcome.READY, 2, 1)
    body, filename = world.storage.objects[download.key]
    assert filename == f"invoices-{download.id}.zip"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.namelist() == ["INV-2627-000001.pdf", "INV-2627-000002.pdf"]
        assert archive.read("INV-2627-000002.pdf") == f"%PDF {missing.id} v{missing.version}".encode()
    assert world.store.document(missing.id).pdf_is_current
    state = world.documents.download(CUSTOMER, download.id)
    assert state.download.status is DownloadStatus.READY and state.link is not None


def test_a_repeated_export_message_changes_nothing(world: World) -> None:
    download = world.documents.request_download(CUSTOMER, [world.issued().id])
    world.exports.export(download.id)
    world.renderer.rendered.clear()

    assert world.exports.export(download.id).outcome is ExportOutcome.ALREADY_DONE
    assert world.renderer.rendered == []


@pytest.mark.parametrize("problem", ["gone", "draft", "another-account"])
def test_an_invoice_that_can_no_longer_be_in_the_zip_fails_the_job_for_good_and_leaves_no_zip(
    world: World, problem: str
) -> None:
    good = world.issued()
    bad = (
        world.create()
        if problem == "draft"
        else world.issued("acc_2" if problem == "another-account" else "acc_1")
    )
    # a job stored before the problem arose (a request naming a draft or another account's is refused)
    download = Downloads(world.store).create(
        Download(
            id="dl_1",
            account_id="acc_1",
            invoice_ids=(good.id, bad.id),
            status=DownloadStatus.PENDING,
            key=export_key("acc_1", "dl_1"),
            created_at=NOW,
            expires_at=NOW + timedelta(days=7),
        )
    )
    if problem == "gone":
        del world.store.invoices[bad.id]

    assert world.exports.export(download.id).outcome is ExportOutcome.FAILED
    assert world.store.downloads[download.id].status is DownloadStatus.FAILED
    assert world.renderer.rendered == [(good.id, good.version)]  # the ZIP was under way ...
    assert download.key not in world.storage.objects  # ... and is not there


def test_a_transient_failure_leaves_the_job_pending_and_no_zip(world: World) -> None:
    invoice = world.issued()
    download = world.documents.request_download(CUSTOMER, [invoice.id])

    class BrokenRenderer(RecordingRenderer):
        def render(self, invoice: Invoice) -> bytes:
            raise TimeoutError("S3 timed out")

    world.renderer = BrokenRenderer()
    with pytest.raises(TimeoutError):
        world.exports.export(download.id)

    assert world.store.downloads[download.id].status is DownloadStatus.PENDING
    assert download.key not in world.storage.objects


def test_polling_a_credit_notes_pdf_queues_one_render_per_version(world: World) -> None:
    invoice = world.issued()
    request = CreditRequest(reason=CreditReason.DISCOUNT, description="Goodwill.", lines=((0, 10_000),))
    note = world.credits.issue(invoice.id, request).note
    world.drain()  # the note's own render job, queued by its commit
    queued = len(world.render_jobs.jobs)

    answers = [world.credit_note_documents.pdf_link(CUSTOMER, note.id) for _ in range(3)]

    assert answers == [Rendering(note.id)] * 3
    assert world.render_jobs.jobs[queued:] == [("credit_note", note.id, note.version)]
    world.clock.now = NOW + RENDER_AGAIN_AFTER + timedelta(minutes=1)  # its job may be lost
    world.credit_note_documents.pdf_link(CUSTOMER, note.id)
    assert len(world.render_jobs.jobs) == queued + 2


class BrokenCreditNoteRenderer(RecordingRenderer):
    def render_credit_note(self, note: object) -> bytes:
        raise OverflowError("date value out of range")


def issued_note(world: World) -> CreditNote:
    invoice = world.issued()
    request = CreditRequest(reason=CreditReason.DISCOUNT, description="Goodwill.", lines=((0, 10_000),))
    return world.credits.issue(invoice.id, request).note


def test_a_credit_note_the_renderer_fails_on_is_marked_failed_and_its_link_answers_409(world: World) -> None:
    note = issued_note(world)
    renders = CreditNoteRenderService(
        world.credit_notes, BrokenCreditNoteRenderer(), world.storage, RenderRequests(world.store)
    )
    queued = len(world.render_jobs.jobs)

    assert renders.render(note.id, note.version) is RenderOutcome.FAILED
    assert world.storage.objects == {}

    with pytest.raises(RenderFailedError, match=r"credit note \S+ could not be rendered") as refused:
        world.credit_note_documents.pdf_link(CUSTOMER, note.id)
    assert isinstance(refused.value, InvalidTransitionError)  # 409 invalid_state, not 202 forever
    assert len(world.render_jobs.jobs) == queued


def test_a_storage_failure_of_a_credit_note_is_no_failed_render(world: World) -> None:
    note = issued_note(world)

    renders = CreditNoteRenderService(
        world.credit_notes, RecordingRenderer(), BrokenStorage(), RenderRequests(world.store)
    )
    with pytest.raises(ConnectionError):
        renders.render(note.id, note.version)

    assert not RenderRequests(world.store).failed("credit_note", note.id, note.version)
    assert world.credit_note_documents.pdf_link(CUSTOMER, note.id) == Rendering(note.id)
