"""``make run``'s logs are for a person: indented JSON (POWERTOOLS_DEV), never a whole event."""

from __future__ import annotations

import re
import signal

import pytest
import requests

from infra.local.tokens import make_token
from tests.e2e.conftest import exit_status, spawn_stack, wait_for

pytestmark = pytest.mark.e2e


def test_make_run_pretty_prints_the_functions_logs_and_never_prints_an_event(tmp_path):
    # Given: make run as a developer starts it (no POWERTOOLS_DEV in the shell; the tests set 0)
    log = tmp_path / "stack.log"
    process = spawn_stack(log, unset=("POWERTOOLS_DEV",))
    try:
        wait_for(process, log, "local stack is up")
        api = re.search(r"API\s+(http://\S+)", log.read_text())[1]
        token = make_token("acc_logs")

        # When: a request to each resolver (the webhook's logs its refusal)
        invoices = requests.get(f"{api}/invoices", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        refused = requests.post(
            f"{api}/webhooks/razorpay",
            data=b'{"event": "invoice.paid"}',
            headers={"Content-Type": "application/json", "X-Razorpay-Signature": "0" * 64},
            timeout=10,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert exit_status(process, log) == 0
    output = log.read_text()

    # Then
    assert invoices.status_code == 200 and refused.status_code == 400
    assert '{\n    "level":"INFO",' in output and '\n    "message":"Webhook refused",\n' in output
    assert '\n    "service":"razorpay-webhook",\n' in output
    # POWERTOOLS_DEV would also put the Event Handler in debug mode, which prints every event
    assert '"rawPath"' not in output and "Middleware Stack" not in output and token not in output
