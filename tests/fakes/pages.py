"""Pages of an account's items for the in-memory stores, with cursors bound to the account (a
cursor of another account, or a forged one, is the 400 the DynamoDB stores answer)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from invoicing.domain.errors import BadRequestError
from invoicing.domain.queries import Page

T = TypeVar("T")


def page_of(
    items: Iterable[T], account_id: str, *, key: Callable[[T], Any], limit: int, cursor: str | None
) -> Page[T]:
    """``items`` newest first by ``key``: the page after ``cursor``, and the cursor after it."""
    ordered = sorted(items, key=key, reverse=True)
    start = 0
    if cursor:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if decoded["a"] != account_id:
                raise ValueError
            start = next(i + 1 for i, item in enumerate(ordered) if key(item) == decoded["k"])
        except (ValueError, KeyError, StopIteration, TypeError):
            raise BadRequestError(
                "The cursor is not valid for this query; start again without a cursor.",
                [{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
            ) from None
    page = ordered[start : start + limit]
    next_cursor = None
    if start + limit < len(ordered) and page:
        raw = json.dumps({"a": account_id, "k": key(page[-1])}).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode()
    return Page(items=page, next_cursor=next_cursor)
