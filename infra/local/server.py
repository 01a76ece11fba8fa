"""The one local HTTP server: the API (as API Gateway), the local-only routes, the Razorpay stand-in.

============================================  =====================================================
``GET /health``                               readiness: 200 once everything is up, else 503
``/_local/...``                               local-only routes (docs/local.md; also
                                              ``GET /_local/razorpay/refunds`` and
                                              ``POST /_local/razorpay/refunds/{id}/fail``)
``/_razorpay/v1/...``                         Razorpay's REST slice (the SDK's ``base_url`` is
                                              ``http://127.0.0.1:<PORT>/_razorpay``)
``/_razorpay/i/{id}``                         the hosted payment page (an invoice's ``short_url``)
``/_razorpay/l/{id}``                         a payment link's hosted page (a top-up's ``short_url``)
``/_irp/...``                                 the IRP stand-in behind its GSP's REST API (the
                                              e-invoice adapter's ``GSP_BASE_URL``)
anything else                                 the template's ``HttpApi`` routes → the functions
============================================  =====================================================

:class:`Dispatcher` holds the routing and is transport-free (tests call it directly);
:class:`LocalServer` puts it behind ``http.server.ThreadingHTTPServer``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from infra.local import gateway
from infra.local.events import not_implemented, scheduled_event
from infra.local.functions import HandlerUnavailableError, LocalFunction
from infra.local.gateway import HttpResponse, JwtConfiguration, RouteTable, UnauthorizedError
from infra.local.razorpay_standin import (
    RazorpayError,
    RazorpayStandIn,
    WebhookDelivery,
    parse_rupees,
    render_hosted_page,
    render_link_page,
    render_not_found,
)

log = logging.getLogger("infra.local")
access_log = logging.getLogger("infra.local.http")

RAZORPAY_PREFIX = "/_razorpay"
IRP_PREFIX = "/_irp"
SWEEP_FUNCTION = "OverdueSweepFunction"
BILLING_FUNCTION = "BillingRunFunction"
BILLING_RUN_TIMEOUT_SECONDS = 300
_PAY_ROUTE = re.compile(r"^/_local/razorpay/invoices/([^/]+)/pay$")
_FAIL_REFUND_ROUTE = re.compile(r"^/_local/razorpay/refunds/([^/]+)/fail$")
_PAGE_ROUTE = re.compile(rf"^{RAZORPAY_PREFIX}/i/([^/]+)(/pay)?$")
_LINK_PAY_ROUTE = re.compile(r"^/_local/razorpay/payment-links/([^/]+)/(pay|expire)$")
_LINK_PAGE_ROUTE = re.compile(rf"^{RAZORPAY_PREFIX}/l/([^/]+)(/pay)?$")
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


class Dispatcher:
    def __init__(
        self,
        *,
        routes: RouteTable,
        functions: dict[str, LocalFunction],
        standin: RazorpayStandIn,
        emails: Callable[[], list[dict[str, Any]]] = list,
        events: Callable[[], list[dict[str, Any]]] = list,
        webhook_url: str = "",
        schedule_name: str = "overdue-sweep",
        jwt: JwtConfiguration | None = None,
        irp: Any = None,  # infra.local.irp_standin.IrpStandIn (einvoice.md), None when EINVOICING=off
    ) -> None:
        self.routes = routes
        self.jwt = jwt or JwtConfiguration()
        self.functions = functions
        self.standin = standin
        self.emails = emails
        self.events = events
        self.webhook_url = webhook_url
        self.schedule_name = schedule_name
        self.irp = irp
        self._paid: dict[str, dict[str, Any]] = {}  # payment id → what paying on the hosted page did
        self.ready = threading.Event()
        # Feeds one batch of the billing queue to its function (the stack sets it): how the
        # billing-run route drains the run's queue before it answers.
        self.billing_drain: Callable[[], int] | None = None

    # ----------------------------------------------------------------------------------- entry
    def dispatch(
        self,
        method: str,
        path: str,
        query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        client_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        method = method.upper()
        if path == "/health" and method == "GET":
            if self.ready.is_set():
                return HttpResponse.json(200, {"status": "ok"})
            return HttpResponse.json(503, {"status": "starting"})
        if path.startswith("/_local/"):
            return self._local(method, path, body)
        if path == RAZORPAY_PREFIX or path.startswith(RAZORPAY_PREFIX + "/"):
            return self._razorpay(method, path, query, headers, body)
        if self.irp is not None and path.startswith(IRP_PREFIX + "/"):
            relative = path[len(IRP_PREFIX) :] + (f"?{query}" if query else "")
            status, answer_headers, answer = self.irp.handle(method, relative, dict(headers), body)
            return HttpResponse(status, list(answer_headers.items()), answer)
        return self._api(method, path, query, headers, body, client_ip)

    # ------------------------------------------------------------------------------------- API
    def _api(
        self,
        method: str,
        path: str,
        query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        client_ip: str,
    ) -> HttpResponse:
        match = self.routes.resolve(method, path)
        if match is None:
            return HttpResponse.json(*gateway.NOT_FOUND)
        request_id = uuid.uuid4().hex[:16]
        apigw = [("apigw-requestid", request_id)]
        lowered = {k.lower(): v for k, v in headers}
        try:
            authorizer = gateway.authorize(match.route, lowered, jwt=self.jwt)
        except UnauthorizedError as denied:
            log.info("401 on %s %s: %s", method, path, denied.reason)
            return HttpResponse.json(
                *gateway.UNAUTHORIZED, headers=[("www-authenticate", denied.www_authenticate), *apigw]
            )
        event = gateway.build_event(
            match,
            method=method,
            raw_path=path,
            raw_query=query,
            headers=headers,
            body=body,
            source_ip=client_ip,
            authorizer=authorizer,
            request_id=request_id,
        )
        function = self.functions[match.route.function_id]
        try:
            response = gateway.to_http(function.invoke(event, request_id=request_id))
        except HandlerUnavailableError as exc:
            log.error("%s", exc)
            return HttpResponse.json(*gateway.INTERNAL_ERROR, headers=apigw)
        except Exception:
            log.exception("%s raised on %s", match.route.function_id, match.route.route_key)
            return HttpResponse.json(*gateway.INTERNAL_ERROR, headers=apigw)
        return HttpResponse(response.status, [*response.headers, *apigw], response.body)

    # ------------------------------------------------------------------------------ local-only
    def _local(self, method: str, path: str, body: bytes) -> HttpResponse:
        if path == "/_local/emails" and method == "GET":
            return HttpResponse.json(200, self.emails())
        if path == "/_local/events" and method == "GET":
            return HttpResponse.json(200, self.events())
        if path == "/_local/schedules/overdue-sweep" and method == "POST":
            return self._sweep(body)
        if path.startswith("/_local/irp/") and self.irp is not None:
            return self._irp_local(method, path, body)
        if path == "/_local/schedules/billing-run" and method == "POST":
            return self._billing_run(body)
        pay = _PAY_ROUTE.match(path)
        if pay and method == "POST":
            return self._pay_json(pay.group(1), body)
        link = _LINK_PAY_ROUTE.match(path)
        if link and method == "POST":
            return self._link_json(link.group(1), link.group(2), body)
        if path == "/_local/razorpay/refunds" and method == "GET":
            return HttpResponse.json(200, self.standin.refunds())
        fail = _FAIL_REFUND_ROUTE.match(path)
        if fail and method == "POST":
            try:
                deliveries = self.standin.fail_refund(fail.group(1))
            except RazorpayError as error:
                return HttpResponse.json(404 if error.field == "id" else error.status, error.body())
            return HttpResponse.json(200, {"deliveries": [self.deliver(d) for d in deliveries]})
        return HttpResponse.json(*gateway.NOT_FOUND)

    def settle_refunds(self, min_age_seconds: float = 1.0) -> list[dict[str, Any]]:
        """Razorpay processing the refunds it accepted: ``refund.processed`` for each, delivered."""
        return [self.deliver(d) for d in self.standin.process_refunds(min_age_seconds)]

    def _sweep(self, body: bytes) -> HttpResponse:
        try:
            data = json.loads(body) if body.strip() else {}
            when = _parse_time(data.get("time") if isinstance(data, dict) else None)
        except ValueError as exc:
            return HttpResponse.json(400, {"message": f'Expected {{"time": ISO-8601 or epoch}}: {exc}'})
        event = scheduled_event(when, schedule_name=self.schedule_name)
        function = self.functions[SWEEP_FUNCTION]
        try:
            result = function.invoke(event)
        except Exception as exc:
            if not_implemented(exc):
                return HttpResponse.json(
                    501, {"message": f"{SWEEP_FUNCTION} is not implemented yet: {exc}", "time": event["time"]}
                )
            log.exception("%s raised", SWEEP_FUNCTION)
            return HttpResponse.json(
                500, {"message": f"{SWEEP_FUNCTION} failed: {type(exc).__name__}: {exc}"}
            )
        return HttpResponse.json(200, result, headers=[("X-Local-Schedule-Time", event["time"])])

    def _irp_local(self, method: str, path: str, body: bytes) -> HttpResponse:
        """``GET /_local/irp/certificate``, ``GET /_local/irp/documents``, ``POST /_local/irp/fail-next``."""
        if path == "/_local/irp/certificate" and method == "GET":
            pem = self.irp.certificate_pem().encode()
            return HttpResponse(200, [("Content-Type", "application/x-pem-file")], pem)
        if path == "/_local/irp/documents" and method == "GET":
            return HttpResponse.json(200, {"items": self.irp.documents()})
        if path == "/_local/irp/fail-next" and method == "POST":
            try:
                data = json.loads(body) if body.strip() else {}
                if not isinstance(data, dict) or set(data) - {"kind", "count"}:
                    raise ValueError('expected {"kind", "count"}')
                self.irp.fail_next(data.get("kind"), data.get("count", 1))
            except ValueError as exc:
                return HttpResponse.json(400, {"message": str(exc)})
            return HttpResponse.json(200, {"kind": data["kind"], "count": data.get("count", 1)})
        return HttpResponse.json(*gateway.NOT_FOUND)

    def _billing_run(self, body: bytes) -> HttpResponse:
        """The monthly schedule at ``time``; answers the run once its queue is drained and it finished."""
        try:
            data = json.loads(body) if body.strip() else {}
            when = _parse_time(data.get("time") if isinstance(data, dict) else None)
        except ValueError as exc:
            return HttpResponse.json(400, {"message": f'Expected {{"time": ISO-8601 or epoch}}: {exc}'})
        event = scheduled_event(when, schedule_name="billing-run")
        try:
            run = self.functions[BILLING_FUNCTION].invoke(event)
        except Exception as exc:
            log.exception("%s raised", BILLING_FUNCTION)
            return HttpResponse.json(
                500, {"message": f"{BILLING_FUNCTION} failed: {type(exc).__name__}: {exc}"}
            )
        deadline = time.monotonic() + BILLING_RUN_TIMEOUT_SECONDS
        while run.get("status") == "running" and time.monotonic() < deadline:
            drained = self.billing_drain() if self.billing_drain is not None else 0
            if not drained:
                time.sleep(0.2)  # the background poller may hold the last batch
            run = self._run(run["id"]) or run
        headers = [("X-Local-Schedule-Time", event["time"])]
        return HttpResponse.json(200 if run.get("status") != "running" else 504, run, headers=headers)

    def _run(self, run_id: str) -> dict[str, Any] | None:
        """The run as ``GET /billing-runs/{id}`` answers it (through the API, as an operator)."""
        from infra.local.tokens import make_token

        token = make_token("operator", admin=True)
        answer = self._api(
            "GET", f"/billing-runs/{run_id}", "", [("Authorization", f"Bearer {token}")], b"", ""
        )
        return json.loads(answer.body) if answer.status == 200 else None

    def _pay_json(self, invoice_id: str, body: bytes) -> HttpResponse:
        try:
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return HttpResponse.json(400, RazorpayError(f"Malformed JSON body: {exc}").body())
        unknown = sorted(set(data) - {"amount", "method"})
        if unknown:
            return HttpResponse.json(400, RazorpayError(f"Unknown fields: {', '.join(unknown)}").body())
        try:
            outcome = self.pay(invoice_id, data.get("amount"), data.get("method") or "upi")
        except RazorpayError as error:
            status = 404 if error.field == "id" else error.status
            return HttpResponse.json(status, error.body())
        return HttpResponse.json(200, outcome)

    def _link_json(self, link_id: str, action: str, body: bytes) -> HttpResponse:
        """``POST /_local/razorpay/payment-links/{id}/pay`` (``{"method"}``) or ``/expire``."""
        try:
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return HttpResponse.json(400, RazorpayError(f"Malformed JSON body: {exc}").body())
        unknown = sorted(set(data) - ({"method"} if action == "pay" else set()))
        if unknown:
            return HttpResponse.json(400, RazorpayError(f"Unknown fields: {', '.join(unknown)}").body())
        try:
            if action == "pay":
                outcome = self.pay_link(link_id, data.get("method") or "upi")
            else:
                outcome = {"deliveries": [self.deliver(d) for d in self.standin.expire_link(link_id)]}
        except RazorpayError as error:
            return HttpResponse.json(404 if error.field == "id" else error.status, error.body())
        return HttpResponse.json(200, outcome)

    def pay_link(self, link_id: str, method: str) -> dict[str, Any]:
        """Pay a top-up's payment link at the stand-in and deliver its webhooks, in order."""
        deliveries = self.standin.pay_link(link_id, method)
        payment = deliveries[0].payload["payload"]["payment"]["entity"]
        return {
            "payment_id": payment["id"],
            "amount": payment["amount"],
            "method": payment["method"],
            "deliveries": [self.deliver(d) for d in deliveries],
        }

    def pay(self, invoice_id: str, amount: int | None, method: str) -> dict[str, Any]:
        """Pay at the stand-in and deliver its webhooks, in order, to the webhook route."""
        deliveries = self.standin.pay(invoice_id, amount, method)
        payment = deliveries[0].payload["payload"]["payment"]["entity"]
        return {
            "payment_id": payment["id"],
            "amount": payment["amount"],
            "method": payment["method"],
            "deliveries": [self.deliver(d) for d in deliveries],
        }

    def deliver(self, delivery: WebhookDelivery) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.webhook_url, data=delivery.body, headers=delivery.headers, method="POST"
        )
        outcome: dict[str, Any] = {"event": delivery.event, "event_id": delivery.event_id}
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                outcome["status_code"], raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            outcome["status_code"], raw = error.code, error.read()
        except OSError as error:
            outcome.update(status_code=None, error=str(error))
            return outcome
        try:
            outcome["response"] = json.loads(raw) if raw else None
        except ValueError:
            outcome["response"] = raw.decode("utf-8", "replace")[:500]
        return outcome

    # -------------------------------------------------------------------------------- Razorpay
    def _razorpay(
        self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> HttpResponse:
        page = _PAGE_ROUTE.match(path)
        if page:
            return self._page(method, page.group(1), bool(page.group(2)), query, body)
        link_page = _LINK_PAGE_ROUTE.match(path)
        if link_page:
            return self._link_page(method, link_page.group(1), bool(link_page.group(2)), query, body)
        relative = path[len(RAZORPAY_PREFIX) :] + (f"?{query}" if query else "")
        status, answer_headers, answer = self.standin.handle(method, relative, dict(headers), body)
        return HttpResponse(status, list(answer_headers.items()), answer)

    def _page(self, method: str, invoice_id: str, paying: bool, query: str, body: bytes) -> HttpResponse:
        """The hosted page: GET shows it, its form POSTs to ``…/pay``.

        A payment answers ``303 See Other`` to the page with ``?payment_id=`` (GET), which shows
        what happened: reloading it does not pay again. A refused payment answers the page (400)
        with the reason in rupees and the typed amount still in its field.
        """
        page_url = f"{RAZORPAY_PREFIX}/i/{invoice_id}"
        action = f"{page_url}/pay"
        try:
            invoice = self.standin.fetch_invoice(invoice_id)
        except RazorpayError:
            return _html(404, render_not_found(invoice_id))
        if not paying and method == "GET":
            payment_id = parse_qs(query).get("payment_id", [""])[-1]
            result = self._paid.get(payment_id)
            if result is not None and result["invoice_id"] != invoice_id:
                result = None
            return _html(200, render_hosted_page(invoice, action=action, result=result))
        if not paying or method != "POST":
            return HttpResponse.json(*gateway.NOT_FOUND)
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        typed = form.get("amount")
        try:
            amount = parse_rupees(typed) if typed else None
            outcome = self.pay(invoice_id, amount, form.get("method") or "upi")
        except RazorpayError as error:
            page = render_hosted_page(
                self.standin.fetch_invoice(invoice_id), action=action, error=error.display, amount_text=typed
            )
            return _html(400, page)
        self._paid[outcome["payment_id"]] = {**outcome, "invoice_id": invoice_id}
        location = f"{page_url}?{urlencode({'payment_id': outcome['payment_id']})}"
        return HttpResponse(303, [("Location", location), ("Content-Type", "text/plain")], b"See Other")

    def _link_page(self, method: str, link_id: str, paying: bool, query: str, body: bytes) -> HttpResponse:
        """A payment link's hosted page: GET shows it, its "Pay" form POSTs to ``…/pay``, which
        answers ``303 See Other`` to the page with ``?payment_id=`` (reloading it pays nothing)."""
        page_url = f"{RAZORPAY_PREFIX}/l/{link_id}"
        action = f"{page_url}/pay"
        try:
            link = self.standin.fetch_link(link_id)
        except RazorpayError:
            return _html(404, render_not_found(link_id))
        if not paying and method == "GET":
            payment_id = parse_qs(query).get("payment_id", [""])[-1]
            result = self._paid.get(payment_id)
            if result is not None and result.get("link_id") != link_id:
                result = None
            return _html(200, render_link_page(link, action=action, result=result))
        if not paying or method != "POST":
            return HttpResponse.json(*gateway.NOT_FOUND)
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        try:
            outcome = self.pay_link(link_id, form.get("method") or "upi")
        except RazorpayError as error:
            return _html(
                400, render_link_page(self.standin.fetch_link(link_id), action=action, error=error.display)
            )
        self._paid[outcome["payment_id"]] = {**outcome, "link_id": link_id}
        location = f"{page_url}?{urlencode({'payment_id': outcome['payment_id']})}"
        return HttpResponse(303, [("Location", location), ("Content-Type", "text/plain")], b"See Other")


def _html(status: int, page: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/html; charset=utf-8")], page.encode())


def _parse_time(value: Any) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, bool):
        raise ValueError("time must be a timestamp")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError("time must be an ISO-8601 string or epoch seconds")


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "invoicing-local"
    dispatcher: Dispatcher  # set on the subclass LocalServer builds

    def _handle(self) -> None:
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        try:
            body = self._body()
        except ValueError as exc:
            self._send(HttpResponse.json(400, {"message": str(exc)}), started, path)
            return
        try:
            response = self.dispatcher.dispatch(
                self.command, path, query, list(self.headers.items()), body, self.client_address[0]
            )
        except Exception:
            log.exception("unhandled error on %s %s", self.command, path)
            response = HttpResponse.json(*gateway.INTERNAL_ERROR)
        self._send(response, started, path)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.isdigit():
            raise ValueError("bad Content-Length")
        return self.rfile.read(int(length))

    def _send(self, response: HttpResponse, started: float, path: str) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        elapsed = (time.monotonic() - started) * 1000
        access_log.info("%s %s %d %.0fms", self.command, path, response.status, elapsed)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _send logs one line per request


class LocalServer:
    """``Dispatcher`` behind a threading HTTP server on loopback."""

    def __init__(self, dispatcher: Dispatcher, port: int, host: str = "127.0.0.1") -> None:
        handler = type("Handler", (_Handler,), {"dispatcher": dispatcher})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},  # how long stop() may wait for the loop to notice
            name="local-http",
            daemon=True,
        )
        self._started = False

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()
        self._started = True

    def stop(self) -> None:
        if self._started:  # shutdown() waits for serve_forever(), forever if it never ran
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()
