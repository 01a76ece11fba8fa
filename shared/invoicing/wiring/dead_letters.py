"""The render dead-letter consumer's composition root."""

from __future__ import annotations

from functools import cache

from invoicing.config import TableSettings
from invoicing.repository.documents import DynamoDocumentStore, DynamoRenderRequests
from invoicing.repository.downloads import DynamoDownloadStore
from invoicing.repository.statements import DynamoStatementStore
from invoicing.services.dead_letters import DeadLetters
from invoicing.wiring import common


@cache
def dead_letters() -> DeadLetters:
    table = common.table(common.settings(TableSettings).invoices_table)
    return DeadLetters(
        downloads=DynamoDownloadStore(table),
        statements=DynamoStatementStore(table),
        documents=DynamoDocumentStore(table),
        render_requests=DynamoRenderRequests(table),
    )


def reset() -> None:
    dead_letters.cache_clear()
    common.reset()
