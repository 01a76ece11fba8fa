"""``make run``'s logs are for a person: indented JSON (POWERTOOLS_DEV), never a whole event. On the
shared stack without demo data (``bare_stack``: started as a developer starts it; it must stop on
SIGTERM with exit 0)."""

from __future__ import annotations

import pytest
import requests

from infra.local.tokens import make_token

pytestmark = pytest.mark.e2e


def test_make_run_pretty_prints_the_functions_logs_and_never_prints_an_event(bare_stack):
    # Given: make run as a developer starts it (no POWERTOOLS_DEV in the shell; the tests set 0)
    token = make_token("acc_logs")

    # When: a request to each resolver (the webhook's logs its refusal)
    invoices = requests.get(
        f"{bare_stack.url}/invoices", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    refused = requests.post(
        f"{bare_stack.url}/webhooks/razorpay",
        data=b'{"event": "invoice.paid"}',
        headers={"Content-Type": "application/json", "X-Razorpay-Signature": "0" * 64},
        timeout=10,
    )
    output = bare_stack.output()  # the stack logs each line before it answers

    # Then
    assert invoices.status_code == 200 and refused.status_code == 400
    assert '{\n    "level":"INFO",' in output and '\n    "message":"Webhook refused",\n' in output
    assert '\n    "service":"razorpay-webhook",\n' in output
    # POWERTOOLS_DEV would also put the Event Handler in debug mode, which prints every event
    assert '"rawPath"' not in output and "Middleware Stack" not in output and token not in output
