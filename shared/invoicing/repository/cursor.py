"""Opaque, tamper-evident page cursors.

A cursor is ``base64url(json) . base64url(hmac)``. The JSON holds the last key read and a
fingerprint of the query it belongs to, so a cursor cannot be forged, edited, or replayed against
another account or other filters: any of those is a ``BadRequestError`` (400), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from invoicing.domain.errors import BadRequestError

_SIG_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(parts: dict[str, Any]) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the cursor signing key must be at least 16 bytes")
        self._key = key

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIG_BYTES]

    def encode(self, last_key: dict[str, str], query_fingerprint: str) -> str:
        payload = json.dumps({"k": last_key, "q": query_fingerprint}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, cursor: str, query_fingerprint: str) -> dict[str, str]:
        invalid = BadRequestError(
            "The cursor is not valid for this query; start again without a cursor.",
            [{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
        try:
            payload_b64, sig_b64 = cursor.split(".")
            payload, signature = _unb64(payload_b64), _unb64(sig_b64)
        except (ValueError, binascii.Error):
            raise invalid from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise invalid
        data = json.loads(payload)
        key = data.get("k")
        if data.get("q") != query_fingerprint or not isinstance(key, dict):
            raise invalid
        return key
