"""Build local and test AWS resources from ``template.yaml`` — the one source of truth.

The test suite (under moto's ``mock_aws``) and the local stack (against a moto server) both call
:func:`create_resources`, which reads the tables, bucket, queues, event bus and secret **from the
template's own properties** (key schemas, indexes, TTL, redrive policies, ...) and creates them with
boto3. Nothing here hard-codes a key schema or a queue setting, so the resources the code is tested
against cannot drift from the ones that are deployed: change ``template.yaml`` and both follow.

:func:`create_resources` returns the environment a function would get from
``Globals.Function.Environment.Variables``, resolved locally (a table's ``!Ref`` becomes its
physical name, a queue's ``!Ref`` its URL, a parameter's ``!Ref`` its ``Default`` or an override).
It never sets credentials or the region: those come from the caller's environment or session.

Only the handful of intrinsic functions a resource property or environment variable plausibly uses
are resolved (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, and ``Fn::If`` on
the template's ``Conditions`` with ``AWS::NoValue`` dropping a property); anything else raises
:class:`TemplateResolutionError` instead of guessing.
"""

from __future__ import annotations

import copy
import functools
import graphlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
DEFAULT_STACK = "invoicing-local"

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
EVENT_BUS = "AWS::Events::EventBus"
SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a password
MANAGED_TYPES = (TABLE, BUCKET, QUEUE, EVENT_BUS, SECRET)

_LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account


class TemplateResolutionError(ValueError):
    """A template value uses something this module cannot resolve locally."""


class _NoValue:
    """What ``!Ref AWS::NoValue`` resolves to: the property (or list item) is left out. Falsy."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------
class CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A SafeLoader that turns CloudFormation short tags (``!Ref``, ``!Sub``, ...) into long form;
    libyaml's where PyYAML has it (the template parses ~10x faster, in every process that loads it)."""


_SHORT_TAGS = (
    "Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
    "If", "Equals", "Not", "And", "Or",
)  # fmt: skip


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node.tag}", node.start_mark)


def _long_form(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _construct_node(loader, node)}

    return construct


def _construct_getatt(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if isinstance(value, str):  # !GetAtt Resource.Attribute (the attribute may itself hold dots)
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


CfnLoader.add_constructor("!Ref", _long_form("Ref"))
CfnLoader.add_constructor("!Condition", _long_form("Condition"))
CfnLoader.add_constructor("!GetAtt", _construct_getatt)
for _tag in _SHORT_TAGS:
    CfnLoader.add_constructor(f"!{_tag}", _long_form(f"Fn::{_tag}"))


@functools.lru_cache(maxsize=8)
def _parse(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse ``template.yaml`` (short tags in long form). Parsed once; each caller gets a copy."""
    return copy.deepcopy(_parse(str(Path(path).resolve())))


# ------------------------------------------------------------------------------------------------
# Names and resolution
# ------------------------------------------------------------------------------------------------
def _resources_of(template: Mapping[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template.get("Resources", {}).items() if res.get("Type") in types}


def physical_names(template: Mapping[str, Any], stack: str = DEFAULT_STACK) -> dict[str, str]:
    """Deterministic local names, ``<stack>-<LogicalId>`` (lower-case for buckets, ``.fifo`` for FIFO)."""
    names: dict[str, str] = {}
    for logical_id, resource in _resources_of(template, *MANAGED_TYPES).items():
        name = f"{stack}-{logical_id}"
        if resource["Type"] == BUCKET:
            name = re.sub(r"[^a-z0-9.-]", "-", name.lower())[:63]
        elif resource["Type"] == QUEUE and resource.get("Properties", {}).get("FifoQueue") in (True, "true"):
            name = f"{name}.fifo"
        names[logical_id] = name
    return names


@dataclass
class _Context:
    """What ``Ref``/``Fn::GetAtt``/``${...}`` resolve to locally."""

    parameters: dict[str, str]
    pseudo: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        for source in (self.pseudo, self.parameters, self.refs):
            if name in source:
                return source[name]
        raise TemplateResolutionError(
            f"cannot resolve Ref {name!r} locally (a parameter without Default needs `parameters=`)"
        )

    def getatt(self, resource: str, attribute: str) -> str:
        try:
            return self.attrs[(resource, attribute)]
        except KeyError:
            raise TemplateResolutionError(
                f"cannot resolve Fn::GetAtt {resource}.{attribute} locally"
            ) from None

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stays as ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return self.getatt(resource, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def condition(self, name: str) -> bool:
        """The value of one of the template's ``Conditions``."""
        if name not in self.conditions:
            raise TemplateResolutionError(f"unknown condition {name!r}")
        return self.truth(self.conditions[name])

    def truth(self, value: Any) -> bool:
        """A condition function (``Fn::Equals``/``Not``/``And``/``Or``, ``Condition``) evaluated."""
        key, arg = next(iter(value.items())) if isinstance(value, dict) and len(value) == 1 else (None, None)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            left, right = (_as_string(self.resolve(item)) for item in arg)
            return left == right
        if key == "Fn::Not":
            return not self.truth(arg[0])
        if key == "Fn::And":
            return all(self.truth(item) for item in arg)
        if key == "Fn::Or":
            return any(self.truth(item) for item in arg)
        raise TemplateResolutionError(f"not a condition: {value!r}")

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in ``value`` (recursively); plain values are returned as-is.

        A property or list item that resolves to ``AWS::NoValue`` is left out; a value that is
        ``AWS::NoValue`` itself resolves to :data:`NO_VALUE` (falsy), for the caller to leave out.
        """
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::If":
                name, if_true, if_false = arg
                return self.resolve(if_true if self.condition(name) else if_false)
            if key == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.getatt(resource, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self.sub(text, variables)
            if key == "Fn::Join":
                delimiter, items = arg
                return delimiter.join(str(item) for item in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateResolutionError(f"{key} is not supported locally")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def _parameter_values(template: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, str]:
    values = {
        name: _as_string(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    values.update({name: _as_string(value) for name, value in (overrides or {}).items()})
    return values


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_string(item) for item in value)
    return str(value)


def _dependencies(value: Any) -> set[str]:
    """Logical ids a value refers to through Ref, Fn::GetAtt or ``${...}`` in Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _dependencies(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _dependencies(arg if isinstance(arg, str) else arg[1])
            else:
                found |= _dependencies(arg)
    return found


# ------------------------------------------------------------------------------------------------
# Creation
# ------------------------------------------------------------------------------------------------
_Created = tuple[str, dict[str, str]]
"""What a creator returns: the resource's ``Ref`` value and its ``Fn::GetAtt`` attributes."""


@dataclass(frozen=True)
class _Target:
    """One resource to create: where, under which physical name, from which template properties."""

    session: boto3.session.Session
    endpoint_url: str | None
    logical_id: str
    name: str
    props: dict[str, Any]
    ctx: _Context
    secret_values: Mapping[str, str]

    clients: dict[str, Any]  # one per service for the whole template (~30 ms to make one)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self.clients[service]


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _create_table(target: _Target) -> _Created:
    client, name, props, ctx = target.client("dynamodb"), target.name, target.props, target.ctx
    billing = ctx.resolve(props.get("BillingMode", "PROVISIONED"))

    def throughput(spec: Mapping[str, Any]) -> dict[str, Any]:
        if billing != "PROVISIONED":
            return {}
        resolved = ctx.resolve(spec["ProvisionedThroughput"])
        return {"ProvisionedThroughput": {key: int(value) for key, value in resolved.items()}}

    def index(spec: Mapping[str, Any], with_throughput: bool) -> dict[str, Any]:
        resolved = {key: ctx.resolve(spec[key]) for key in ("IndexName", "KeySchema", "Projection")}
        return resolved | (throughput(spec) if with_throughput else {})

    kwargs: dict[str, Any] = {
        "TableName": name,
        "BillingMode": billing,
        "KeySchema": ctx.resolve(props["KeySchema"]),
        "AttributeDefinitions": ctx.resolve(props["AttributeDefinitions"]),
        **throughput(props),
    }
    if props.get("GlobalSecondaryIndexes"):
        gsis = ctx.resolve(props["GlobalSecondaryIndexes"])  # an index under Fn::If may drop out
        kwargs["GlobalSecondaryIndexes"] = [index(gsi, True) for gsi in gsis]
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = [index(lsi, False) for lsi in props["LocalSecondaryIndexes"]]
    if props.get("StreamSpecification"):
        view_type = ctx.resolve(props["StreamSpecification"]["StreamViewType"])
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    try:
        client.create_table(**kwargs)
    except ClientError as error:
        if _error_code(error) != "ResourceInUseException":
            raise
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    ttl = ctx.resolve(props.get("TimeToLiveSpecification"))
    if ttl and _as_string(ttl.get("Enabled")) == "true":
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    return name, {"Arn": arn}


def _s3_encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Translate one CloudFormation ``ServerSideEncryptionRule`` into the S3 API's shape."""
    converted: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
    if "BucketKeyEnabled" in rule:
        converted["BucketKeyEnabled"] = _as_string(rule["BucketKeyEnabled"]) == "true"
    return converted


def _s3_lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Translate one CloudFormation lifecycle rule into the S3 API's shape (the common fields)."""
    converted: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    if "NoncurrentVersionExpiration" in rule:
        days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
    return converted


def _create_bucket(target: _Target) -> _Created:
    """Create the bucket with its public access block, encryption, versioning and lifecycle.

    The bucket policy (TLS only) is deliberately not applied: the local endpoint is plain HTTP.
    """
    client, name, props, ctx = target.client("s3"), target.name, target.props, target.ctx
    region = ctx.pseudo["AWS::Region"]
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**kwargs)
    except ClientError as error:
        if _error_code(error) != "BucketAlreadyOwnedByYou":
            raise
    if block := ctx.resolve(props.get("PublicAccessBlockConfiguration")):
        config = {key: _as_string(value) == "true" for key, value in block.items()}
        client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=config)
    if encryption := ctx.resolve(props.get("BucketEncryption")):
        rules = [_s3_encryption_rule(rule) for rule in encryption["ServerSideEncryptionConfiguration"]]
        client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if versioning := ctx.resolve(props.get("VersioningConfiguration")):
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
    if lifecycle := ctx.resolve(props.get("LifecycleConfiguration")):
        rules = [_s3_lifecycle_rule(rule) for rule in lifecycle["Rules"]]
        client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    return name, {"Arn": f"arn:{ctx.pseudo['AWS::Partition']}:s3:::{name}"}


_SQS_ATTRIBUTES = (
    "ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue", "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "MaximumMessageSize", "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds", "RedriveAllowPolicy", "RedrivePolicy", "SqsManagedSseEnabled",
    "VisibilityTimeout",
)  # fmt: skip


def _create_queue(target: _Target) -> _Created:
    client, name, props, ctx = target.client("sqs"), target.name, target.props, target.ctx
    attributes: dict[str, str] = {}
    for key in _SQS_ATTRIBUTES:
        if key in props:
            value = ctx.resolve(props[key])
            if value is NO_VALUE:
                continue
            attributes[key] = json.dumps(value) if isinstance(value, dict) else _as_string(value)
    try:
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as error:
        if _error_code(error) not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
        mutable = {key: value for key, value in attributes.items() if key != "FifoQueue"}
        if mutable:
            client.set_queue_attributes(QueueUrl=url, Attributes=mutable)
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"Arn": arn, "QueueUrl": url, "QueueName": name}


def _create_event_bus(target: _Target) -> _Created:
    client, name = target.client("events"), target.name
    try:
        client.create_event_bus(Name=name)
    except ClientError as error:
        if _error_code(error) != "ResourceAlreadyExistsException":
            raise
    arn = client.describe_event_bus(Name=name)["Arn"]
    return name, {"Arn": arn, "Name": name}


def _default_secret_string(props: Mapping[str, Any]) -> str:
    """The template's secret shape with every value empty (``GenerateSecretString`` or ``SecretString``)."""
    generate = props.get("GenerateSecretString")
    if generate:
        shape = json.loads(generate.get("SecretStringTemplate", "{}"))
        if "GenerateStringKey" in generate:
            shape[generate["GenerateStringKey"]] = ""
        return json.dumps({key: "" for key in shape})
    secret_string = props.get("SecretString")
    return secret_string if isinstance(secret_string, str) else "{}"


def _create_secret(target: _Target) -> _Created:
    client, name = target.client("secretsmanager"), target.name
    explicit = target.secret_values.get(target.logical_id)
    value = explicit if explicit is not None else _default_secret_string(target.props)
    try:
        client.create_secret(Name=name, SecretString=value)
    except ClientError as error:
        if _error_code(error) != "ResourceExistsException":
            raise
        if explicit is not None:  # a value passed in wins over what an earlier call stored
            client.put_secret_value(SecretId=name, SecretString=explicit)
    arn = client.describe_secret(SecretId=name)["ARN"]
    return name, {"Arn": arn, "Id": arn, "Name": name}


_CREATORS: dict[str, Callable[[_Target], _Created]] = {
    TABLE: _create_table,
    BUCKET: _create_bucket,
    QUEUE: _create_queue,
    EVENT_BUS: _create_event_bus,
    SECRET: _create_secret,
}


def create_resources(
    template: Mapping[str, Any],
    *,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
    stack: str = DEFAULT_STACK,
    parameters: Mapping[str, Any] | None = None,
    secret_values: Mapping[str, str] | None = None,
    checkpoint: Callable[[], None] = lambda: None,
) -> dict[str, str]:
    """Create every table, bucket, queue, event bus and secret of ``template``; return the function env.

    Resources are created in dependency order (a dead-letter queue before the queue that redrives to
    it) under :func:`physical_names`. Calling it again is harmless: existing resources are kept.

    Args:
        template: the parsed template (:func:`load_template`).
        session: boto3 session to build clients from (default: a new one from the environment).
        endpoint_url: e.g. the moto server's URL; ``None`` for in-process ``mock_aws``.
        stack: prefix of the physical names.
        parameters: overrides of the template parameters' ``Default`` values.
        secret_values: ``SecretString`` per secret logical id; otherwise the template's JSON shape
            with empty strings.
        checkpoint: called before each resource (``make run`` raises there when Ctrl-C was pressed,
            so a stop never waits for the rest of the template).

    Returns:
        ``Globals.Function.Environment.Variables`` resolved to local names, URLs and parameter values.
    """
    session = session or boto3.session.Session()
    ctx = _Context(
        parameters=_parameter_values(template, parameters),
        pseudo={
            "AWS::Region": session.region_name or "us-east-1",
            "AWS::AccountId": _LOCAL_ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
        },
        conditions=template.get("Conditions", {}),
    )
    managed = _resources_of(template, *MANAGED_TYPES)
    names = physical_names(template, stack)

    graph = {lid: _dependencies(res.get("Properties", {})) & managed.keys() for lid, res in managed.items()}
    clients: dict[str, Any] = {}
    for logical_id in graphlib.TopologicalSorter(graph).static_order():
        checkpoint()
        resource = managed[logical_id]
        target = _Target(
            session=session,
            endpoint_url=endpoint_url,
            logical_id=logical_id,
            name=names[logical_id],
            props=resource.get("Properties", {}),
            ctx=ctx,
            secret_values=secret_values or {},
            clients=clients,
        )
        ref, attrs = _CREATORS[resource["Type"]](target)
        ctx.refs[logical_id] = ref
        ctx.attrs.update({(logical_id, attribute): value for attribute, value in attrs.items()})

    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {name: _as_string(ctx.resolve(value)) for name, value in variables.items()}


def function_environment(
    template: Mapping[str, Any],
    function_id: str,
    base_env: Mapping[str, str],
    *,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """``base_env`` (from :func:`create_resources`) plus one function's own ``Environment.Variables``.

    The function-level values may be plain strings or parameter references (e.g.
    ``POWERTOOLS_SERVICE_NAME``); like SAM's Globals, they override the shared ones.
    """
    ctx = _Context(
        parameters=_parameter_values(template, parameters),
        pseudo={},
        conditions=template.get("Conditions", {}),
    )
    properties = template["Resources"][function_id].get("Properties", {})
    own = properties.get("Environment", {}).get("Variables", {})
    return {**base_env, **{name: _as_string(ctx.resolve(value)) for name, value in own.items()}}
