"""Statements, large exports and dead letters through the functions' own ``lambda_handler``s, under
moto, with resources built from template.yaml.

The functions are loaded as the local stack loads them (``infra.local.functions``: by file path,
their folder importable) and invoked with HTTP API v2 events (``tests.events.http``) or SQS events
made of what is really on the queues. Invoices are committed straight through the repository, as
the services commit them (their ledger is booked in the same transactions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.cfn import load_template, physical_names
from infra.local.events import sqs_event
from infra.local.functions import LocalFunction
from invoicing.repository.commit import DynamoTransactions
from invoicing.repository.table import Table
from tests.events.http import OPERATOR, customer, http_event
from tests.support.api import Reply
from tests.support.functions import functions as loaded_functions

NOW = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)  # "today" for the functions


@dataclass
class Stack:
    env: dict[str, str]
    functions: dict[str, LocalFunction]

    @property
    def table(self) -> Table:
        return Table(self.env["INVOICES_TABLE"], boto3.client("dynamodb"))

    @property
    def transactions(self) -> DynamoTransactions:
        return DynamoTransactions(self.table, clock=lambda: NOW.timestamp())

    # ----------------------------------------------------------------------------------- HTTP
    def call(self, method: str, path: str, *, claims: dict[str, str] | None = None, **kwargs: Any) -> Reply:
        result = self.functions["InvoiceApiFunction"].invoke(
            http_event(method, path, claims=claims, **kwargs)
        )
        return Reply.of(result)

    def customer(self, account_id: str, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=customer(account_id), **kwargs)

    def operator(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.call(method, path, claims=OPERATOR, **kwargs)

    # ---------------------------------------------------------------------------------- queues
    def queue_url(self, logical_id: str) -> str:
        name = physical_names(load_template())[logical_id]
        return boto3.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]

    def deliver(self, queue: str, function: str, *, receive: Callable[..., Any] | None = None) -> dict:
        """Receive what is on ``queue`` and hand it to ``function`` as Lambda's SQS integration
        would; delete what it did not report as failed. Returns the function's answer."""
        sqs = boto3.client("sqs")
        url = self.queue_url(queue)
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", []
        )
        assert messages, f"nothing on {queue}"
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        result = self.functions[function].invoke(sqs_event(messages, queue_arn=arn))
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return result


@pytest.fixture
def stack(resources: dict[str, str], clock: Any) -> Stack:
    """The shared moto stack and function loader; the functions' clock at ``LATER``."""
    clock.set(LATER)
    names = ("InvoiceApiFunction", "PdfRendererFunction", "RenderDeadLetterFunction")
    return Stack(env=resources, functions={name: loaded_functions().function(name) for name in names})
