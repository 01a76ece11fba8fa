"""Schemathesis against the API's own OpenAPI document, through the handler (in-process WSGI over
the local API Gateway emulation), as an operator and as a customer: no server errors, no answer
the document does not describe."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from infra.local.tokens import make_token
from tests.support.functions import Functions
from tests.support.wsgi import api_app

# Every check runs. A schema-valid request may still be refused with 422 where a rule cannot be
# written in JSON Schema (a GSTIN's mod-36 check character and its agreement with state_code,
# `from` on or before `to`, usage_start on or before usage_end, an invoice's total under the cap),
# or 400 for a cursor the service did not sign (api.md: "bad cursor").
CONFIG = SchemathesisConfig.from_str(
    """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "422"]
"""
)

TOKENS = {
    "operator": make_token("acc_fuzz", admin=True),
    "customer": make_token("acc_fuzz"),
}


@pytest.fixture
def schema(functions: Functions, razorpay: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", api_app(functions), config=CONFIG)


EXAMPLES_PER_OPERATION = 8


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_every_answer_is_documented(schema: Any, mode: GenerationMode) -> None:
    """Each generated case is sent as the operator and as the customer: generating a case costs
    several times what answering it does, so each is generated once, not once per caller."""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            for who, token in sorted(TOKENS.items()):
                try:
                    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
                except Exception as failure:
                    failure.add_note(f"sent as the {who}")
                    raise

        run()
