"""What every HTTP contract module shares: field types, the error body, the domain-refusal mapping.

Field constraints that are domain rules (e-mail shape, SAC codes, date and magnitude bounds) are
taken from the domain, never restated. Request scalars are strict: ``true`` or ``"15"`` is not a
number of days, and a query's ``to=0`` is not a date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
)

from invoicing.domain import limits
from invoicing.domain.errors import DomainValidationError
from invoicing.domain.gst import DEFAULT_SAC, SAC_PATTERN
from invoicing.domain.invoice import EMAIL_PATTERN

T = TypeVar("T")

__all__ = ["DEFAULT_SAC", "EMAIL_PATTERN", "SAC_PATTERN", "StrictBool", "StrictInt"]


def utc_timestamp(value: datetime) -> str:
    """``2026-10-01T06:30:00Z``: UTC, with ``Z`` (microseconds only when there are any)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _date_text(value: Any) -> Any:
    """A date is ``YYYY-MM-DD`` text, never a number (``to=0`` is not 1970-01-01)."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and value.strip().isdigit()):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _timestamp_text(value: Any) -> Any:
    """A timestamp is ISO 8601 text with a time zone, never epoch seconds."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and value.strip().isdigit()):
        raise ValueError("must be an ISO 8601 timestamp with a time zone, e.g. 2026-10-01T06:30:00Z")
    return value


# Responses
Timestamp = Annotated[datetime, PlainSerializer(utc_timestamp, return_type=str, when_used="json")]

# Requests: bounded (years 2000-2100), time zone required, never a bare number.
TimestampIn = Annotated[
    limits.Timestamp,
    BeforeValidator(_timestamp_text),
    Field(description="ISO 8601 with a time zone, years 2000-2100."),
]
DateIn = Annotated[limits.Day, BeforeValidator(_date_text), Field(description="YYYY-MM-DD, years 2000-2100.")]
AccountId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
DocumentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
DecimalString = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,12}(\.[0-9]{1,6})?$", max_length=19),
    Field(description='A decimal string such as "720", "0.5" or "0.013900": up to 12 digits and 6 decimals.'),
]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,255}$")]
Text = Annotated[str, StringConstraints(max_length=2000)]
Paise = Annotated[StrictInt, Field(ge=0, le=limits.MAX_AMOUNT_PAISE, description="Integer paise.")]


class Request(BaseModel):
    """Request bodies and query models: unknown fields are refused (422)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class Response(BaseModel):
    # from_attributes: a response whose fields are a domain object's own, under the same names and
    # types, is read from it by ``of`` instead of copying field by field (which is how copies drift).
    # defer_build: schemas are built on first use, not at import (cold starts).
    model_config = ConfigDict(frozen=True, defer_build=True, from_attributes=True)

    @classmethod
    def of(cls, source: object) -> Self:
        """This response read from ``source``'s attributes (nested responses from theirs)."""
        return cls.model_validate(source)


class ErrorDetail(Response):
    loc: list[str | int]
    msg: str


class ErrorBody(Response):
    code: str = Field(description="snake_case, e.g. not_found, invalid_state, validation_error")
    message: str = Field(description="One human sentence.")
    details: list[ErrorDetail]


class ErrorResponse(Response):
    error: ErrorBody


class GatewayMessage(Response):
    """What API Gateway itself answers when its JWT authorizer refuses a token (api.md)."""

    message: str


def domain_value(build: Callable[[], T], loc: tuple[str | int, ...]) -> T:
    """Build a domain value; its refusal becomes a 422 whose ``loc`` points into the request."""
    try:
        return build()
    except ValidationError as exc:
        details: list[dict[str, Any]] = [
            {"loc": [*loc, *err["loc"]], "msg": validation_message(err)}
            for err in exc.errors(include_url=False)
        ]
        where = ".".join(str(part) for part in details[0]["loc"][1:])
        raise DomainValidationError(f"{where}: {details[0]['msg'].rstrip('.')}.", details) from None
    except DomainValidationError as exc:
        details = [{"loc": [*loc, *d.get("loc", [])], "msg": d.get("msg", exc.message)} for d in exc.details]
        raise DomainValidationError(exc.message, details) from None


def validation_message(error: Mapping[str, object]) -> str:
    """pydantic's message without its "Value error, " prefix (the domain's own words follow it)."""
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def rupees(paise: int) -> str:
    """Paise as rupees with two decimals, for accountants: ``123450`` → ``"1234.50"``."""
    sign = "-" if paise < 0 else ""
    whole, fraction = divmod(abs(paise), 100)
    return f"{sign}{whole}.{fraction:02d}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab/CR) gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
