"""GST invoice numbering: Indian financial years, IST dates and rule-46 serial numbers."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime

from invoicing.domain.errors import DomainValidationError

IST = zoneinfo.ZoneInfo("Asia/Kolkata")

MAX_INVOICE_NUMBER_LENGTH = 16  # CGST rule 46(b)
MAX_PREFIX_LENGTH = 4  # "PPPP/2627/000001" is exactly 16 characters
_SEQUENCE_WIDTH = 6

_INVOICE_NUMBER_CHARS = re.compile(r"[A-Z0-9/-]+")
_PREFIX_CHARS = re.compile(r"[A-Z0-9-]+")
_FY = re.compile(r"[0-9]{4}")


def _invalid(field: str, msg: str) -> DomainValidationError:
    return DomainValidationError(msg, [{"loc": [field], "msg": msg}])


def financial_year(d: date) -> str:
    """The Indian financial year (1 April – 31 March) of a date, as 4 digits: 2026-04-01 → ``"2627"``."""
    if isinstance(d, datetime):
        raise TypeError("financial_year takes a date; convert timestamps with ist_date() first")
    start = d.year if d.month >= 4 else d.year - 1
    return f"{start % 100:02d}{(start + 1) % 100:02d}"


def ist_date(ts: datetime) -> date:
    """The calendar date in India (Asia/Kolkata) of an aware datetime."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError("ist_date needs a timezone-aware datetime")
    return ts.astimezone(IST).date()


def validate_financial_year(fy: str) -> str:
    """A financial-year label of 4 digits naming two consecutive years, e.g. ``"2627"`` or ``"9900"``."""
    if not isinstance(fy, str) or not _FY.fullmatch(fy):
        raise _invalid("financial_year", f'financial_year must be 4 digits such as "2627", got {fy!r}.')
    if (int(fy[:2]) + 1) % 100 != int(fy[2:]):
        raise _invalid("financial_year", f"financial_year '{fy}' does not name two consecutive years.")
    return fy


def validate_invoice_number(value: str) -> str:
    """Check a GST invoice number against CGST rule 46(b); return it unchanged.

    At most 16 characters of upper-case letters, digits, ``/`` and ``-``, not starting with
    ``0``, ``/`` or ``-``.
    """
    field = "invoice_number"
    if not isinstance(value, str) or not value:
        raise _invalid(field, "invoice_number must be a non-empty string.")
    if len(value) > MAX_INVOICE_NUMBER_LENGTH:
        raise _invalid(
            field, f"invoice_number must be at most {MAX_INVOICE_NUMBER_LENGTH} characters, got {len(value)}."
        )
    if not _INVOICE_NUMBER_CHARS.fullmatch(value):
        if _INVOICE_NUMBER_CHARS.fullmatch(value.upper()):
            raise _invalid(field, "invoice_number must use upper-case letters only.")
        bad = sorted({c for c in value if not _INVOICE_NUMBER_CHARS.fullmatch(c.upper())})
        raise _invalid(
            field,
            f"invoice_number may contain only A-Z, 0-9, '/' and '-'; found {', '.join(map(repr, bad))}.",
        )
    if value[0] in "0/-":
        raise _invalid(field, f"invoice_number must not start with '{value[0]}'.")
    return value


def validate_prefix(prefix: str) -> str:
    """An invoice-series prefix: 1-4 characters of A-Z, 0-9 and ``-``, not starting with ``0`` or ``-``."""
    field = "prefix"
    if not isinstance(prefix, str) or not prefix:
        raise _invalid(field, "prefix must be a non-empty string.")
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise _invalid(
            field,
            f"prefix must be at most {MAX_PREFIX_LENGTH} characters so the invoice number fits "
            f"in {MAX_INVOICE_NUMBER_LENGTH}, got {len(prefix)}.",
        )
    if not _PREFIX_CHARS.fullmatch(prefix):
        raise _invalid(field, f"prefix may contain only upper-case A-Z, 0-9 and '-', got '{prefix}'.")
    if prefix[0] in "0-":
        raise _invalid(field, f"prefix must not start with '{prefix[0]}'.")
    return prefix


def series_key(prefix: str, fy: str) -> str:
    """The key of one numbering series (one counter per prefix and financial year): ``"INV/2627"``."""
    return f"{validate_prefix(prefix)}/{validate_financial_year(fy)}"


def format_invoice_number(prefix: str, fy: str, sequence: int) -> str:
    """``"INV/2627/000042"``: prefix, financial year and a zero-padded sequence starting at 1.

    Raises ``DomainValidationError`` when the sequence no longer fits in 16 characters (the
    series is exhausted); it never returns an invalid number.
    """
    key = series_key(prefix, fy)
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise _invalid("sequence", f"sequence must be a positive integer, got {sequence!r}.")
    number = f"{key}/{sequence:0{_SEQUENCE_WIDTH}d}"
    if len(number) > MAX_INVOICE_NUMBER_LENGTH:
        capacity = 10 ** (MAX_INVOICE_NUMBER_LENGTH - len(key) - 1) - 1
        raise _invalid(
            "sequence",
            f"invoice series '{key}' is exhausted: sequence {sequence} exceeds its capacity of {capacity}.",
        )
    return validate_invoice_number(number)
