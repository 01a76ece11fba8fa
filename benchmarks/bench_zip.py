"""Bulk-download ZIP figures: memory and time of one 100-invoice download job.

- ``zip.peak_rss_mb.100_invoices`` (goal <= 150): peak RSS (``ru_maxrss``) of a fresh interpreter
  that, under moto in-process, stores 100 issued invoices with their PDFs already rendered and
  recorded (the usual case: every issue queues its render), then runs the download job through
  the real path: ``functions/pdf_renderer/handler.py``'s ``lambda_handler`` with the SQS record,
  ``ExportService`` reading each PDF from S3 in chunks into a ``zipfile`` streamed to S3 as a
  multipart upload, in a warm container (one small job ran first). The PDFs are rendered
  beforehand in *another* process, so xhtml2pdf's own footprint (which a job that has to render
  pays anyway) does not hide the ZIP's. Moto's backend, holding the 100 PDFs and the ZIP, lives
  in the measured process and is counted too.
- ``zip.baseline_rss_mb``: that interpreter's peak RSS just before the job (imports, moto and its
  data, the warm-up): the job's own cost is the difference.
- ``zip.seconds.100_invoices``: wall time of the job; ``zip.size_mb.100_invoices``: the ZIP's size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INVOICES = 100
ACCOUNT = "acc_bench"
DOWNLOAD_ID = "dl_Bench00000000001"


def _invoices():  # type: ignore[no-untyped-def]
    """100 distinct issued demo invoices of one account (deterministic ids and numbers)."""
    from benchmarks.bench_pdf import demo_invoice

    base = demo_invoice(10)
    return [
        base.model_copy(update={"id": f"inv_Bench{n:09d}", "invoice_number": f"INV/2627/{n:06d}"})
        for n in range(1, INVOICES + 1)
    ]


def prepare(folder: Path) -> None:
    """Render the PDFs (in this process, not the measured one)."""
    from invoicing.adapters.pdf import InvoicePdfRenderer

    renderer = InvoicePdfRenderer(REPO / "functions" / "pdf_renderer")
    for invoice in _invoices():
        (folder / f"{invoice.id}.pdf").write_bytes(renderer.render(invoice))


def measure(folder: Path) -> dict[str, float]:
    import resource
    import time
    from datetime import timedelta

    from benchmarks.support import aws_stack

    with aws_stack() as env:
        from invoicing.adapters.aws import client
        from invoicing.adapters.storage import DocumentStorage
        from invoicing.repository.documents import DocumentRepository
        from invoicing.repository.downloads import Download, DownloadRepository, DownloadStatus
        from invoicing.repository.invoices import InvoiceRepository
        from invoicing.services.rendering import export_key, filename, pdf_key
        from tests.integration.pdf.conftest import FakeLambdaContext, load_handler, sqs_event, sqs_record

        # the renderer's own cached clients: one copy of botocore's service models, as in Lambda
        dynamodb, s3 = client("dynamodb"), client("s3")
        invoices = InvoiceRepository(env["INVOICES_TABLE"], dynamodb)
        documents = DocumentRepository(env["INVOICES_TABLE"], dynamodb)
        storage = DocumentStorage(env["PDF_BUCKET"], s3)
        ids = []
        for invoice in _invoices():
            invoice = invoice.model_copy(update={"account_id": ACCOUNT})
            invoices.create(invoice)
            storage.put(
                pdf_key(invoice), (folder / f"{invoice.id}.pdf").read_bytes(), filename=filename(invoice)
            )
            assert documents.mark_rendered(invoice.id, invoice.version)
            ids.append(invoice.id)
        now = datetime.now(UTC)
        downloads = DownloadRepository(env["INVOICES_TABLE"], dynamodb)
        downloads.create(
            Download(
                id=DOWNLOAD_ID,
                account_id=ACCOUNT,
                invoice_ids=tuple(ids),
                status=DownloadStatus.PENDING,
                key=export_key(ACCOUNT, DOWNLOAD_ID),
                created_at=now,
                expires_at=now + timedelta(days=7),
            )
        )
        handler = load_handler()
        # A warm container: one invocation first (a job for a PDF already stored: a GetItem), so the
        # figure is the download's, not the cold start's (X-Ray SDK, botocore's endpoint data).
        warm_up = sqs_event(sqs_record({"kind": "invoice", "invoice_id": ids[0], "version": 1}))
        assert handler.lambda_handler(warm_up, FakeLambdaContext()) == {"batchItemFailures": []}
        event = sqs_event(sqs_record({"kind": "download", "download_id": DOWNLOAD_ID}))
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        result = handler.lambda_handler(event, FakeLambdaContext())
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert result == {"batchItemFailures": []}, result
        assert downloads.get(DOWNLOAD_ID).status is DownloadStatus.READY
        size = s3.head_object(Bucket=env["PDF_BUCKET"], Key=export_key(ACCOUNT, DOWNLOAD_ID))["ContentLength"]
    return {
        "zip.peak_rss_mb.100_invoices": round(peak, 1),
        "zip.baseline_rss_mb": round(baseline, 1),
        "zip.seconds.100_invoices": round(seconds, 2),
        "zip.size_mb.100_invoices": round(size / 2**20, 2),
    }


def _child(step: str, folder: Path) -> str:
    env = {
        **os.environ,
        "POWERTOOLS_SERVICE_NAME": "pdf-renderer",
        "POWERTOOLS_METRICS_NAMESPACE": "Invoicing",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_zip", step, str(folder)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
    )
    return out.stdout


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-zip-") as folder:
        _child("prepare", Path(folder))
        figures = json.loads(_child("measure", Path(folder)).strip().splitlines()[-1])
    return figures


if __name__ == "__main__":
    step, where = sys.argv[1], Path(sys.argv[2])
    if step == "prepare":
        prepare(where)
    else:
        print(json.dumps(measure(where)))
