"""``make run``: the whole service on loopback, in one process, until Ctrl-C (docs/local.md).

Start-up order: moto's server → fake AWS credentials and ``AWS_ENDPOINT_URL`` in the environment,
before any client exists → every resource from ``template.yaml`` (``infra.cfn``) → the SES
sender verified, a tap on the event bus → the functions' environment exported (all four share this
process) → the HTTP server (API Gateway, local routes, Razorpay stand-in) → queue pollers → demo data →
``/health`` turns 200 and the banner is printed. SIGINT/SIGTERM stop everything and exit 0, also
while starting (``start`` checks between its steps); a second signal forces the exit after a short
grace, a third at once (``infra/local/shutdown.py``).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import secrets
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra import moto_speed
from infra.cfn import create_resources, function_environment, load_template, physical_names
from infra.demo import DEMO_ACCOUNT, DEMO_PREPAID_ACCOUNT
from infra.local.aws import (
    EventTap,
    PortInUseError,
    ensure_port_free,
    install_scan_guard,
    sent_emails,
    start_moto,
)
from infra.local.events import SchedulePoller, SqsPoller, TableWrites
from infra.local.functions import LocalFunction, functions_from_template
from infra.local.gateway import JwtConfiguration, RouteTable
from infra.local.irp_standin import IrpStandIn
from infra.local.razorpay_standin import RazorpayStandIn
from infra.local.seed import seed
from infra.local.server import Dispatcher, LocalServer
from infra.local.shutdown import Shutdown
from infra.local.tokens import make_token

LOCAL_REGION = "ap-south-1"
DEV_KEY_ID = "rzp_test_local"
DEV_KEY_SECRET = "local_key_secret"  # noqa: S105 - documented development value
DEV_WEBHOOK_SECRET = "local_webhook_secret"  # noqa: S105 - documented development value
LOCAL_SERVICE_NAME = "invoicing-local"
STACK = "invoicing-local"
QUEUE_CONSUMERS = {
    "RenderQueue": "PdfRendererFunction",
    "SweepQueue": "OverdueSweepFunction",
    "RenderDeadLetterQueue": "RenderDeadLetterFunction",
    "BillingQueue": "BillingRunFunction",
}
OUTBOX_FUNCTION = "OutboxDispatcherFunction"
# E-invoicing (einvoice.md): the IRP stand-in's GSP and IRP API user, documented development values.
EINVOICE_FUNCTION = "EInvoiceRegistrarFunction"
DEV_GSP = {
    "client_id": "gsp_client_local",
    "client_secret": "gsp_secret_local",
    "gstin": "",  # the supplier's, from the template's SupplierJson
    "user_name": "irp_user_local",
    "password": "irp_password_local",
}
EINVOICE_RETRY = {"EINVOICE_RETRY_BASE_SECONDS": "2", "EINVOICE_RETRY_CAP_SECONDS": "10"}  # watchable

log = logging.getLogger("infra.local")


class ConfigError(ValueError):
    pass


class RefundSettler(threading.Thread):
    """Razorpay processing refunds, locally: every ``interval`` seconds the refunds pending for
    ``min_age_seconds`` are processed and their signed ``refund.processed`` webhooks delivered."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        stop: threading.Event,
        interval: float = 0.5,
        min_age_seconds: float = 1.0,
    ) -> None:
        super().__init__(name="razorpay-refunds", daemon=True)
        self._dispatcher = dispatcher
        self._stop_event = stop
        self._interval = interval
        self._min_age = min_age_seconds

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            try:
                for outcome in self._dispatcher.settle_refunds(self._min_age):
                    log.info(
                        "refund settled at the Razorpay stand-in: %s → %s",
                        outcome["event"],
                        outcome.get("status_code"),
                    )
            except Exception:
                log.exception("settling the stand-in's refunds failed")


@dataclass(frozen=True)
class LocalSettings:
    port: int = 3000
    aws_port: int = 4566
    key_id: str = DEV_KEY_ID
    key_secret: str = DEV_KEY_SECRET
    webhook_secret: str = DEV_WEBHOOK_SECRET
    demo_data: bool = True
    einvoicing: str = "sandbox"
    jwt: JwtConfiguration = field(default_factory=JwtConfiguration)  # JWT_ISSUER / JWT_AUDIENCE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LocalSettings:
        env = os.environ if environ is None else environ

        def port(name: str, default: int) -> int:
            raw = env.get(name, "").strip() or str(default)
            if not raw.isdigit() or int(raw) > 65535:
                raise ConfigError(f"{name} must be a port number (0-65535), got {raw!r}")
            return int(raw)

        demo = env.get("DEMO_DATA", "1").strip() or "1"
        if demo not in ("0", "1"):
            raise ConfigError(f"DEMO_DATA must be 0 or 1, got {demo!r}")
        return cls(
            port=port("PORT", 3000),
            aws_port=port("AWS_PORT", 4566),
            key_id=env.get("RAZORPAY_KEY_ID") or DEV_KEY_ID,
            key_secret=env.get("RAZORPAY_KEY_SECRET") or DEV_KEY_SECRET,
            webhook_secret=env.get("RAZORPAY_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET,
            demo_data=demo == "1",
            einvoicing=_einvoicing(env),
            jwt=JwtConfiguration.from_env(env),
        )


def point_at_local_aws(environ: MutableMapping[str, str], endpoint_url: str) -> None:
    """Fake credentials, the region and the endpoint, so no client can reach a real AWS account."""
    for name in [n for n in environ if n.startswith("AWS_ENDPOINT_URL_")]:
        del environ[name]  # a per-service endpoint from the shell would win over AWS_ENDPOINT_URL
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        environ.pop(name, None)
    environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )


def merged_function_environment(template: Mapping[str, Any], base: Mapping[str, str]) -> dict[str, str]:
    """The union of every function's environment (they share one process); clashes get a local value."""
    merged: dict[str, str] = {}
    clashes: set[str] = set()
    for function_id in functions_from_template(template):
        for name, value in function_environment(template, function_id, base).items():
            if name in merged and merged[name] != value:
                clashes.add(name)
            merged.setdefault(name, value)
    for name in clashes:
        if name == "POWERTOOLS_SERVICE_NAME":
            merged[name] = LOCAL_SERVICE_NAME
        else:
            log.warning("functions disagree on %s; using %r for all of them", name, merged[name])
    return merged


class StartInterrupted(BaseException):  # like KeyboardInterrupt: no `except Exception` swallows it
    """A stop was requested while starting."""


class LocalStack:
    def __init__(self, settings: LocalSettings, *, interrupted: Callable[[], bool] = lambda: False) -> None:
        self.settings = settings
        self._interrupted = interrupted
        self.stop_event = threading.Event()
        self.moto: Any = None
        self.server: Any = None
        self.pollers: list[threading.Thread] = []
        self.aws_url = ""
        self.api_url = ""
        self.seeded: dict[str, Any] = {}

    # ------------------------------------------------------------------------------- start
    def checkpoint(self) -> None:
        """Raise ``StartInterrupted`` if a stop was requested (called between the steps of ``start``)."""
        if self._interrupted():
            raise StartInterrupted

    def start(self) -> None:
        self.checkpoint()
        ensure_port_free(self.settings.port)  # both ports checked before anything starts

        self.moto, self.aws_url = start_moto(self.settings.aws_port)
        moto_speed.install()  # emulator speed: transactions, item building, answers
        self.checkpoint()
        log.info("embedded AWS (moto) on %s; creating the resources of template.yaml", self.aws_url)
        point_at_local_aws(os.environ, self.aws_url)
        install_scan_guard()

        template = load_template()
        session = boto3.session.Session(region_name=LOCAL_REGION)
        base = create_resources(
            template,
            session=session,
            endpoint_url=self.aws_url,
            stack=STACK,
            secret_values={
                "RazorpaySecret": json.dumps(
                    {
                        "key_id": self.settings.key_id,
                        "key_secret": self.settings.key_secret,
                        "webhook_secret": self.settings.webhook_secret,
                        "previous_webhook_secret": "",
                    }
                ),
                "CursorSigningSecret": secrets.token_urlsafe(36),
                "GspSecret": json.dumps(DEV_GSP | {"gstin": _supplier_gstin(template)}),
            },
            checkpoint=self.checkpoint,
        )
        self.checkpoint()
        session.client("ses", endpoint_url=self.aws_url).verify_email_identity(
            EmailAddress=base["SES_SENDER"]
        )
        tap = EventTap(session, self.aws_url, base["EVENT_BUS_NAME"])
        tap.install()

        specs = functions_from_template(template)
        functions = {function_id: LocalFunction(spec) for function_id, spec in specs.items()}
        standin = RazorpayStandIn(
            key_id=self.settings.key_id,
            key_secret=self.settings.key_secret,
            webhook_secret=self.settings.webhook_secret,
        )
        irp = None
        if self.settings.einvoicing != "off":
            gsp = DEV_GSP
            irp = IrpStandIn(
                client_id=gsp["client_id"],
                client_secret=gsp["client_secret"],
                user_name=gsp["user_name"],
                password=gsp["password"],
            )
        dispatcher = Dispatcher(
            routes=RouteTable.from_template(template),
            functions=functions,
            standin=standin,
            emails=sent_emails,
            events=tap.events,
            schedule_name=specs["OverdueSweepFunction"].function_name,
            irp=irp,
            jwt=self.settings.jwt,
        )
        try:
            self.server = LocalServer(dispatcher, self.settings.port)
        except OSError as exc:
            raise PortInUseError(
                f"127.0.0.1:{self.settings.port} is not available ({exc.strerror})"
            ) from None
        self.api_url = f"http://127.0.0.1:{self.server.port}"
        standin.hosted_base_url = f"{self.api_url}/_razorpay"
        dispatcher.webhook_url = f"{self.api_url}/webhooks/razorpay"

        env = merged_function_environment(template, base)
        env["RAZORPAY_BASE_URL"] = standin.hosted_base_url  # the SDK's base_url (it appends /v1/...)
        env |= {
            "EINVOICING": self.settings.einvoicing,
            "GSP_BASE_URL": f"{self.api_url}/_irp",
            **EINVOICE_RETRY,
        }
        env["AATO_ABOVE_10_CRORE"] = os.environ.get("AATO_ABOVE_10_CRORE", "true")
        os.environ.update(env)
        env["OUTBOX_SWEEP_MIN_AGE_SECONDS"] = "0"  # no stream locally: the poller takes everything due
        os.environ.update(env)
        for name, value in (("POWERTOOLS_TRACE_DISABLED", "1"), ("POWERTOOLS_METRICS_DISABLED", "true")):
            os.environ.setdefault(name, value)

        log.info("loading the functions' handlers")
        for function in functions.values():
            self.checkpoint()
            try:
                function.load()
            except Exception as exc:  # surfaced now; its routes answer 500 until fixed
                log.error("%s", exc)
        # Indented JSON logs for a person (unless the shell says POWERTOOLS_DEV=0, as the tests do).
        # Only now, after the imports: it also turns on the Event Handler's debug mode (fixed when a
        # resolver is built), which prints every event, Authorization header included.
        os.environ.setdefault("POWERTOOLS_DEV", "1")
        self.checkpoint()
        self.server.start()

        sqs = session.client("sqs", endpoint_url=self.aws_url)
        names = physical_names(template, STACK)
        for queue_id, function_id in QUEUE_CONSUMERS.items():
            env_name = _queue_env(queue_id)
            if env_name:
                queue_url = base[env_name]
            else:  # a dead-letter queue: no function is told its URL
                queue_url = sqs.get_queue_url(QueueName=names[queue_id])["QueueUrl"]
            poller = SqsPoller(functions[function_id], sqs=sqs, queue_url=queue_url, stop=self.stop_event)
            poller.start()
            self.pollers.append(poller)
            if queue_id == "BillingQueue":
                dispatcher.billing_drain = poller.poll_once  # the billing-run route drains it too
        # moto has no DynamoDB streams: the outbox dispatcher's schedule path runs twice a second
        # after writes (every two seconds while the tables are quiet).
        writes = TableWrites()
        writes.install()
        outbox = SchedulePoller(functions[OUTBOX_FUNCTION], stop=self.stop_event, interval=0.5, writes=writes)
        outbox.start()
        self.pollers.append(outbox)
        refunds = RefundSettler(dispatcher, stop=self.stop_event)
        refunds.start()
        self.pollers.append(refunds)

        if self.settings.demo_data:
            log.info("seeding demo data")
            self.seeded = seed(standin, standin.hosted_base_url, checkpoint=self.checkpoint)
        # The e-invoice queue's consumer starts after the seed, which registers its back-dated
        # invoices itself (on its own clock), so the queued jobs find them registered.
        einvoices = SqsPoller(
            functions[EINVOICE_FUNCTION], sqs=sqs, queue_url=base["EINVOICE_QUEUE_URL"], stop=self.stop_event
        )
        einvoices.start()
        self.pollers.append(einvoices)
        self.checkpoint()
        dispatcher.ready.set()

    # -------------------------------------------------------------------------------- stop
    def stop(self) -> None:
        """Stop the pollers, the HTTP server and moto side by side: each takes a moment to notice.

        A batch still rendering is abandoned after two seconds: moto's state goes anyway.
        """
        self.stop_event.set()
        stoppers = [
            threading.Thread(target=part.stop, name=f"stop-{name}", daemon=True)
            for name, part in (("http", self.server), ("moto", self.moto))
            if part is not None
        ]
        for stopper in stoppers:
            stopper.start()
        deadline = time.monotonic() + 2
        for thread in [*self.pollers, *stoppers]:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        log.info("stopped")

    # ------------------------------------------------------------------------------ banner
    def banner(self) -> str:
        operator = make_token(DEMO_ACCOUNT, admin=True)
        customer = make_token(DEMO_ACCOUNT)
        prepaid = make_token(DEMO_PREPAID_ACCOUNT)
        api = self.api_url
        demo = (
            f"{len(self.seeded)} invoices for {DEMO_ACCOUNT} ({', '.join(self.seeded)})"
            if self.seeded
            else "none (DEMO_DATA=0)"
        )
        return "\n".join(
            [
                "",
                "Invoicing — local stack is up",
                f"  API            {api}",
                f"  Swagger UI     {api}/swagger",
                f"  Embedded AWS   {self.aws_url}   (moto: aws --endpoint-url {self.aws_url} ...)",
                f"  Razorpay       {api}/_razorpay   (stand-in, key {self.settings.key_id}; "
                f"webhooks go to {api}/webhooks/razorpay)",
                f"  Demo data      {demo}",
                f"  E-invoicing    {self.settings.einvoicing}"
                + (
                    f"   (IRP stand-in at {api}/_irp; GET /_local/irp/documents)"
                    if self.settings.einvoicing != "off"
                    else ""
                ),
                "",
                f"Tokens for {DEMO_ACCOUNT}, valid 12 h. Locally their signature is NOT verified: any",
                "well-formed header.payload.signature JWT works if its claims pass what API Gateway checks",
                f"(exp, nbf, iat; {self._jwt_checks()}).",
                "Another one: make token ACCOUNT=acc_x [ADMIN=1]",
                f"  export OPERATOR_TOKEN={operator}",
                f"  export CUSTOMER_TOKEN={customer}",
                f"  export PREPAID_TOKEN={prepaid}   # {DEMO_PREPAID_ACCOUNT}: a prepaid wallet",
                "",
                "Try:",
                f'  curl -s -H "Authorization: Bearer $CUSTOMER_TOKEN" {api}/invoices',
                f'  curl -s -H "Authorization: Bearer $OPERATOR_TOKEN" '
                f'"{api}/invoices?account_id={DEMO_ACCOUNT}&status=overdue"',
                f"  curl -s -X POST {api}/_local/schedules/overdue-sweep",
                *self._credit_example(api),
                f'  curl -s -H "Authorization: Bearer $CUSTOMER_TOKEN" {api}/credit-notes',
                f"  curl -s -X POST {api}/_local/schedules/billing-run   # invoices last month's demo usage",
                f'  curl -s -H "Authorization: Bearer $PREPAID_TOKEN" {api}/wallet/balance',
                *self._top_up_example(api),
                "",
                "Local only: GET /_local/emails · GET /_local/events · "
                "POST /_local/razorpay/invoices/{razorpay_invoice_id}/pay · "
                "POST /_local/razorpay/payment-links/{plink_id}/pay · GET /_local/razorpay/refunds · "
                "POST /_local/razorpay/refunds/{id}/fail (refunds are processed after a second) · "
                "GET /_local/irp/certificate · GET /_local/irp/documents · POST /_local/irp/fail-next",
                "Ctrl-C stops everything (pressed again, it quits within a second).",
                "",
            ]
        )

    def _jwt_checks(self) -> str:
        jwt = self.settings.jwt
        issuer = f"iss {jwt.issuer}" if jwt.issuer else "iss unchecked: JWT_ISSUER unset"
        audiences = " or ".join(jwt.audiences)
        return f"{issuer}; " + (f"aud {audiences}" if audiences else "aud unchecked: JWT_AUDIENCE unset")

    @staticmethod
    def _top_up_example(api: str) -> list[str]:
        """A wallet top-up of the prepaid demo account, as a curl line (pay its link next)."""
        body = f'{{"account_id": "{DEMO_PREPAID_ACCOUNT}", "amount": 500000}}'
        return [
            '  curl -s -X POST -H "Authorization: Bearer $PREPAID_TOKEN" \\',
            '       -H "Content-Type: application/json" \\',
            f"       {api}/wallet/top-ups -d '{body}'   # pay: /_local/razorpay/payment-links/{{id}}/pay",
        ]

    def _credit_example(self, api: str) -> list[str]:
        """A credit note on the demo's issued invoice, as a curl line (none without demo data)."""
        invoice = self.seeded.get("issued")
        if invoice is None:
            return []
        body = '{"reason": "discount", "description": "Goodwill", "lines": [{"line": 0, "amount": 10000}]}'
        return [
            '  curl -s -X POST -H "Authorization: Bearer $OPERATOR_TOKEN" \\',
            '       -H "Content-Type: application/json" \\',
            f"       {api}/invoices/{invoice.id}/credit-notes \\",
            f"       -d '{body}'",
        ]


def _einvoicing(env: Mapping[str, str]) -> str:
    mode = env.get("EINVOICING", "").strip() or "sandbox"
    if mode not in ("off", "sandbox"):
        raise ConfigError(f"EINVOICING must be off or sandbox locally, got {mode!r}")
    return mode


def _supplier_gstin(template: Mapping[str, Any]) -> str:
    return str(json.loads(template["Parameters"]["SupplierJson"]["Default"])["gstin"])


def _queue_env(queue_id: str) -> str | None:
    """The environment variable holding a queue's URL (a dead-letter queue has none: looked up)."""
    return {
        "RenderQueue": "RENDER_QUEUE_URL",
        "SweepQueue": "SWEEP_QUEUE_URL",
        "BillingQueue": "BILLING_QUEUE_URL",
    }.get(queue_id)


def main(shutdown: Shutdown | None = None) -> int:
    """``make run``; ``shutdown``: signal handling installed earlier (``__main__``, before the imports)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials ..." per client
    warnings.filterwarnings("ignore", message="No application metrics to publish")  # metrics are off locally
    warnings.filterwarnings("ignore", message="POWERTOOLS_DEV environment variable is enabled")
    with shutdown or Shutdown() as signals:
        try:
            settings = LocalSettings.from_env()
        except ConfigError as exc:
            print(f"make run: {exc}", file=sys.stderr)
            return 2
        stack = LocalStack(settings, interrupted=lambda: signals.requested)
        try:
            try:
                stack.start()
            except StartInterrupted:
                log.info("interrupted while starting")
                return 0
            except PortInUseError as exc:
                print(f"make run: {exc}; set PORT / AWS_PORT to free ports", file=sys.stderr)
                return 1
            print(stack.banner(), flush=True)
            signals.wait()
            log.info("stopping")
            return 0
        finally:
            stack.stop()
            gc.freeze()  # exit without a last full collection of everything moto and boto3 loaded (~1-2 s)
