"""Identifiers: a prefix and 14 random alphanumerics, like Razorpay's (``inv_8fKq2LmZp0aB3c``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """``prefix`` + ``_`` + 14 random alphanumerics, e.g. ``inv_8fKq2LmZp0aB3c``."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(14))
