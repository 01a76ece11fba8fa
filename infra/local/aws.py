"""The embedded AWS: moto's server on loopback, plus what the local-only routes read from it.

* :func:`start_moto` — ``ThreadedMotoServer`` on ``127.0.0.1:<port>``, failing fast if the port is taken.
* :func:`install_scan_guard` — in this process a DynamoDB ``Scan`` raises, as in the test suite: the
  architecture forbids it, so the local stack should not quietly tolerate one.
* :class:`EventTap` — an EventBridge rule on the domain-event bus (``source: invoicing``) targeting a
  local SQS queue; :meth:`EventTap.events` drains it into the list ``GET /_local/events`` returns.
* :func:`sent_emails` — what SES (v1 and v2 share moto's backend) has "sent", read from moto's
  backend in-process, for ``GET /_local/emails``.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import logging
import os
import re
import socket
import threading
from html.parser import HTMLParser
from typing import Any

import botocore.client
from moto.server import ThreadedMotoServer

log = logging.getLogger("infra.local")

TAP_NAME = "invoicing-local-event-tap"
EVENT_SOURCE = "invoicing"


# ------------------------------------------------------------------------------------------------
# Server
# ------------------------------------------------------------------------------------------------
class PortInUseError(RuntimeError):
    pass


def ensure_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Fail with a clear message instead of a hang (moto's thread dies silently on a taken port).

    The probe binds as the servers will: ``http.server`` and werkzeug (moto) both set
    ``SO_REUSEADDR``, so the TIME_WAIT connections a previous run left on the port (for about a
    minute) do not count as "in use" — they would not stop the servers either. A socket listening on
    the port does count: Linux refuses the bind; where ``SO_REUSEADDR`` is more permissive (BSD,
    macOS: a wildcard listener), the connection attempt that follows finds it.
    """
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if os.name == "posix":  # on Windows SO_REUSEADDR would let us bind over a live listener
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUseError(f"{host}:{port} is already in use ({exc.strerror})") from None
    if _accepts_connections(host, port):
        raise PortInUseError(f"{host}:{port} is already in use (something is listening on it)")


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:  # refused (nobody listens) or no answer in time
        return False


def start_moto(port: int) -> tuple[ThreadedMotoServer, str]:
    """Start moto's server on loopback; returns it and its endpoint URL."""
    ensure_port_free(port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return server, f"http://{host}:{bound}"


class ScanForbiddenError(RuntimeError):
    """No code path may Scan a DynamoDB table (architecture.md)."""


_guard_lock = threading.Lock()
_guard_installed = False


def install_scan_guard() -> None:
    """Make every DynamoDB ``Scan`` from this process fail loudly (idempotent)."""
    global _guard_installed
    with _guard_lock:
        if _guard_installed:
            return
        original = botocore.client.BaseClient._make_api_call

        def guarded(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if self.meta.service_model.service_name == "dynamodb" and operation_name == "Scan":
                log.error("DynamoDB Scan refused on %s", api_params.get("TableName"))
                raise ScanForbiddenError(f"DynamoDB Scan issued on {api_params.get('TableName')}")
            return original(self, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = guarded  # type: ignore[method-assign]
        _guard_installed = True


# ------------------------------------------------------------------------------------------------
# Domain events
# ------------------------------------------------------------------------------------------------
class EventTap:
    """Collects every event the service publishes to its bus (a rule → an SQS queue, drained on read)."""

    def __init__(self, session: Any, endpoint_url: str, bus_name: str) -> None:
        self._sqs = session.client("sqs", endpoint_url=endpoint_url)
        self._events_client = session.client("events", endpoint_url=endpoint_url)
        self._bus = bus_name
        self._queue_url = ""
        self._seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        self._queue_url = self._sqs.create_queue(QueueName=TAP_NAME)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._events_client.put_rule(
            Name=TAP_NAME,
            EventBusName=self._bus,
            EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
            State="ENABLED",
        )
        self._events_client.put_targets(
            Rule=TAP_NAME, EventBusName=self._bus, Targets=[{"Id": "local-tap", "Arn": queue_arn}]
        )

    def events(self) -> list[dict[str, Any]]:
        """Every domain event so far, oldest first: ``[{detail_type, detail, time}]``."""
        with self._lock:
            while True:
                messages = self._sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    self._seen.append(_as_domain_event(json.loads(message["Body"])))
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                    ],
                )
            return list(self._seen)


def _as_domain_event(envelope: dict[str, Any]) -> dict[str, Any]:
    detail = envelope.get("detail")
    if isinstance(detail, str):
        with contextlib.suppress(ValueError):
            detail = json.loads(detail)
    return {"detail_type": envelope.get("detail-type"), "detail": detail, "time": envelope.get("time")}


# ------------------------------------------------------------------------------------------------
# Emails
# ------------------------------------------------------------------------------------------------
_BLOCKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "ul", "ol", "hr"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")


def html_to_text(markup: str) -> str:
    """A readable text rendering of an HTML email body."""
    parser = _Text()
    parser.feed(markup)
    lines = (re.sub(r"\s+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_HTML_HINT = re.compile(r"<(html|body|p|div|table|br|h[1-6]|a|span|strong)\b", re.IGNORECASE)


def sent_emails() -> list[dict[str, Any]]:
    """Every email moto's SES has accepted (v1 ``SendEmail``/``SendRawEmail`` and v2 ``SendEmail``).

    moto keeps one body per simple message (the HTML one when both were sent); the text is then
    derived from it. Raw (MIME) messages keep both parts.
    """
    from moto.ses.models import RawMessage, TemplateMessage, ses_backends

    found: list[dict[str, Any]] = []
    for account_backends in list(ses_backends.values()):
        for backend in list(account_backends.values()):
            for message in list(backend.sent_messages):
                if isinstance(message, RawMessage):
                    found.append(_raw_email(message))
                elif isinstance(message, TemplateMessage):
                    found.append(
                        {
                            "to": _addresses(message.destinations),
                            "subject": None,
                            "template": message.template,
                            "template_data": message.template_data,
                        }
                    )
                else:
                    found.append(_simple_email(message))
    return found


def _addresses(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        return [
            a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, [])
        ]
    return list(destinations or [])


def _simple_email(message: Any) -> dict[str, Any]:
    body = message.body or ""
    item: dict[str, Any] = {"to": _addresses(message.destinations), "from": message.source}
    item["subject"] = message.subject
    if _HTML_HINT.search(body):
        item["body_text"] = html_to_text(body)
        item["body_html"] = body
    else:
        item["body_text"] = body
    return item


def _raw_email(message: Any) -> dict[str, Any]:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    item: dict[str, Any] = {
        "to": list(dict.fromkeys(message.destinations)),  # moto adds the To header's addresses again
        "from": message.source,
        "subject": str(parsed.get("Subject", "")),
    }
    text = parsed.get_body(preferencelist=("plain",))
    markup = parsed.get_body(preferencelist=("html",))
    if markup is not None:
        item["body_html"] = markup.get_content()
    if text is not None:
        item["body_text"] = text.get_content()
    elif markup is not None:
        item["body_text"] = html_to_text(item["body_html"])
    else:
        item["body_text"] = ""
    return item
