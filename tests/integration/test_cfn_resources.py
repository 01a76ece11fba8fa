"""infra.cfn.create_resources builds, under moto, exactly the resources template.yaml declares."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from infra.cfn import (
    TemplateResolutionError,
    create_resources,
    function_environment,
    load_template,
    physical_names,
)

REGION = "ap-south-1"
SHARED_ENV_NAMES = {
    "INVOICES_TABLE", "LIST_INDEX", "IDEMPOTENCY_TABLE", "PDF_BUCKET", "RENDER_QUEUE_URL", "SWEEP_QUEUE_URL",
    "BILLING_QUEUE_URL",
    "EVENT_BUS_NAME", "RAZORPAY_SECRET_NAME", "CURSOR_SECRET_NAME", "INVOICE_NUMBER_PREFIX",
    "SUPPLIER_JSON", "ACCOUNT_ID_CLAIM",
    "REMINDER_DAYS_PAST_DUE", "GRACE_PERIOD_DAYS", "PAYMENT_TERMS_DAYS", "SES_SENDER",
    "POWERTOOLS_METRICS_NAMESPACE",
    "EINVOICING", "AATO_ABOVE_10_CRORE", "EINVOICE_QUEUE_URL", "GSP_SECRET_NAME", "GSP_BASE_URL",
}  # fmt: skip


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, and nothing that could point boto3 at a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws(aws_credentials: None, moto_stack) -> None:  # type: ignore[no-untyped-def]
    """moto without any resource (the shared stack is wiped; the next ``resources`` builds it again)."""
    moto_stack.wipe()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def _built() -> dict[str, Any]:
    return {}


@pytest.fixture
def env(
    aws_credentials: None, moto_stack: Any, template: dict[str, Any], _built: dict[str, Any]
) -> dict[str, str]:
    """What ``create_resources`` makes on an empty moto, for tests that only read it: made once for
    the module, and again whenever a test in between wiped moto or built the shared stack."""
    if _built.get("generation") != moto_stack.generation:
        moto_stack.wipe()
        _built.update(env=create_resources(template), generation=moto_stack.generation)
    return dict(_built["env"])


def table_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def test_invoices_table_matches_the_template(env: dict[str, str], template: dict[str, Any]) -> None:
    # Given
    declared = table_properties(template, "InvoicesTable")

    # When
    table = boto3.client("dynamodb").describe_table(TableName=env["INVOICES_TABLE"])["Table"]

    # Then
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"AccountIndex", "SweepIndex", "OutboxIndex", "EInvoiceIndex", "UnbilledIndex"}
    for index in declared["GlobalSecondaryIndexes"]:
        if "Fn::If" in index:  # ListIndex, only while KeepListIndex moves a stage over
            continue
        assert indexes[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert indexes[index["IndexName"]]["Projection"] == index["Projection"]


def test_idempotency_table_has_its_key_and_ttl(env: dict[str, str], template: dict[str, Any]) -> None:
    client = boto3.client("dynamodb")

    table = client.describe_table(TableName=env["IDEMPOTENCY_TABLE"])["Table"]
    ttl = client.describe_time_to_live(TableName=env["IDEMPOTENCY_TABLE"])["TimeToLiveDescription"]

    assert table["KeySchema"] == table_properties(template, "IdempotencyTable")["KeySchema"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


def test_pdf_bucket_is_private_encrypted_and_expires_exports(env: dict[str, str]) -> None:
    s3 = boto3.client("s3")
    bucket = env["PDF_BUCKET"]

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    rules = {rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}

    assert set(block.values()) == {True}
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert rules["ExpireExports"]["Filter"] == {"Prefix": "exports/"}
    assert rules["ExpireExports"]["Expiration"] == {"Days": 7}
    assert rules["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == REGION


@pytest.mark.parametrize(
    ("env_name", "queue_id", "dead_letter_id"),
    [("RENDER_QUEUE_URL", "RenderQueue", "RenderDeadLetterQueue"),
     ("SWEEP_QUEUE_URL", "SweepQueue", "SweepDeadLetterQueue"),
     ("BILLING_QUEUE_URL", "BillingQueue", "BillingDeadLetterQueue")],
)  # fmt: skip
def test_queues_redrive_to_their_dead_letter_queue(
    env: dict[str, str], template: dict[str, Any], env_name: str, queue_id: str, dead_letter_id: str
) -> None:
    sqs = boto3.client("sqs")
    declared = template["Resources"][queue_id]["Properties"]
    dead_letter_name = physical_names(template)[dead_letter_id]

    attributes = sqs.get_queue_attributes(QueueUrl=env[env_name], AttributeNames=["All"])["Attributes"]
    dead_letter_url = sqs.get_queue_url(QueueName=dead_letter_name)["QueueUrl"]
    dead_letter = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["All"])["Attributes"]

    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter["QueueArn"],
        "maxReceiveCount": 5,
    }
    assert attributes["VisibilityTimeout"] == str(declared["VisibilityTimeout"])
    assert dead_letter["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_event_bus_and_secret_exist(env: dict[str, str]) -> None:
    bus = boto3.client("events").describe_event_bus(Name=env["EVENT_BUS_NAME"])
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=env["RAZORPAY_SECRET_NAME"])

    assert bus["Name"] == env["EVENT_BUS_NAME"]
    assert json.loads(secret["SecretString"]) == {
        "key_id": "",
        "key_secret": "",
        "webhook_secret": "",
        "previous_webhook_secret": "",
    }


def test_environment_resolves_globals_to_local_names_and_parameter_defaults(
    env: dict[str, str], template: dict[str, Any]
) -> None:
    names = physical_names(template)

    assert set(env) == SHARED_ENV_NAMES
    assert env["INVOICES_TABLE"] == names["InvoicesTable"] == "invoicing-local-InvoicesTable"
    assert env["LIST_INDEX"] == "AccountIndex"  # KeepListIndex defaults to "false"
    assert env["PDF_BUCKET"] == "invoicing-local-pdfbucket"
    assert env["RENDER_QUEUE_URL"].endswith("/invoicing-local-RenderQueue")
    assert env["INVOICE_NUMBER_PREFIX"] == "INV"
    assert env["ACCOUNT_ID_CLAIM"] == "account_id"
    assert env["REMINDER_DAYS_PAST_DUE"] == "3,7"
    assert env["GRACE_PERIOD_DAYS"] == "7"
    assert env["PAYMENT_TERMS_DAYS"] == "15"
    assert json.loads(env["SUPPLIER_JSON"])["gstin"] == "27AAPFU0939F1ZV"
    assert "AWS_ACCESS_KEY_ID" not in env


def test_creating_twice_is_harmless_and_honours_overrides(aws: None, template: dict[str, Any]) -> None:
    # Given
    first = create_resources(template)
    secret = json.dumps({"key_id": "rzp_test_x", "key_secret": "s", "webhook_secret": "w"})

    # When
    second = create_resources(
        template,
        parameters={"InvoiceNumberPrefix": "TST"},
        secret_values={"RazorpaySecret": secret},
    )

    # Then
    assert second == first | {"INVOICE_NUMBER_PREFIX": "TST"}
    stored = boto3.client("secretsmanager").get_secret_value(SecretId=second["RAZORPAY_SECRET_NAME"])
    assert stored["SecretString"] == secret
    assert len(boto3.client("dynamodb").list_tables()["TableNames"]) == 2


def test_creates_resources_on_a_moto_server_endpoint(aws: None, template: dict[str, Any]) -> None:
    # Given: the local stack's setup, a moto server on loopback
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        # When
        env = create_resources(template, endpoint_url=endpoint, stack="invoicing-it-server")

        # Then
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        table = dynamodb.describe_table(TableName=env["INVOICES_TABLE"])["Table"]
        assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {
            "AccountIndex",
            "SweepIndex",
            "OutboxIndex",
            "EInvoiceIndex",
            "UnbilledIndex",
        }
        sqs = boto3.client("sqs", endpoint_url=endpoint)
        sqs.send_message(QueueUrl=env["RENDER_QUEUE_URL"], MessageBody="{}")
        assert sqs.receive_message(QueueUrl=env["RENDER_QUEUE_URL"])["Messages"]
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=5)
        server.stop()


def test_function_environment_adds_the_functions_own_variables(
    env: dict[str, str], template: dict[str, Any]
) -> None:
    function_env = function_environment(template, "PdfRendererFunction", env)

    assert function_env == env | {"POWERTOOLS_SERVICE_NAME": "pdf-renderer"}


def test_a_parameter_without_default_must_be_passed_in(aws: None, template: dict[str, Any]) -> None:
    # Given: a shared variable that refers to JwtIssuer, which has no Default
    variant = copy.deepcopy(template)
    variant["Globals"]["Function"]["Environment"]["Variables"]["JWT_ISSUER"] = {"Ref": "JwtIssuer"}

    # Then
    with pytest.raises(TemplateResolutionError, match="JwtIssuer"):
        create_resources(variant)
    env = create_resources(variant, parameters={"JwtIssuer": "https://issuer.example.com/"})
    assert env["JWT_ISSUER"] == "https://issuer.example.com/"


def test_queues_take_the_customer_key_only_when_one_is_given(aws: None, template: dict[str, Any]) -> None:
    # Given: the template's UseCustomerKey condition, false by default (KmsKeyArn empty)
    key = "arn:aws:kms:ap-south-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    sqs = boto3.client("sqs")

    # When
    default = create_resources(template, stack="invoicing-aws-keys")
    customer = create_resources(template, stack="invoicing-customer-key", parameters={"KmsKeyArn": key})

    # Then: SQS-managed encryption without a key, the customer's key with one
    aws_keys = sqs.get_queue_attributes(QueueUrl=default["RENDER_QUEUE_URL"], AttributeNames=["All"])
    customer_key = sqs.get_queue_attributes(QueueUrl=customer["RENDER_QUEUE_URL"], AttributeNames=["All"])
    assert aws_keys["Attributes"]["SqsManagedSseEnabled"] == "true"
    assert "KmsMasterKeyId" not in aws_keys["Attributes"]
    assert customer_key["Attributes"]["KmsMasterKeyId"] == key
