"""A botocore ``ClientError`` becomes a domain error in this one place."""

from __future__ import annotations

from botocore.exceptions import ClientError

from invoicing.domain.errors import RetryableError

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def translate_client_error(exc: ClientError) -> Exception:
    """Throttling and service faults become ``RetryableError``; anything else stays as it is."""
    if error_code(exc) in RETRYABLE_CODES:
        return RetryableError(f"DynamoDB is unavailable: {error_code(exc)}.")
    return exc
