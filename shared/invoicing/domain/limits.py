"""Bounds on every date, timestamp and magnitude the service accepts.

A value outside them is refused at the edge with a 422 that names the field, so nothing downstream
(IST conversion, the sweep's date arithmetic, DynamoDB's 38-digit numbers, Razorpay's epoch
seconds, the PDF) can overflow later, after something has already been published or stored.

- Dates and timestamps lie in the years 2000–2100 (a billing system has no business outside them;
  ``datetime.max`` and friends overflow as soon as a time zone is applied).
- A quantity and a unit rate have at most 12 integer digits and 6 decimals, and no line, credit or
  invoice exceeds ``MAX_AMOUNT_PAISE`` (₹10^11): far above any real invoice, far below DynamoDB's
  precision limit even when an account's summary adds up thousands of them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

from invoicing.domain.errors import DomainValidationError

MIN_YEAR = 2000
MAX_YEAR = 2100
EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(MAX_YEAR, 12, 31, 23, 59, 59, tzinfo=UTC)

MAX_QUANTITY = Decimal(10) ** 12
MAX_UNIT_RATE = Decimal(10) ** 12  # rupees per unit
MAX_AMOUNT_PAISE = 10**13  # ₹10^11: one line, one credit, one invoice


def _out_of_range(field: str, what: str) -> DomainValidationError:
    msg = f"must be {what} between {MIN_YEAR} and {MAX_YEAR}"
    return DomainValidationError(f"{field} {msg}.", [{"loc": [field], "msg": msg}])


def check_timestamp(value: datetime, field: str = "timestamp") -> datetime:
    """``value`` if it is time-zone aware and within the years 2000–2100 (UTC), else a 422."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise DomainValidationError(
            f"{field} must carry a time zone (use Z for UTC).",
            [{"loc": [field], "msg": "must be a timestamp with a time zone"}],
        )
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise _out_of_range(field, "a timestamp") from None
    if not EARLIEST <= utc <= LATEST:
        raise _out_of_range(field, "a timestamp")
    return value


def check_date(value: date, field: str = "date") -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise _out_of_range(field, "a date")
    return value


def check_amount(paise: int, field: str = "amount") -> int:
    if paise > MAX_AMOUNT_PAISE:
        msg = f"must not exceed {MAX_AMOUNT_PAISE} paise (₹{MAX_AMOUNT_PAISE // 100:,})"
        raise DomainValidationError(f"{field} {msg}.", [{"loc": [field], "msg": msg}])
    return paise


def _timestamp(value: datetime) -> datetime:
    try:
        return check_timestamp(value)
    except DomainValidationError as exc:
        raise ValueError(exc.details[0]["msg"]) from None


def _date(value: date) -> date:
    try:
        return check_date(value)
    except DomainValidationError as exc:
        raise ValueError(exc.details[0]["msg"]) from None


# Field types for pydantic models (domain and contracts alike): refused with the field's location.
Timestamp = Annotated[AwareDatetime, AfterValidator(_timestamp)]
Day = Annotated[date, AfterValidator(_date)]
