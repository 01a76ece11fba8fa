"""Bulk-download ZIP figures: memory and time of one 100-invoice download job.

- ``zip.peak_rss_mb.100_invoices`` (goal <= 150): peak RSS (``VmHWM``) of a fresh interpreter
  holding only what the renderer Lambda holds: its handler (loaded from template.yaml like the
  local stack does), its cached clients, and the job. AWS is moto's server in *another* process,
  reached over HTTP, as DynamoDB and S3 are from Lambda. The 100 invoices are issued, their PDFs
  already rendered and recorded (the usual case: every issue queues its render); the job reads
  each PDF from S3 in chunks into a ``zipfile`` streamed to S3 as a multipart upload, in a warm
  container (one small job ran first). PDFs are rendered beforehand in another process.
- ``zip.baseline_rss_mb``: the same interpreter's peak just before the job: the job's own cost is
  the difference.
- ``zip.seconds.100_invoices``: wall time of the job; ``zip.size_mb.100_invoices``: the ZIP's size.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.processes import peak_rss_mb, run_steps

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


def seed(folder: Path) -> None:
    """Resources from the template, 100 invoices with their PDFs, and the pending download job."""
    from infra.cfn import create_resources, function_environment, load_template
    from invoicing.adapters.aws import client
    from invoicing.adapters.storage import DocumentStorage
    from invoicing.domain.documents import Download, DownloadStatus, export_key, pdf_filename, pdf_key
    from invoicing.repository import records
    from invoicing.repository.documents import DynamoDocumentStore
    from invoicing.repository.downloads import DynamoDownloadStore
    from invoicing.repository.table import Table, serialize

    template = load_template()
    env = create_resources(template, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    env = function_environment(template, "PdfRendererFunction", env)
    dynamodb, s3 = client("dynamodb"), client("s3")
    table = Table(env["INVOICES_TABLE"], dynamodb)
    documents = DynamoDocumentStore(table)
    storage = DocumentStorage(env["PDF_BUCKET"], s3)
    ids = []
    for invoice in _invoices():
        invoice = invoice.model_copy(update={"account_id": ACCOUNT})
        table.call("put_item", Item=serialize(records.invoice_to_item(invoice)))  # any status, as is
        storage.put(
            pdf_key(invoice), (folder / f"{invoice.id}.pdf").read_bytes(), filename=pdf_filename(invoice)
        )
        assert documents.mark_rendered(invoice.id, invoice.version)
        ids.append(invoice.id)
    now = datetime.now(UTC)
    DynamoDownloadStore(table).create(
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
    (folder / "env.json").write_text(json.dumps({"env": env, "first_invoice": ids[0]}))


def measure(folder: Path) -> dict[str, float]:
    """The renderer as Lambda runs it: its handler and clients only; AWS is another process."""
    import time

    seeded = json.loads((folder / "env.json").read_text())
    os.environ.update(seeded["env"])
    from infra.cfn import load_template
    from infra.local.events import sqs_event
    from infra.local.functions import LocalFunction, functions_from_template
    from invoicing.adapters.aws import client

    renderer = LocalFunction(functions_from_template(load_template())["PdfRendererFunction"])

    def job(body: dict[str, str]) -> dict:
        message = {"MessageId": body["kind"], "ReceiptHandle": "r", "Body": json.dumps(body)}
        return sqs_event([message], queue_arn="arn:aws:sqs:ap-south-1:000000000000:render")

    # A warm container: one invocation first (a job for a PDF already stored), so the figure is the
    # download's, not the cold start's.
    warm = renderer.invoke(job({"kind": "invoice", "document_id": seeded["first_invoice"], "version": 1}))
    assert warm == {"batchItemFailures": []}, warm
    baseline = peak_rss_mb()
    started = time.perf_counter()
    result = renderer.invoke(job({"kind": "download", "download_id": DOWNLOAD_ID}))
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    assert result == {"batchItemFailures": []}, result
    key = f"exports/{ACCOUNT}/{DOWNLOAD_ID}.zip"
    size = client("s3").head_object(Bucket=os.environ["PDF_BUCKET"], Key=key)["ContentLength"]
    return {
        "zip.peak_rss_mb.100_invoices": round(peak, 1),
        "zip.baseline_rss_mb": round(baseline, 1),
        "zip.seconds.100_invoices": round(seconds, 2),
        "zip.size_mb.100_invoices": round(size / 2**20, 2),
    }


def run() -> dict[str, float]:
    """AWS (moto's server) runs in this process; the seeding and the measured renderer in others."""
    return run_steps("benchmarks.bench_zip", ("prepare", "seed", "measure"), prefix="bench-zip-")


if __name__ == "__main__":
    step, where = sys.argv[1], Path(sys.argv[2])
    if step == "prepare":
        prepare(where)
    elif step == "seed":
        seed(where)
    else:
        print(json.dumps(measure(where)))
