"""The invoice API's object graph: the service with its real adapters, built once per warm Lambda."""

from __future__ import annotations

from functools import cache

from invoicing.adapters import secrets
from invoicing.adapters.aws import client
from invoicing.adapters.razorpay import RazorpayPaymentProvider
from invoicing.adapters.storage import DocumentStorage
from invoicing.config import DocumentSettings, invoice_settings, load
from invoicing.repository.documents import DocumentRepository
from invoicing.repository.downloads import DownloadRepository
from invoicing.services.documents import DocumentService
from invoicing.services.invoices import InvoiceService
from invoicing.wiring import common


@cache
def invoice_service() -> InvoiceService:
    settings = invoice_settings()
    return InvoiceService(
        repository=common.repository(),
        policy=common.policy(settings),
        payments=RazorpayPaymentProvider(
            lambda: secrets.razorpay_credentials(settings.razorpay_secret_name),
            base_url=settings.razorpay_base_url,
            timeout_seconds=settings.razorpay_timeout_seconds,
        ),
        events=common.events(),
        renders=common.renders(),
    )


@cache
def document_settings() -> DocumentSettings:
    return load(DocumentSettings)


@cache
def document_service() -> DocumentService:
    settings = document_settings()
    dynamodb = client("dynamodb")
    return DocumentService(
        documents=DocumentRepository(settings.invoices_table, dynamodb),
        downloads=DownloadRepository(settings.invoices_table, dynamodb),
        storage=DocumentStorage(settings.pdf_bucket, client("s3")),
        jobs=common.renders(),
    )


def reset() -> None:
    """Forget the service and everything it was built from (tests that change the environment)."""
    invoice_service.cache_clear()
    document_service.cache_clear()
    document_settings.cache_clear()
    common.reset()
