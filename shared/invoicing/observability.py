"""Logger, tracer and metrics shared by every handler (Powertools).

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
Never log whole events or secrets: invoices carry customer data.

One logger per function. A Powertools ``Logger`` keeps its keys (the Lambda context, the correlation
id, ``append_keys``) and its service name in one shared formatter. In Lambda a process runs one
function, one invocation at a time, so that is right. Locally (``make run``) the four functions share
one process and run concurrently on different threads: with one Logger, one function's line carried
another's ``function_name``, request id and keys. So ``logger`` stands in for a Logger and resolves,
on every call, the Logger of the function this thread is running: :func:`logging_for` (which the
local stack enters around each invocation) selects one per service name, each with its own keys;
outside it — always, in Lambda — it is the one Logger of POWERTOOLS_SERVICE_NAME. Loggers are built
on first use. Under ``logging_for``, ``cold_start`` is also per function (Powertools keeps one flag
per process).

The tracer is built on first use. Powertools' ``Tracer()`` imports the X-Ray SDK in its
constructor (which itself loads botocore for sampling); building it inside the first invocation
keeps module import down to what the handler cannot do without. With tracing active the SDK still
loads, once per container, on the first request; with tracing disabled (tests, ``make run``) the
cost disappears.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics


class _Stdout:
    """``sys.stdout`` as it is when a line is written (a test's capture, say), not when a Logger is built."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_service: ContextVar[str | None] = ContextVar("invoicing_log_service", default=None)
_loggers: dict[str | None, Logger] = {}
_loggers_lock = threading.Lock()
_warm: set[str] = set()  # services (under logging_for) past their first invocation


def current_logger() -> Logger:
    """The Logger of the function this thread runs (see the module's docstring)."""
    service = _service.get()
    found = _loggers.get(service)
    if found is None:
        with _loggers_lock:
            found = _loggers.get(service)
            if found is None:
                # service None: POWERTOOLS_SERVICE_NAME's
                found = _loggers[service] = Logger(service=service, stream=_Stdout())  # type: ignore[arg-type]
    return found


@contextlib.contextmanager
def logging_for(service: str | None) -> Iterator[None]:
    """Log as ``service`` on this thread (contextvars: other threads are not affected)."""
    token = _service.set(service)
    try:
        yield
    finally:
        _service.reset(token)


class FunctionLogger:
    """What handlers and services call ``logger``: every attribute is the current function's Logger's."""

    def inject_lambda_context(
        self, lambda_handler: Callable[..., Any] | None = None, **options: Any
    ) -> Callable[..., Any]:
        """Powertools' decorator, applied per invocation by the Logger of the function invoked."""
        if lambda_handler is None:
            return functools.partial(self.inject_lambda_context, **options)
        handler = lambda_handler
        decorated: dict[Logger, Callable[..., Any]] = {}

        @functools.wraps(handler)
        def invoke(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            log = current_logger()
            run = decorated.get(log)
            if run is None:
                service = _service.get()
                inner = handler if service is None else _own_cold_start(handler, service)
                run = decorated.setdefault(log, log.inject_lambda_context(inner, **options))
            return run(event, context, *args, **kwargs)

        return invoke

    def __getattr__(self, name: str) -> Any:
        return getattr(current_logger(), name)


def _own_cold_start(handler: Callable[..., Any], service: str) -> Callable[..., Any]:
    @functools.wraps(handler)
    def run(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        cold = service not in _warm
        _warm.add(service)
        current_logger().append_keys(cold_start=cold)
        return handler(event, context, *args, **kwargs)

    return run


logger = FunctionLogger()
metrics = Metrics()


class LazyTracer:
    """A Powertools ``Tracer`` constructed on first use; same decorator API for handlers."""

    @functools.cached_property
    def _tracer(self) -> Any:
        from aws_lambda_powertools import Tracer

        return Tracer()

    def capture_lambda_handler(
        self, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
            traced: Callable[..., Any] | None = None

            @functools.wraps(handler)
            def wrapper(event: Any, context: Any) -> Any:
                nonlocal traced
                if traced is None:
                    traced = self._tracer.capture_lambda_handler(
                        handler, capture_response=capture_response, capture_error=capture_error
                    )
                return traced(event, context)

            return wrapper

        return decorate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracer, name)


tracer = LazyTracer()
