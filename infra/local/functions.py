"""The template's Lambda functions, run in-process as Lambda would run them.

Each ``functions/<name>/handler.py`` is imported by file path under a unique module name (four
``handler`` modules share one process) and called as ``lambda_handler(event, context)`` with a small
stand-in for Lambda's context object. Nothing here is visible to the handlers: they read the same
environment variables and build the same boto3 clients as in AWS.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.cfn import REPO_ROOT
from invoicing.observability import logging_for

log = logging.getLogger("infra.local")

FUNCTION = "AWS::Serverless::Function"
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_REGION = "ap-south-1"


@dataclass(frozen=True)
class FunctionSpec:
    """What the template says about one function (resolved with the parameters' defaults)."""

    logical_id: str
    function_name: str
    code_uri: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    events: Mapping[str, Any] = field(default_factory=dict)
    service_name: str | None = None  # its POWERTOOLS_SERVICE_NAME: what its logs say locally too

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"


def _sub(value: Any, parameters: Mapping[str, str]) -> str:
    """Resolve the simple ``!Sub``/``!Ref`` a function name or code path uses."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        pseudo = {"AWS::Region": LOCAL_REGION, "AWS::AccountId": LOCAL_ACCOUNT_ID, "AWS::Partition": "aws"}
        return re.sub(
            r"\$\{([^}]+)\}", lambda m: str({**pseudo, **parameters}.get(m.group(1), m.group(0))), text
        )
    if isinstance(value, dict) and "Ref" in value:
        return str(parameters.get(value["Ref"], value["Ref"]))
    return str(value)


def functions_from_template(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Every ``AWS::Serverless::Function`` of the template, by logical id."""
    parameters = {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    defaults = template.get("Globals", {}).get("Function", {})
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != FUNCTION:
            continue
        props = resource.get("Properties", {})
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            function_name=_sub(props.get("FunctionName", logical_id), parameters),
            code_uri=_sub(props.get("CodeUri", defaults.get("CodeUri", ".")), parameters),
            handler=str(props.get("Handler", defaults.get("Handler", "handler.lambda_handler"))),
            timeout_seconds=int(props.get("Timeout", defaults.get("Timeout", 3))),
            memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            events=props.get("Events", {}),
            service_name=_service_name(props),
        )
    return specs


def _service_name(props: Mapping[str, Any]) -> str | None:
    value = props.get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
    return value if isinstance(value, str) else None


class LambdaContext:
    """The attributes and method of Lambda's Python context object that handlers and Powertools use."""

    def __init__(self, spec: FunctionSpec, *, request_id: str | None = None) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerUnavailableError(RuntimeError):
    """The function's handler module could not be imported (Lambda's Runtime.ImportModuleError)."""


class LocalFunction:
    """One function's handler, imported on first use, invoked in-process.

    Like one Lambda execution environment, it runs one invocation at a time: handlers keep
    per-invocation state in module globals (Powertools' resolver holds the current event), which
    concurrent requests on the server's threads would otherwise share. Different functions do run
    concurrently, each logging through its own Powertools Logger under its own service name
    (``invoicing.observability.logging_for``), so a line carries its own function's context only.
    """

    def __init__(self, spec: FunctionSpec, repo_root: Path = REPO_ROOT) -> None:
        self.spec = spec
        self._root = repo_root
        self._handler: Callable[[Any, Any], Any] | None = None
        self._lock = threading.Lock()
        self._invocation = threading.Lock()

    @property
    def module_path(self) -> Path:
        module, _, _ = self.spec.handler.rpartition(".")
        return self._root / self.spec.code_uri / (module.replace(".", "/") + ".py")

    def load(self) -> Callable[[Any, Any], Any]:
        with self._lock:
            if self._handler is None:
                self._handler = self._import()
            return self._handler

    def _import(self) -> Callable[[Any, Any], Any]:
        _, _, attribute = self.spec.handler.rpartition(".")
        name = f"_local_lambda_{self.spec.logical_id}"
        try:
            # Like Lambda's task root: the function's folder is importable (the API's ``routes``).
            folder = str(self.module_path.parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            module_spec = importlib.util.spec_from_file_location(name, self.module_path)
            if module_spec is None or module_spec.loader is None:
                raise ImportError(f"cannot load {self.module_path}")
            module: ModuleType = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
            return getattr(module, attribute)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise HandlerUnavailableError(
                f"{self.spec.logical_id}: cannot import {self.spec.handler} from {self.module_path}: {exc!r}"
            ) from exc

    def invoke(self, event: Any, *, request_id: str | None = None) -> Any:
        handler = self.load()
        with self._invocation, logging_for(self.spec.service_name):
            return handler(event, LambdaContext(self.spec, request_id=request_id))
