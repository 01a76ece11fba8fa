"""Every contract test runs twice: against the in-memory fakes (``tests/fakes/store.py``) and against
the DynamoDB implementations under moto.

Cheap on purpose: one moto session and one client per test module (per xdist worker), moto's
transactions rolled back per item (``moto_speed``) instead of copying the whole table, and a fresh
table per test, created from ``template.yaml``'s own ``InvoicesTable`` properties with one
``CreateTable`` (~20 ms in moto), so tests never see each other's items — the sweep and the outbox
read whole index partitions, which a shared table would pollute. Every DynamoDB call the stores
make is recorded (``Stores.calls``) for the call-count tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.cfn import load_template
from invoicing.repository.commit import DynamoTransactions
from invoicing.repository.documents import DynamoDocumentStore, DynamoRenderRequests
from invoicing.repository.downloads import DynamoDownloadStore
from invoicing.repository.invoices import DynamoInvoiceStore
from invoicing.repository.outbox import DynamoOutbox
from invoicing.repository.reviews import DynamoReviewStore
from invoicing.repository.table import Table
from invoicing.services import ports
from tests.fakes.messaging import FixedClock
from tests.fakes.store import Documents, Downloads, InMemoryStore, OutboxView, RenderRequests
from tests.unit.factories import NOW

CURSOR_KEY = b"contract-tests-cursor-key-0123456789"
_names = itertools.count()


@dataclass
class Stores:
    """One backend's implementation of every storage port, on one (empty) table."""

    kind: str
    invoices: ports.InvoiceStore
    transactions: ports.Transactions
    documents: ports.DocumentStore
    downloads: ports.DownloadStore
    reviews: ports.ReviewStore
    outbox: ports.Outbox
    render_requests: ports.RenderRequests
    clock: FixedClock
    calls: list[str] = field(default_factory=list)  # DynamoDB operations, in order (dynamo only)

    @property
    def is_dynamo(self) -> bool:
        return self.kind == "dynamo"


def table_spec() -> dict[str, Any]:
    """``CreateTable`` arguments from the template's ``InvoicesTable`` (keys, indexes, stream)."""
    props = load_template()["Resources"]["InvoicesTable"]["Properties"]
    spec: dict[str, Any] = {
        "BillingMode": props["BillingMode"],
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "GlobalSecondaryIndexes": [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in props["GlobalSecondaryIndexes"]
            if "IndexName" in index  # not ListIndex, declared only while KeepListIndex moves a stage
        ],
    }
    if "StreamSpecification" in props:
        view = props["StreamSpecification"]["StreamViewType"]
        spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    return spec


@dataclass
class _Moto:
    client: Any
    spec: dict[str, Any]
    ttl: str
    calls: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def _moto() -> Iterator[_Moto]:
    """One moto session and one DynamoDB client for the whole module."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-south-1")
        moto = _Moto(
            client,
            table_spec(),
            load_template()["Resources"]["InvoicesTable"]["Properties"]["TimeToLiveSpecification"][
                "AttributeName"
            ],
        )
        client.meta.events.register("before-call.dynamodb", lambda model, **_: moto.calls.append(model.name))
        yield moto


@pytest.fixture(params=["memory", "dynamo"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    clock = FixedClock(NOW)
    if request.param == "memory":
        store = InMemoryStore(clock=clock)
        yield Stores(
            "memory",
            invoices=store,
            transactions=store,
            documents=Documents(store),
            downloads=Downloads(store),
            reviews=store,
            outbox=OutboxView(store),
            render_requests=RenderRequests(store),
            clock=clock,
        )
        return
    moto: _Moto = request.getfixturevalue("_moto")
    name = f"contract-{next(_names)}"
    moto.client.create_table(TableName=name, **moto.spec)
    moto.client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": moto.ttl}
    )
    table = Table(name, moto.client)
    moto.calls.clear()
    yield Stores(
        "dynamo",
        invoices=DynamoInvoiceStore(table, cursor_key=CURSOR_KEY),
        transactions=DynamoTransactions(table, clock=lambda: clock.now.timestamp()),
        documents=DynamoDocumentStore(table),
        downloads=DynamoDownloadStore(table),
        reviews=DynamoReviewStore(table),
        outbox=DynamoOutbox(table),
        render_requests=DynamoRenderRequests(table),
        clock=clock,
        calls=moto.calls,
    )
    moto.client.delete_table(TableName=name)
    moto.calls.clear()


@contextmanager
def counted(stores: Stores) -> Iterator[list[str]]:
    """The DynamoDB operations made inside the block (always empty for the fake)."""
    start = len(stores.calls)
    made: list[str] = []
    yield made
    made.extend(stores.calls[start:])


dynamo_only = pytest.mark.parametrize("stores", ["dynamo"], indirect=True)
