"""The template's Lambda functions in the test process, loaded and invoked as the local stack does.

One loader and one Lambda context for every test: :class:`infra.local.functions.LocalFunction`
imports ``functions/<name>/handler.py`` with its own folder importable (the API's ``routes``) and
invokes it with the local stack's context object. Queue-fed functions get their messages the way
Lambda's SQS integration delivers them (:meth:`Functions.feed`), scheduled ones a scheduled event.

    functions.invoke("InvoiceApiFunction", http_event("GET", "/invoices", claims=...))
    functions.feed("PdfRendererFunction", env["RENDER_QUEUE_URL"])   # until the queue is empty
    functions.scheduled("OverdueSweepFunction", at=datetime(...))
"""

from __future__ import annotations

import sys
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any

import boto3

from infra.cfn import load_template
from infra.local.events import failed_ids, scheduled_event, sqs_event
from infra.local.functions import LocalFunction, functions_from_template

API = "InvoiceApiFunction"
WEBHOOK = "RazorpayWebhookFunction"
SWEEP = "OverdueSweepFunction"
RENDERER = "PdfRendererFunction"
OUTBOX = "OutboxDispatcherFunction"
EINVOICE = "EInvoiceRegistrarFunction"


class Functions:
    """Every function of template.yaml, each imported once per test process."""

    def __init__(self) -> None:
        self._functions = {
            function_id: LocalFunction(spec)
            for function_id, spec in functions_from_template(load_template()).items()
        }

    def function(self, function_id: str) -> LocalFunction:
        return self._functions[function_id]

    def module(self, function_id: str) -> ModuleType:
        """The function's handler module (to reach its globals, e.g. to break a collaborator)."""
        self.function(function_id).load()
        return sys.modules[f"_local_lambda_{function_id}"]

    def invoke(self, function_id: str, event: Any) -> Any:
        return self.function(function_id).invoke(event)

    def scheduled(self, function_id: str, at: datetime, **options: Any) -> Any:
        """The function invoked by its schedule firing at ``at``."""
        spec = self.function(function_id).spec
        return self.invoke(function_id, scheduled_event(at, schedule_name=spec.function_name, **options))

    def feed(self, function_id: str, queue_url: str, *, max_batches: int = 100) -> list[str]:
        """Deliver ``queue_url``'s messages to the function in batches of up to 10, as Lambda's SQS
        integration does (what the answer's ``batchItemFailures`` lists stays on the queue), until a
        receive comes back empty; the bodies of the messages it did."""
        sqs = _sqs()
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        arn = attributes["Attributes"]["QueueArn"]
        done: list[str] = []
        for _ in range(max_batches):
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return done
            failed = failed_ids(self.invoke(function_id, sqs_event(messages, queue_arn=arn)))
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    done.append(message["Body"])
        raise AssertionError(f"{queue_url} did not drain in {max_batches} batches")


@cache
def _sqs() -> Any:
    return boto3.client("sqs")


@cache
def functions() -> Functions:
    return Functions()
