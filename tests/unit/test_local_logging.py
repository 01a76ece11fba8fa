"""Logs of the local stack: functions invoked side by side on threads each log as themselves.

Two handlers shaped like the webhook's and the renderer's (the same Powertools decorators and key
calls) are invoked through ``LocalFunction`` on two threads, their steps interleaved with a barrier:
before, both shared one Logger, and the webhook's "Webhook answered" carried the renderer's
``function_name`` and message id.
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from infra.local.functions import FunctionSpec, LocalFunction
from invoicing.observability import current_logger, logger

WEBHOOK = """
    import threading
    from aws_lambda_powertools.logging import correlation_paths
    from invoicing.observability import logger

    both_keyed = threading.Barrier(2)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def lambda_handler(event, context):
        logger.append_keys(event_id=event["event_id"])
        both_keyed.wait(timeout=5)
        logger.info("Webhook answered", extra={"status": "processed"})
        both_keyed.wait(timeout=5)
        return {"statusCode": 200}
"""

RENDERER = """
    import threading
    from invoicing.observability import logger

    both_keyed = threading.Barrier(2)

    @logger.inject_lambda_context
    def lambda_handler(event, context):
        logger.append_keys(message_id=event["Records"][0]["messageId"])
        both_keyed.wait(timeout=5)
        logger.info("Render job done", extra={"outcome": "rendered"})
        both_keyed.wait(timeout=5)
        return {"batchItemFailures": []}
"""


def _function(root: Path, name: str, source: str, service: str) -> LocalFunction:
    folder = root / "functions" / name
    folder.mkdir(parents=True)
    (folder / "handler.py").write_text(textwrap.dedent(source))
    spec = FunctionSpec(
        logical_id=f"Test{name.title().replace('_', '')}Function",
        function_name=f"invoicing-dev-{service}",
        code_uri=f"functions/{name}/",
        handler="handler.lambda_handler",
        timeout_seconds=30,
        memory_mb=512,
        service_name=service,
    )
    return LocalFunction(spec, repo_root=root)


def _lines(output: str) -> dict[str, dict]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return {line["message"]: line for line in lines}


def test_functions_invoked_side_by_side_log_with_their_own_context_only(tmp_path, capsys):
    # Given
    # service names of their own: cold starts are per service for the whole test process
    webhook = _function(tmp_path, "webhook", WEBHOOK, "razorpay-webhook-side-by-side")
    renderer = _function(tmp_path, "renderer", RENDERER, "pdf-renderer-side-by-side")
    barrier = threading.Barrier(2)
    for function in (webhook, renderer):
        function.load()
        sys.modules[f"_local_lambda_{function.spec.logical_id}"].both_keyed = barrier
    webhook_event = {"event_id": "evt_1", "requestContext": {"requestId": "req-webhook"}}
    render_event = {"Records": [{"messageId": "msg-1"}]}

    # When
    threads = [
        threading.Thread(target=webhook.invoke, args=(webhook_event,), kwargs={"request_id": "req-webhook"}),
        threading.Thread(target=renderer.invoke, args=(render_event,), kwargs={"request_id": "req-render"}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # Then
    lines = _lines(capsys.readouterr().out)
    answered, rendered = lines["Webhook answered"], lines["Render job done"]
    assert answered["service"] == "razorpay-webhook-side-by-side"
    assert answered["function_name"] == "invoicing-dev-razorpay-webhook-side-by-side"
    assert (answered["function_request_id"], answered["correlation_id"]) == ("req-webhook", "req-webhook")
    assert answered["event_id"] == "evt_1" and "message_id" not in answered
    assert rendered["service"] == "pdf-renderer-side-by-side"
    assert rendered["function_name"] == "invoicing-dev-pdf-renderer-side-by-side"
    assert rendered["function_request_id"] == "req-render"
    assert rendered["message_id"] == "msg-1"
    assert "event_id" not in rendered and "correlation_id" not in rendered
    assert answered["cold_start"] is True and rendered["cold_start"] is True  # each its own first


def test_a_second_invocation_of_a_function_is_warm_and_keeps_none_of_the_others_keys(tmp_path, capsys):
    webhook = _function(tmp_path, "webhook", WEBHOOK, "razorpay-webhook-2")
    renderer = _function(tmp_path, "renderer", RENDERER, "pdf-renderer-2")
    for function in (webhook, renderer):
        function.load()
        sys.modules[f"_local_lambda_{function.spec.logical_id}"].both_keyed = threading.Barrier(1)

    renderer.invoke({"Records": [{"messageId": "msg-1"}]})
    webhook.invoke({"event_id": "evt_2", "requestContext": {"requestId": "r2"}})
    renderer.invoke({"Records": [{"messageId": "msg-2"}]})

    outputs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(o["service"], o["cold_start"]) for o in outputs] == [
        ("pdf-renderer-2", True),
        ("razorpay-webhook-2", True),
        ("pdf-renderer-2", False),
    ]
    assert outputs[2]["message_id"] == "msg-2" and "event_id" not in outputs[2]


def test_each_line_is_written_once_even_with_a_root_handler_like_make_runs(tmp_path, capsys):
    # Given: make run's root handler (logging.basicConfig) on stderr
    root_handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(root_handler)
    try:
        renderer = _function(tmp_path, "renderer", RENDERER, "pdf-renderer-3")
        renderer.load()
        sys.modules[f"_local_lambda_{renderer.spec.logical_id}"].both_keyed = threading.Barrier(1)

        # When
        renderer.invoke({"Records": [{"messageId": "msg-1"}]})
    finally:
        logging.getLogger().removeHandler(root_handler)

    # Then
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count("Render job done") == 1


def test_outside_the_local_stack_the_logger_is_the_one_of_powertools_service_name():
    assert current_logger().service == "invoicing-tests"  # tests/conftest.py's POWERTOOLS_SERVICE_NAME
    assert logger.service == "invoicing-tests"


@pytest.mark.parametrize(
    "name", ["append_keys", "info", "exception", "get_correlation_id", "inject_lambda_context"]
)
def test_the_shared_logger_offers_what_handlers_and_services_call(name):
    assert callable(getattr(logger, name))
