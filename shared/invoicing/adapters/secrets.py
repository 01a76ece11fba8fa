"""Secrets from AWS Secrets Manager through Powertools Parameters (cached in the warm Lambda)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from aws_lambda_powertools.utilities import parameters

from invoicing.adapters.aws import client

SECRET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class RazorpayCredentials:
    key_id: str
    key_secret: str
    webhook_secret: str
    previous_webhook_secret: str | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"RazorpayCredentials(key_id={self.key_id!r}, ...)"


@cache
def _provider() -> parameters.SecretsProvider:
    """One provider per container, so its ``max_age`` cache actually serves repeated reads."""
    return parameters.SecretsProvider(boto3_client=client("secretsmanager"))


def reset() -> None:
    """Forget cached secrets (tests that change a secret between cases)."""
    _provider.cache_clear()


def razorpay_credentials(secret_name: str) -> RazorpayCredentials:
    # transform="json": the secret's JSON object (Powertools types every transform's result as one union)
    value = cast(
        dict[str, Any], _provider().get(secret_name, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    )
    return RazorpayCredentials(
        key_id=value.get("key_id", ""),
        key_secret=value.get("key_secret", ""),
        webhook_secret=value.get("webhook_secret", ""),
        previous_webhook_secret=value.get("previous_webhook_secret") or None,
    )


def signing_key(secret_name: str) -> bytes:
    value = _provider().get(secret_name, max_age=SECRET_MAX_AGE_SECONDS)
    return str(value).encode()


@dataclass(frozen=True)
class GspCredentials:
    """The GSP's API credentials and the supplier's IRP API user (einvoice.md: in Secrets Manager)."""

    client_id: str
    client_secret: str
    gstin: str
    user_name: str
    password: str

    def __repr__(self) -> str:  # never print secrets
        return f"GspCredentials(client_id={self.client_id!r}, gstin={self.gstin!r}, ...)"


def gsp_credentials(secret_name: str) -> GspCredentials:
    # transform="json": the secret's JSON object (Powertools types every transform's result as one union)
    value = cast(
        dict[str, Any], _provider().get(secret_name, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    )
    return GspCredentials(
        client_id=value.get("client_id", ""),
        client_secret=value.get("client_secret", ""),
        gstin=value.get("gstin", ""),
        user_name=value.get("user_name", ""),
        password=value.get("password", ""),
    )
