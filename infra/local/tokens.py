"""Bearer tokens for the local stack.

Locally, like API Gateway's JWT authorizer *without* the signature verification, the gateway decodes
the token's payload, checks its claims (``exp``, ``nbf``, ``iat``; ``iss``/``aud`` when ``JWT_ISSUER``
/ ``JWT_AUDIENCE`` are set) and hands them to the function. These tokens are therefore signed with a
fixed, public development key (HS256) purely so that they look like ordinary JWTs to tools; nothing
checks the signature, and unsigned tokens (``alg: none``, empty signature) work just as well. They
carry ``exp`` (12 h) and the configured issuer and audience, so they pass those checks.

    python -m infra.local.tokens --account acc_x [--admin]     # what `make token` runs
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from typing import Any

DEFAULT_ACCOUNT = "acc_demo"
DEFAULT_CLAIM = "account_id"
READ_SCOPE = "invoices:read"
ADMIN_SCOPE = "invoices:admin"
ISSUER = "https://auth.invoicing.local/"
AUDIENCE = "invoicing-local"
DEV_SIGNING_KEY = b"local-development-key-not-a-secret-and-never-verified"
TOKEN_LIFETIME_SECONDS = 12 * 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issuer() -> str:
    """``JWT_ISSUER`` (what the local gateway then requires) or the local default."""
    return os.environ.get("JWT_ISSUER", "").strip() or ISSUER


def audience() -> str:
    """The first of ``JWT_AUDIENCE`` (comma-separated; the local gateway then requires one) or the default."""
    configured = [a.strip() for a in os.environ.get("JWT_AUDIENCE", "").split(",") if a.strip()]
    return configured[0] if configured else AUDIENCE


def account_claim_name() -> str:
    """The claim carrying the account id: ``ACCOUNT_ID_CLAIM`` (the template's parameter) or the default."""
    return os.environ.get("ACCOUNT_ID_CLAIM") or DEFAULT_CLAIM


def make_token(
    account_id: str,
    *,
    admin: bool = False,
    subject: str | None = None,
    claim_name: str | None = None,
    now: int | None = None,
    lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
    signed: bool = True,
) -> str:
    """A JWT whose payload carries the account claim, ``scope``, ``sub``, ``iat`` and ``exp``."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer(),
        "aud": audience(),
        "sub": subject or (f"operator@{account_id}" if admin else f"customer@{account_id}"),
        claim_name or account_claim_name(): account_id,
        "scope": ADMIN_SCOPE if admin else READ_SCOPE,
        "iat": issued,
        "exp": issued + lifetime_seconds,
    }
    header = {"alg": "HS256" if signed else "none", "typ": "JWT"}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = (
        _b64url(hmac.new(DEV_SIGNING_KEY, signing_input.encode("ascii"), hashlib.sha256).digest())
        if signed
        else ""
    )
    return f"{signing_input}.{signature}"


def decode_claims(token: str) -> dict[str, Any] | None:
    """The payload of a well-formed ``header.payload.signature`` JWT, unverified; ``None`` if unusable.

    The signature may be empty (unsigned tokens). A ``Bearer`` prefix is accepted, as by API Gateway.
    """
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    return payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.tokens",
        description="Print a bearer token for the local stack (decoded, never verified, locally).",
    )
    parser.add_argument("--account", default=DEFAULT_ACCOUNT, help=f"account id (default {DEFAULT_ACCOUNT})")
    parser.add_argument("--admin", action="store_true", help=f"operator token (scope {ADMIN_SCOPE})")
    parser.add_argument("--unsigned", action="store_true", help="alg none, empty signature")
    args = parser.parse_args(argv)
    print(make_token(args.account or DEFAULT_ACCOUNT, admin=args.admin, signed=not args.unsigned))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
