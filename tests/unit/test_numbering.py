from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.domain.errors import DomainValidationError
from invoicing.domain.numbering import (
    IST,
    financial_year,
    format_invoice_number,
    ist_date,
    series_key,
    validate_financial_year,
    validate_invoice_number,
    validate_prefix,
)

# --- financial year ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "fy"),
    [
        (date(2026, 4, 1), "2627"),
        (date(2027, 3, 31), "2627"),
        (date(2026, 3, 31), "2526"),
        (date(2026, 12, 31), "2627"),
        (date(2027, 1, 1), "2627"),
        (date(2099, 4, 1), "9900"),
        (date(2000, 1, 1), "9900"),
        (date(2009, 4, 1), "0910"),
    ],
)
def test_financial_year_runs_from_april_to_march(day, fy):
    assert financial_year(day) == fy


def test_financial_year_refuses_a_datetime():
    with pytest.raises(TypeError):
        financial_year(datetime(2026, 4, 1, tzinfo=UTC))


@given(st.dates())
def test_financial_year_labels_two_consecutive_years(day):
    assert validate_financial_year(financial_year(day))


# --- IST dates -----------------------------------------------------------------------------------


def test_last_second_of_march_in_ist_is_still_the_old_financial_year():
    ts = datetime(2027, 3, 31, 18, 29, 59, tzinfo=UTC)  # 23:59:59 IST
    assert ist_date(ts) == date(2027, 3, 31)
    assert financial_year(ist_date(ts)) == "2627"


def test_midnight_of_first_april_in_ist_starts_the_new_financial_year():
    ts = datetime(2027, 3, 31, 18, 30, 0, tzinfo=UTC)  # 00:00:00 IST on 1 April
    assert ist_date(ts) == date(2027, 4, 1)
    assert financial_year(ist_date(ts)) == "2728"


def test_ist_date_converts_from_any_offset():
    assert ist_date(datetime(2026, 6, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5)))) == date(2026, 7, 1)
    assert ist_date(datetime(2026, 6, 30, 23, 0, tzinfo=IST)) == date(2026, 6, 30)


def test_ist_date_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        ist_date(datetime(2026, 4, 1, 12, 0))


# --- invoice numbers -----------------------------------------------------------------------------


def test_invoice_number_is_prefix_year_and_six_digit_sequence():
    assert format_invoice_number("INV", "2627", 42) == "INV/2627/000042"


def test_sequence_grows_beyond_six_digits_while_it_fits():
    assert format_invoice_number("INV", "2627", 1234567) == "INV/2627/1234567"
    assert format_invoice_number("INV", "2627", 9999999) == "INV/2627/9999999"
    assert format_invoice_number("ABCD", "2627", 999999) == "ABCD/2627/999999"


@pytest.mark.parametrize(("prefix", "sequence"), [("INV", 10_000_000), ("ABCD", 1_000_000)])
def test_exhausted_series_is_refused(prefix, sequence):
    with pytest.raises(DomainValidationError, match="exhausted"):
        format_invoice_number(prefix, "2627", sequence)


@pytest.mark.parametrize("sequence", [0, -1, True, 1.0, "1"])
def test_sequence_must_be_a_positive_int(sequence):
    with pytest.raises(DomainValidationError, match="sequence"):
        format_invoice_number("INV", "2627", sequence)


@pytest.mark.parametrize("fy", ["2628", "262", "26-27", "abcd", 2627])
def test_format_refuses_a_malformed_financial_year(fy):
    with pytest.raises(DomainValidationError, match="financial_year"):
        format_invoice_number("INV", fy, 1)


@given(
    prefix=st.from_regex(r"\A[A-Z1-9][A-Z0-9-]{0,3}\Z"),
    day=st.dates(),
    sequence=st.integers(min_value=1, max_value=10**9),
)
def test_format_never_returns_an_invalid_number(prefix, day, sequence):
    try:
        number = format_invoice_number(prefix, financial_year(day), sequence)
    except DomainValidationError as exc:
        assert "exhausted" in exc.message
        return
    assert validate_invoice_number(number) == number
    assert number.startswith(f"{prefix}/{financial_year(day)}/")
    assert int(number.rsplit("/", 1)[1]) == sequence


@pytest.mark.parametrize("number", ["INV/2627/000042", "A", "1234567890123456", "AB-2627-1", "X/Y"])
def test_valid_invoice_numbers_pass(number):
    assert validate_invoice_number(number) == number


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("INVOICE/2627/000042", "at most 16 characters"),
        ("", "non-empty"),
        ("inv/2627/000042", "upper-case"),
        ("INV 2627", "only A-Z, 0-9"),
        ("INV_2627", "only A-Z, 0-9"),
        ("INV#1", "only A-Z, 0-9"),
        ("0INV/2627/1", "must not start with '0'"),
        ("/INV/2627/1", "must not start with '/'"),
        ("-INV/2627/1", "must not start with '-'"),
    ],
)
def test_invalid_invoice_numbers_are_rejected_with_a_precise_message(number, fragment):
    with pytest.raises(DomainValidationError) as exc_info:
        validate_invoice_number(number)
    assert fragment in exc_info.value.message
    assert exc_info.value.details[0]["loc"] == ["invoice_number"]


# --- prefixes and series -------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["INV", "A", "CN", "ABCD", "A-1", "9X"])
def test_valid_prefixes_pass(prefix):
    assert validate_prefix(prefix) == prefix
    assert validate_invoice_number(format_invoice_number(prefix, "2627", 1))


@pytest.mark.parametrize(
    ("prefix", "fragment"),
    [
        ("", "non-empty"),
        ("ABCDE", "at most 4"),
        ("inv", "upper-case"),
        ("IN/V", "upper-case A-Z, 0-9 and '-'"),
        ("0INV", "must not start with '0'"),
        ("-INV", "must not start with '-'"),
    ],
)
def test_invalid_prefixes_are_rejected(prefix, fragment):
    with pytest.raises(DomainValidationError) as exc_info:
        validate_prefix(prefix)
    assert fragment in exc_info.value.message


def test_series_key_joins_prefix_and_financial_year():
    assert series_key("INV", "2627") == "INV/2627"


def test_series_key_validates_its_parts():
    with pytest.raises(DomainValidationError):
        series_key("inv", "2627")
    with pytest.raises(DomainValidationError):
        series_key("INV", "2727")
