import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.domain.errors import DomainValidationError
from invoicing.domain.words import amount_in_words, format_inr

# --- amount in words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paise", "words"),
    [
        (0, "Rupees Zero Only"),
        (5, "Rupees Zero and Five Paise Only"),
        (100, "Rupees One Only"),
        (1999, "Rupees Nineteen and Ninety-Nine Paise Only"),
        (2000, "Rupees Twenty Only"),
        (10100, "Rupees One Hundred One Only"),
        (100000, "Rupees One Thousand Only"),
        (10000000, "Rupees One Lakh Only"),
        (386650150, "Rupees Thirty-Eight Lakh Sixty-Six Thousand Five Hundred One and Fifty Paise Only"),
        (1000000000, "Rupees One Crore Only"),
        (1000000001, "Rupees One Crore and One Paise Only"),
        (
            999999999,
            "Rupees Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine "
            "and Ninety-Nine Paise Only",
        ),
        (
            9999999999,
            "Rupees Nine Crore Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine "
            "and Ninety-Nine Paise Only",
        ),
        (100000000000, "Rupees One Hundred Crore Only"),
        (
            1234567890123,
            "Rupees One Thousand Two Hundred Thirty-Four Crore Fifty-Six Lakh Seventy-Eight Thousand "
            "Nine Hundred One and Twenty-Three Paise Only",
        ),
        (10**13, "Rupees Ten Thousand Crore Only"),
        (
            1111111111111,
            "Rupees One Thousand One Hundred Eleven Crore Eleven Lakh Eleven Thousand One Hundred Eleven "
            "and Eleven Paise Only",
        ),
    ],
)
def test_amount_in_words_uses_the_indian_system(paise, words):
    assert amount_in_words(paise) == words


def test_amount_in_words_rejects_negative_amounts():
    with pytest.raises(DomainValidationError, match="negative"):
        amount_in_words(-1)


@pytest.mark.parametrize("value", [1.5, "100", True, None])
def test_amount_in_words_requires_int_paise(value):
    with pytest.raises(DomainValidationError):
        amount_in_words(value)


@given(st.integers(min_value=0, max_value=10**13))
def test_amount_in_words_is_well_formed_and_says_crore_from_one_crore_rupees(paise):
    words = amount_in_words(paise)
    assert words.startswith("Rupees ")
    assert words.endswith(" Only")
    assert ("Crore" in words) == (paise >= 10**9)
    assert "," not in words
    rupee_part = words.removesuffix(" Only").split(" and ")[0]
    assert " and " not in rupee_part
    assert ("Paise" in words) == (paise % 100 != 0)
    # Title case, hyphenated tens: every word or hyphen part starts upper-case
    parts = [part for part in re.split(r"[ -]", words) if part != "and"]
    assert all(re.fullmatch(r"[A-Z][a-z]+", part) for part in parts)


# --- Indian digit grouping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (386650150, "38,66,501.50"),
        (100, "1.00"),
        (5, "0.05"),
        (0, "0.00"),
        (99999, "999.99"),
        (100000, "1,000.00"),
        (10000000, "1,00,000.00"),
        (1234567890123, "12,34,56,78,901.23"),
        (-100000, "-1,000.00"),
        (-5, "-0.05"),
    ],
)
def test_format_inr_groups_digits_the_indian_way(paise, text):
    assert format_inr(paise) == text


@pytest.mark.parametrize("value", [1.5, "100", False])
def test_format_inr_requires_int_paise(value):
    with pytest.raises(DomainValidationError):
        format_inr(value)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_inr_round_trips_and_groups_correctly(paise):
    text = format_inr(paise)
    assert int(text.replace(",", "").replace(".", "")) == paise
    assert re.fullmatch(r"-?(\d{1,2},)?(\d{2},)*\d{1,3}\.\d{2}", text)
    whole = text.lstrip("-").split(".")[0].split(",")
    assert len(whole[-1]) == 3 or len(whole) == 1
    assert all(len(group) == 2 for group in whole[1:-1])
