"""Amounts for the printed invoice: Indian digit grouping and amounts in words (lakh, crore).

``num2words(n, lang="en_IN")`` is not used: it inserts "and" and commas ("one hundred and one",
"three lakh, eighty-six thousand") and raises ``OverflowError`` from 10^10 rupees, below the
amounts an invoice may carry.
"""

from __future__ import annotations

from invoicing.domain.errors import DomainValidationError

_ONES = [
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen",
]  # fmt: skip
_TENS = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]

_CRORE = 10_000_000
_LAKH = 100_000
_THOUSAND = 1_000


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]}-{_ONES[ones]}"


def _indian_words(n: int) -> str:
    """Title-case words for n ≥ 0 in the Indian system, without "and" or commas."""
    if n == 0:
        return "Zero"
    parts: list[str] = []
    crores, n = divmod(n, _CRORE)
    if crores:
        parts.append(f"{_indian_words(crores)} Crore")  # 100 crore → "One Hundred Crore"
    lakhs, n = divmod(n, _LAKH)
    if lakhs:
        parts.append(f"{_below_hundred(lakhs)} Lakh")
    thousands, n = divmod(n, _THOUSAND)
    if thousands:
        parts.append(f"{_below_hundred(thousands)} Thousand")
    hundreds, n = divmod(n, 100)
    if hundreds:
        parts.append(f"{_ONES[hundreds]} Hundred")
    if n:
        parts.append(_below_hundred(n))
    return " ".join(parts)


def _check_paise(paise: int) -> None:
    if isinstance(paise, bool) or not isinstance(paise, int):
        msg = "amount must be an integer number of paise."
        raise DomainValidationError(msg, [{"loc": ["amount"], "msg": msg}])


def amount_in_words(paise: int) -> str:
    """An amount in words, Indian system, for the printed invoice.

    ``386650150`` → ``"Rupees Thirty-Eight Lakh Sixty-Six Thousand Five Hundred One and Fifty Paise Only"``;
    whole rupees → ``"Rupees One Only"``; under a rupee → ``"Rupees Zero and Five Paise Only"``.
    """
    _check_paise(paise)
    if paise < 0:
        msg = f"amount must not be negative to be written in words, got {paise}."
        raise DomainValidationError(msg, [{"loc": ["amount"], "msg": msg}])
    rupees, rest = divmod(paise, 100)
    words = f"Rupees {_indian_words(rupees)}"
    if rest:
        words += f" and {_below_hundred(rest)} Paise"
    return f"{words} Only"


def format_inr(paise: int) -> str:
    """Indian digit grouping with two decimals and no symbol: ``386650150`` → ``"38,66,501.50"``."""
    _check_paise(paise)
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    groups.append(tail)
    return f"{sign}{','.join(groups)}.{rest:02d}"
