"""Logger, tracer and metrics shared by every handler (Powertools).

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
Never log whole events or secrets: invoices carry customer data.

The tracer is built on first use. Powertools' ``Tracer()`` imports the X-Ray SDK in its
constructor (which itself loads botocore for sampling); building it inside the first invocation
keeps module import down to what the handler cannot do without. With tracing active the SDK still
loads, once per container, on the first request; with tracing disabled (tests, ``make run``) the
cost disappears.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
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
