"""template.yaml: lint-clean, the API contract's routes, exact IAM, logs, runtime, queues, tables,
and the decisions on the IaC scanner's findings (customer key, concurrency, DLQs, access logs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.cfn import REPO_ROOT, TEMPLATE_PATH, load_template

CFN_LINT = Path(sys.executable).parent / "cfn-lint"

# Every route of docs/api.md (customer, operator and webhook tables) plus the API docs routes.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/invoices"): "InvoiceApiFunction",
    ("GET", "/invoices/summary"): "InvoiceApiFunction",
    ("GET", "/invoices/export.csv"): "InvoiceApiFunction",
    ("GET", "/invoices/{id}"): "InvoiceApiFunction",
    ("GET", "/invoices/{id}/pdf"): "InvoiceApiFunction",
    ("POST", "/invoices/downloads"): "InvoiceApiFunction",
    ("GET", "/invoices/downloads/{id}"): "InvoiceApiFunction",
    ("POST", "/invoices/{id}/pay"): "InvoiceApiFunction",
    ("POST", "/invoices/{id}/disputes"): "InvoiceApiFunction",
    ("POST", "/invoices"): "InvoiceApiFunction",
    ("PATCH", "/invoices/{id}"): "InvoiceApiFunction",
    ("POST", "/invoices/{id}/issue"): "InvoiceApiFunction",
    ("POST", "/invoices/{id}/cancel"): "InvoiceApiFunction",
    ("DELETE", "/invoices/{id}"): "InvoiceApiFunction",
    # corrections.md
    ("POST", "/invoices/{id}/credit-notes"): "InvoiceApiFunction",
    ("GET", "/credit-notes"): "InvoiceApiFunction",
    ("GET", "/credit-notes/{id}"): "InvoiceApiFunction",
    ("GET", "/credit-notes/{id}/pdf"): "InvoiceApiFunction",
    ("GET", "/invoices/{id}/disputes"): "InvoiceApiFunction",
    ("POST", "/invoices/{id}/disputes/{dispute_id}/resolve"): "InvoiceApiFunction",
    ("POST", "/statements"): "InvoiceApiFunction",
    ("GET", "/statements/{id}"): "InvoiceApiFunction",
    # billing.md
    ("GET", "/accounts/{account_id}/billing-profile"): "InvoiceApiFunction",
    ("PUT", "/accounts/{account_id}/billing-profile"): "InvoiceApiFunction",
    ("GET", "/prices"): "InvoiceApiFunction",
    ("PUT", "/prices/{sku}"): "InvoiceApiFunction",
    ("POST", "/usage"): "InvoiceApiFunction",
    ("GET", "/usage/summary"): "InvoiceApiFunction",
    ("POST", "/billing-runs"): "InvoiceApiFunction",
    ("GET", "/billing-runs/{id}"): "InvoiceApiFunction",
    # billing.md, "Prepaid"
    ("POST", "/wallet/top-ups"): "InvoiceApiFunction",
    ("GET", "/wallet/top-ups"): "InvoiceApiFunction",
    ("GET", "/wallet/top-ups/{id}"): "InvoiceApiFunction",
    ("GET", "/wallet/balance"): "InvoiceApiFunction",
    ("GET", "/receipts/{id}/pdf"): "InvoiceApiFunction",
    ("GET", "/openapi.json"): "InvoiceApiFunction",
    ("GET", "/swagger"): "InvoiceApiFunction",
    ("POST", "/webhooks/razorpay"): "RazorpayWebhookFunction",
    # einvoice.md
    ("GET", "/e-invoices"): "InvoiceApiFunction",
    ("POST", "/invoices/{id}/e-invoice/retry"): "InvoiceApiFunction",
    ("POST", "/credit-notes/{id}/e-invoice/retry"): "InvoiceApiFunction",  # failed CRNs (beyond einvoice.md)
}
PUBLIC_ROUTES = {("POST", "/webhooks/razorpay"), ("GET", "/openapi.json"), ("GET", "/swagger")}

FUNCTIONS = {
    "InvoiceApiFunction": "invoice_api",
    "RazorpayWebhookFunction": "razorpay_webhook",
    "OverdueSweepFunction": "overdue_sweep",
    "PdfRendererFunction": "pdf_renderer",
    "RenderDeadLetterFunction": "render_dead_letters",
    "OutboxDispatcherFunction": "outbox_dispatcher",
    "EInvoiceRegistrarFunction": "einvoice_registrar",
    "BillingRunFunction": "billing_run",
}

# The exact grants per function: (function, resource as written in the template) -> actions.
# A change here must be deliberate: least privilege is part of the design.
INVOICES = {"Fn::GetAtt": ["InvoicesTable", "Arn"]}
CUSTOMER_KEY = str({"Ref": "KmsKeyArn"})  # granted only when a KmsKeyArn is given (UseCustomerKey)
EXPECTED_GRANTS: dict[str, dict[str, set[str]]] = {
    "InvoiceApiFunction": {
        str(INVOICES): {
            "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
            "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
        },
        str({"Fn::Sub": "${InvoicesTable.Arn}/index/AccountIndex"}): {"dynamodb:Query"},
        str({"Fn::Sub": "${InvoicesTable.Arn}/index/ListIndex"}): {"dynamodb:Query"},  # KeepListIndex
        str({"Fn::Sub": "${PdfBucket.Arn}/*"}): {"s3:GetObject"},
        str({"Fn::Sub": "${PdfBucket.Arn}/exports/*"}): {"s3:PutObject", "s3:AbortMultipartUpload"},
        str({"Fn::GetAtt": ["RenderQueue", "Arn"]}): {"sqs:SendMessage"},
        str({"Fn::GetAtt": ["BillingQueue", "Arn"]}): {"sqs:SendMessage"},  # POST /billing-runs plans there
        str({"Ref": "RazorpaySecret"}): {"secretsmanager:GetSecretValue"},
        str({"Ref": "CursorSigningSecret"}): {"secretsmanager:GetSecretValue"},
        str({"Ref": "GspSecret"}): {"secretsmanager:GetSecretValue"},  # cancel: IRN < 24 h
        str({"Fn::Sub": "${InvoicesTable.Arn}/index/EInvoiceIndex"}): {"dynamodb:Query"},
        CUSTOMER_KEY: {"kms:Decrypt", "kms:GenerateDataKey"},
    },
    "RazorpayWebhookFunction": {
        str(INVOICES): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        str({"Fn::GetAtt": ["IdempotencyTable", "Arn"]}): {
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
        },
        str({"Ref": "RazorpaySecret"}): {"secretsmanager:GetSecretValue"},
        CUSTOMER_KEY: {"kms:Decrypt", "kms:GenerateDataKey"},
    },
    "OverdueSweepFunction": {
        str(INVOICES): {
            "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
            "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem",
        },
        str({"Fn::Sub": "${InvoicesTable.Arn}/index/SweepIndex"}): {"dynamodb:Query"},
        str({"Fn::GetAtt": ["SweepQueue", "Arn"]}): {"sqs:SendMessage"},
        CUSTOMER_KEY: {"kms:Decrypt", "kms:GenerateDataKey"},
    },
    "PdfRendererFunction": {
        str(INVOICES): {
            "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
            "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem",  # a ledger backfill
        },
        str({"Fn::Sub": "${InvoicesTable.Arn}/index/AccountIndex"}): {"dynamodb:Query"},
        str({"Fn::Sub": "${InvoicesTable.Arn}/index/ListIndex"}): {"dynamodb:Query"},  # KeepListIndex
        str({"Fn::Sub": "${PdfBucket.Arn}/*"}): {"s3:GetObject", "s3:PutObject"},
        str({"Fn::Sub": "${PdfBucket.Arn}/exports/*"}): {"s3:AbortMultipartUpload"},
        CUSTOMER_KEY: {"kms:Decrypt"},
    },
    "RenderDeadLetterFunction": {str(INVOICES): {"dynamodb:UpdateItem"}, CUSTOMER_KEY: {"kms:Decrypt"}},
    # The billing run makes and issues invoices, plans from its index and fans out on its queue;
    # settling a prepaid invoice deletes the advances it draws to 0 (WALLET# keys only).
    "BillingRunFunction": {
        str(INVOICES): {
            "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
        },
        str({"Fn::Sub": "${InvoicesTable.Arn}/index/UnbilledIndex"}): {"dynamodb:Query"},
        str({"Fn::GetAtt": ["BillingQueue", "Arn"]}): {"sqs:SendMessage"},
        str({"Ref": "RazorpaySecret"}): {"secretsmanager:GetSecretValue"},
        str({"Fn::GetAtt": ["BillingDeadLetterQueue", "Arn"]}): {"sqs:SendMessage"},
        CUSTOMER_KEY: {"kms:Decrypt", "kms:GenerateDataKey"},
    },
    # Side effects leave the functions that commit them: only the dispatcher publishes, mails,
    # queues renders for commits and asks Razorpay for refunds.
    "OutboxDispatcherFunction": {
        # PutItem: relinking a payment link commits the invoice with its new Razorpay invoice;
        # Query: the poll reads the table's OUTBOX#{shard} partitions (no index)
        str(INVOICES): {
            "dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        str({"Fn::GetAtt": ["InvoicingEventBus", "Arn"]}): {"events:PutEvents"},
        str({"Fn::GetAtt": ["RenderQueue", "Arn"]}): {"sqs:SendMessage"},
        str({"Fn::GetAtt": ["EInvoiceQueue", "Arn"]}): {"sqs:SendMessage"},
        str({"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"}): {
            "ses:SendEmail", "ses:SendRawEmail",
        },
        str({"Ref": "RazorpaySecret"}): {"secretsmanager:GetSecretValue"},
        str({"Fn::GetAtt": ["OutboxDeadLetterQueue", "Arn"]}): {"sqs:SendMessage"},
        CUSTOMER_KEY: {"kms:Decrypt", "kms:GenerateDataKey"},
    },
    "EInvoiceRegistrarFunction": {
        str(INVOICES): {
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem",
        },
        str({"Ref": "GspSecret"}): {"secretsmanager:GetSecretValue"},
        str({"Fn::GetAtt": ["EInvoiceQueue", "Arn"]}): {"sqs:SendMessage"},
        CUSTOMER_KEY: {"kms:Decrypt", "kms:GenerateDataKey"},
    },
}  # fmt: skip

# Customer data at rest: the customer's key when KmsKeyArn is given, AWS's keys otherwise.
WITH_CUSTOMER_KEY = {"Fn::If": ["UseCustomerKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}

# The scanner's (Checkov's) checks the template may skip, each with its reason in the template:
# DLQs for invocations that are not asynchronous, a VPC for functions with nothing private to reach,
# a customer key for an environment without secrets, concurrency caps that would protect nothing,
# and access logs of the access-log bucket. Encryption checks are never skipped.
SKIPPABLE_CHECKS = {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_18"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template["Resources"].items() if res["Type"] == resource_type}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        lid: res["Properties"] for lid, res in resources_of(template, "AWS::Serverless::Function").items()
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def unless_no_value(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement, or the statement an ``!If [condition, statement, !Ref AWS::NoValue]`` grants."""
    if "Fn::If" in statement:
        _, granted, otherwise = statement["Fn::If"]
        assert otherwise == {"Ref": "AWS::NoValue"}, statement
        return granted
    return statement


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        unless_no_value(statement)
        for policy in function.get("Policies", [])
        for statement in policy["Statement"]
    ]


def http_api_events(template: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    routes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for logical_id, function in functions(template).items():
        for event in function.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                key = (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
                assert key not in routes, f"route {key} declared twice"
                routes[key] = (logical_id, event["Properties"])
    return routes


def test_template_is_cfn_lint_clean() -> None:
    # When
    result = subprocess.run(
        [str(CFN_LINT), "--format", "parseable", "--", str(TEMPLATE_PATH)],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    )  # fmt: skip

    # Then
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_sections_come_in_house_order() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    sections = ["\nParameters:", "\nGlobals:", "\nResources:", "\nOutputs:"]
    assert [text.index(section) for section in sections] == sorted(text.index(s) for s in sections)
    banners = ["# TABLES", "# STORAGE & QUEUES", "# EVENTS", "# SECRETS", "# FUNCTIONS", "# API", "# LOGS"]
    positions = [text.index(f"  {banner}\n") for banner in banners]
    assert positions == sorted(positions)


def test_every_documented_route_is_an_http_api_event_of_its_function(template: dict[str, Any]) -> None:
    routes = http_api_events(template)

    assert set(routes) == set(ROUTES)
    for route, (function, properties) in routes.items():
        assert function == ROUTES[route], route
        assert properties["ApiId"] == {"Ref": "InvoiceHttpApi"}, route


def test_only_webhook_and_api_docs_routes_skip_the_jwt_authorizer(template: dict[str, Any]) -> None:
    for route, (_, properties) in http_api_events(template).items():
        authorizer = properties.get("Auth", {}).get("Authorizer")
        if route in PUBLIC_ROUTES:
            assert authorizer == "NONE", route
        else:
            assert authorizer is None, f"{route} must use the default JWT authorizer"


def test_http_api_requires_a_jwt_by_default(template: dict[str, Any]) -> None:
    auth = template["Resources"]["InvoiceHttpApi"]["Properties"]["Auth"]

    assert auth["DefaultAuthorizer"] == "JwtAuthorizer"
    authorizer = auth["Authorizers"]["JwtAuthorizer"]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    assert authorizer["JwtConfiguration"] == {
        "issuer": {"Ref": "JwtIssuer"},
        "audience": [{"Ref": "JwtAudience"}],
    }


def test_functions_grant_exactly_the_actions_they_use(template: dict[str, Any]) -> None:
    for logical_id, function in functions(template).items():
        grants: dict[str, set[str]] = {}
        for statement in statements(function):
            assert statement["Effect"] == "Allow"
            for resource in as_list(statement["Resource"]):
                grants.setdefault(str(resource), set()).update(as_list(statement["Action"]))
        assert grants == EXPECTED_GRANTS[logical_id], logical_id


def test_no_policy_grants_scan_or_wildcard_actions(template: dict[str, Any]) -> None:
    for logical_id, function in functions(template).items():
        for policy in function.get("Policies", []):
            assert isinstance(policy, dict) and "Statement" in policy, f"{logical_id}: inline statements only"
        for statement in statements(function):
            for action in as_list(statement["Action"]):
                assert action != "dynamodb:Scan", logical_id
                assert "*" not in action, f"{logical_id}: {action}"
            assert "*" not in as_list(statement["Resource"]), logical_id

    # Resource policies may only use a wildcard action to deny (e.g. TLS-only on the bucket).
    for logical_id, resource in template["Resources"].items():
        document = resource.get("Properties", {}).get("PolicyDocument")
        for statement in (document or {}).get("Statement", []):
            wildcard = any("*" in action for action in as_list(statement.get("Action", [])))
            assert not wildcard or statement["Effect"] == "Deny", logical_id


def test_every_policy_action_is_a_real_iam_action(template: dict[str, Any]) -> None:
    # cfn-lint does not check the inline policies of SAM functions; use its IAM action catalogue.
    # (Imported here: cfn-lint takes ~1 s to import, which every xdist worker would pay collecting.)
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource

    catalogue = load_resource(AdditionalSpecs, "Policies.json")
    for logical_id, function in functions(template).items():
        for statement in statements(function):
            for action in as_list(statement["Action"]):
                service, _, name = action.lower().partition(":")
                assert name in catalogue[service]["Actions"], f"{logical_id}: {action} is not an IAM action"


def test_pdf_bucket_is_private_encrypted_and_tls_only(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket = resources["PdfBucket"]["Properties"]

    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireExports"]["Prefix"] == "exports/"
    assert rules["ExpireExports"]["ExpirationInDays"] == 7
    assert rules["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    (statement,) = resources["PdfBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_function_has_its_own_log_group_with_retention(template: dict[str, Any]) -> None:
    log_groups = resources_of(template, "AWS::Logs::LogGroup")
    used: set[str] = set()
    for logical_id, function in functions(template).items():
        log_group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_group_id not in used, logical_id
        used.add(log_group_id)
        log_group = log_groups[log_group_id]["Properties"]
        assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/" + function["FunctionName"]["Fn::Sub"]}


def test_functions_run_python_3_13_on_arm64_with_the_shared_layer(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]

    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    assert function_globals["LoggingConfig"]["LogFormat"] == "JSON"
    assert function_globals["Layers"] == [{"Ref": "SharedLayer"}]
    for logical_id, function in functions(template).items():
        assert function.get("Runtime", "python3.13") == "python3.13", logical_id
        assert function.get("Architectures", ["arm64"]) == ["arm64"], logical_id
        assert function["Handler"] == "handler.lambda_handler", logical_id
        assert function["CodeUri"] == f"functions/{FUNCTIONS[logical_id]}/", logical_id
        assert (REPO_ROOT / function["CodeUri"]).is_dir(), logical_id
        assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"], logical_id
    assert set(functions(template)) == set(FUNCTIONS)

    layer = template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


def test_shared_environment_names_every_resource(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]

    assert {name: value for name, value in variables.items() if isinstance(value, dict)} == {
        "INVOICES_TABLE": {"Ref": "InvoicesTable"},
        "LIST_INDEX": {"Fn::If": ["KeepingListIndex", "ListIndex", "AccountIndex"]},
        "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
        "PDF_BUCKET": {"Ref": "PdfBucket"},
        "RENDER_QUEUE_URL": {"Ref": "RenderQueue"},
        "SWEEP_QUEUE_URL": {"Ref": "SweepQueue"},
        "BILLING_QUEUE_URL": {"Ref": "BillingQueue"},
        "EVENT_BUS_NAME": {"Ref": "InvoicingEventBus"},
        "RAZORPAY_SECRET_NAME": {"Ref": "RazorpaySecret"},
        "CURSOR_SECRET_NAME": {"Ref": "CursorSigningSecret"},
        "INVOICE_NUMBER_PREFIX": {"Ref": "InvoiceNumberPrefix"},
        "SUPPLIER_JSON": {"Ref": "SupplierJson"},
        "ACCOUNT_ID_CLAIM": {"Ref": "AccountIdClaim"},
        "REMINDER_DAYS_PAST_DUE": {"Ref": "ReminderDaysPastDue"},
        "GRACE_PERIOD_DAYS": {"Ref": "GracePeriodDays"},
        "PAYMENT_TERMS_DAYS": {"Ref": "PaymentTermsDays"},
        "SES_SENDER": {"Ref": "SesSender"},
        "EINVOICING": {"Ref": "EInvoicing"},
        "AATO_ABOVE_10_CRORE": {"Ref": "AatoAbove10Crore"},
        "EINVOICE_QUEUE_URL": {"Ref": "EInvoiceQueue"},
        "GSP_SECRET_NAME": {"Ref": "GspSecret"},
        "GSP_BASE_URL": {"Ref": "GspBaseUrl"},
    }
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Invoicing"


def test_queues_outlast_their_consumers_and_redrive_to_a_dead_letter_queue(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    timeout = template["Globals"]["Function"]["Timeout"]
    consumers = {
        event["Properties"]["Queue"]["Fn::GetAtt"][0]: (logical_id, function.get("Timeout", timeout), event)
        for logical_id, function in functions(template).items()
        for event in function.get("Events", {}).values()
        if event["Type"] == "SQS"
    }

    assert set(consumers) == {
        "RenderQueue",
        "SweepQueue",
        "EInvoiceQueue",
        "BillingQueue",
        "RenderDeadLetterQueue",
    }
    dead_letters = consumers.pop("RenderDeadLetterQueue")
    assert dead_letters[0] == "RenderDeadLetterFunction"
    assert queues["RenderDeadLetterQueue"]["Properties"]["VisibilityTimeout"] >= 6 * dead_letters[1]
    assert dead_letters[2]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for queue_id, (function_id, function_timeout, event) in consumers.items():
        queue = queues[queue_id]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * function_timeout, queue_id
        assert queue["KmsMasterKeyId"] == WITH_CUSTOMER_KEY, queue_id
        assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
        dead_letter_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert queues[dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], function_id


def test_sweep_runs_daily_in_india_time(template: dict[str, Any]) -> None:
    events = functions(template)["OverdueSweepFunction"]["Events"]
    (schedule,) = [event["Properties"] for event in events.values() if event["Type"] == "ScheduleV2"]

    assert schedule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Kolkata"


def indexes_keys(template: dict[str, Any], name: str) -> list[dict[str, str]]:
    (index,) = [
        i
        for i in template["Resources"]["InvoicesTable"]["Properties"]["GlobalSecondaryIndexes"]
        if i.get("IndexName") == name
    ]
    return list(index["KeySchema"])


def test_the_functions_list_through_account_index_unless_a_stage_keeps_list_index(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["KeepListIndex"]["Default"] == "false"
    assert template["Globals"]["Function"]["Environment"]["Variables"]["LIST_INDEX"] == {
        "Fn::If": ["KeepingListIndex", "ListIndex", "AccountIndex"]
    }


def test_tables_have_the_designed_keys_and_indexes(template: dict[str, Any]) -> None:
    invoices = template["Resources"]["InvoicesTable"]["Properties"]
    idempotency = template["Resources"]["IdempotencyTable"]["Properties"]

    assert invoices["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {
        index["IndexName"]: index for index in invoices["GlobalSecondaryIndexes"] if "IndexName" in index
    }
    assert [key["AttributeName"] for key in indexes["AccountIndex"]["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    assert [key["AttributeName"] for key in indexes["SweepIndex"]["KeySchema"]] == ["sweep_pk", "sweep_sk"]
    assert [key["AttributeName"] for key in indexes["UnbilledIndex"]["KeySchema"]] == [
        "unbilled_pk",
        "unbilled_sk",
    ]
    # the billing run reads only which accounts' months are unbilled: the keys say it all
    assert indexes.pop("UnbilledIndex")["Projection"]["ProjectionType"] == "KEYS_ONLY"
    # The sweep reads invoices by the keys its index holds: invoice writes never copy them there.
    assert indexes.pop("SweepIndex")["Projection"]["ProjectionType"] == "KEYS_ONLY"
    # A list page is one Query: AccountIndex projects exactly what the repository reads.
    from invoicing.repository.records import LEGACY_LIST_ATTRIBUTES, LIST_ATTRIBUTES

    assert indexes.pop("AccountIndex")["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(LIST_ATTRIBUTES),
    }
    # ListIndex, what it replaced, only while KeepListIndex moves a stage over (same keys).
    (kept,) = [index["Fn::If"] for index in invoices["GlobalSecondaryIndexes"] if "Fn::If" in index]
    condition, legacy, otherwise = kept
    assert (condition, legacy["IndexName"], otherwise) == (
        "KeepingListIndex",
        "ListIndex",
        {"Ref": "AWS::NoValue"},
    )
    assert legacy["KeySchema"] == indexes_keys(template, "AccountIndex")
    assert legacy["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(LEGACY_LIST_ATTRIBUTES),
    }
    assert {index["Projection"]["ProjectionType"] for index in indexes.values()} == {"ALL"}
    assert idempotency["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert idempotency["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    for table in (invoices, idempotency):
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": {"Fn::If": ["UseCustomerKey", "KMS", {"Ref": "AWS::NoValue"}]},
            "KMSMasterKeyId": WITH_CUSTOMER_KEY,
        }
        assert {d["AttributeType"] for d in table["AttributeDefinitions"]} == {"S"}


def test_a_customer_key_when_given_encrypts_every_table_queue_secret_and_log_group(
    template: dict[str, Any],
) -> None:
    # Given: no key by default (AWS's keys), the customer's key when KmsKeyArn is set
    assert template["Parameters"]["KmsKeyArn"]["Default"] == ""
    assert template["Conditions"]["UseCustomerKey"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]
    }
    key_of = {
        "AWS::DynamoDB::Table": lambda properties: properties["SSESpecification"]["KMSMasterKeyId"],
        "AWS::SQS::Queue": lambda properties: properties["KmsMasterKeyId"],
        "AWS::SecretsManager::Secret": lambda properties: properties["KmsKeyId"],
        "AWS::Logs::LogGroup": lambda properties: properties["KmsKeyId"],
    }

    # Then
    for resource_type, key in key_of.items():
        resources = resources_of(template, resource_type)
        assert resources, resource_type
        for logical_id, resource in resources.items():
            assert key(resource["Properties"]) == WITH_CUSTOMER_KEY, logical_id
    for logical_id, queue in resources_of(template, "AWS::SQS::Queue").items():  # SSE-SQS without a key
        assert queue["Properties"]["SqsManagedSseEnabled"] == {
            "Fn::If": ["UseCustomerKey", {"Ref": "AWS::NoValue"}, True]
        }, logical_id


def test_functions_that_touch_queues_or_secrets_may_use_the_customer_key_only_when_one_is_given(
    template: dict[str, Any],
) -> None:
    for logical_id, function in functions(template).items():
        conditional = [
            statement["Fn::If"]
            for policy in function["Policies"]
            for statement in policy["Statement"]
            if "Fn::If" in statement
        ]
        actions = {action for statement in statements(function) for action in as_list(statement["Action"])}
        touches = (
            any(action.startswith(("sqs:", "secretsmanager:")) for action in actions)
            or "DeadLetterQueue" in function
            or any(event["Type"] == "SQS" for event in function.get("Events", {}).values())
        )
        expected = [("UseCustomerKey", {"Ref": "KmsKeyArn"})] if touches else []
        assert [(condition, granted["Resource"]) for condition, granted, _ in conditional] == expected, (
            logical_id
        )


def test_every_scanner_skip_is_an_allowed_check_with_its_reason(template: dict[str, Any]) -> None:
    skips = {
        logical_id: resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        for logical_id, resource in template["Resources"].items()
    }

    assert any(skips.values())
    for logical_id, entries in skips.items():
        for entry in entries:
            assert entry["id"] in SKIPPABLE_CHECKS, f"{logical_id}: {entry['id']} is not to be skipped"
            assert len(entry.get("comment", "").split()) >= 8, f"{logical_id}: {entry['id']} needs its reason"
        assert len({entry["id"] for entry in entries}) == len(entries), logical_id


def test_webhook_and_renderer_concurrency_is_capped_by_parameters(template: dict[str, Any]) -> None:
    webhook = functions(template)["RazorpayWebhookFunction"]
    renderer = functions(template)["PdfRendererFunction"]
    (render_jobs,) = [event["Properties"] for event in renderer["Events"].values() if event["Type"] == "SQS"]

    assert webhook["ReservedConcurrentExecutions"] == {"Ref": "WebhookReservedConcurrency"}
    assert renderer["ReservedConcurrentExecutions"] == {"Ref": "RendererReservedConcurrency"}
    # the queue is polled no wider than the reservation, or batches would be throttled towards the DLQ
    assert render_jobs["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "RendererReservedConcurrency"}}
    assert template["Parameters"]["RendererReservedConcurrency"]["MinValue"] == 2  # SQS's floor
    assert template["Parameters"]["WebhookReservedConcurrency"]["MinValue"] == 1


def test_registrar_concurrency_is_capped_so_a_burst_reaches_the_gsp_at_most_that_wide(
    template: dict[str, Any],
) -> None:
    registrar = functions(template)["EInvoiceRegistrarFunction"]
    (jobs,) = [event["Properties"] for event in registrar["Events"].values() if event["Type"] == "SQS"]

    assert registrar["ReservedConcurrentExecutions"] == {"Ref": "RegistrarReservedConcurrency"}
    assert jobs["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "RegistrarReservedConcurrency"}}
    assert template["Parameters"]["RegistrarReservedConcurrency"]["MinValue"] == 2  # SQS's floor


def test_scheduled_sweep_runs_that_keep_failing_go_to_a_dead_letter_queue(template: dict[str, Any]) -> None:
    sweep = functions(template)["OverdueSweepFunction"]
    queue = template["Resources"]["SweepRunDeadLetterQueue"]["Properties"]

    assert sweep["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["SweepRunDeadLetterQueue", "Arn"]},
    }
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_pdf_bucket_access_is_logged_to_a_private_tls_only_log_bucket(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    log_bucket = resources["PdfAccessLogBucket"]["Properties"]
    policy = resources["PdfAccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    statements_by_sid = {statement["Sid"]: statement for statement in policy}

    assert resources["PdfBucket"]["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "PdfAccessLogBucket"},
        "LogFilePrefix": "pdf-bucket/",
    }
    assert resources["PdfBucket"]["DependsOn"] == "PdfAccessLogBucketPolicy"
    assert set(log_bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(log_bucket["PublicAccessBlockConfiguration"]) == 4
    (encryption,) = log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # all S3 logs accept
    assert log_bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = log_bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "LogRetentionDays"}
    assert statements_by_sid["AllowS3ServerAccessLogs"] == {
        "Sid": "AllowS3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": {"Fn::Sub": "${PdfAccessLogBucket.Arn}/pdf-bucket/*"},
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }
    deny = statements_by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_load_template_turns_every_short_tag_into_its_long_form(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "tags.yaml"
    path.write_text(
        "\n".join(
            [
                "Ref: !Ref Stage",
                "GetAttDotted: !GetAtt Queue.Arn",
                "GetAttNested: !GetAtt Db.Endpoint.Address",
                "GetAttList: !GetAtt [Queue, Arn]",
                "Sub: !Sub 'x-${Stage}'",
                "SubList: !Sub ['${A}', {A: !Ref Stage}]",
                "Join: !Join ['-', [a, b]]",
                "If: !If [IsProd, 1, 2]",
                "Equals: !Equals [!Ref Stage, prod]",
                "Not: !Not [!Condition IsProd]",
                "And: !And [!Condition A, !Condition B]",
                "Or: !Or [!Condition A, !Condition B]",
                "Select: !Select [0, !GetAZs '']",
                "Split: !Split [',', 'a,b']",
                "FindInMap: !FindInMap [M, K, V]",
                "ImportValue: !ImportValue shared-vpc",
                "Base64: !Base64 hello",
                "Cidr: !Cidr ['10.0.0.0/16', 2, 8]",
            ]
        ),
        encoding="utf-8",
    )

    # When
    parsed = load_template(path)

    # Then
    assert parsed == {
        "Ref": {"Ref": "Stage"},
        "GetAttDotted": {"Fn::GetAtt": ["Queue", "Arn"]},
        "GetAttNested": {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
        "GetAttList": {"Fn::GetAtt": ["Queue", "Arn"]},
        "Sub": {"Fn::Sub": "x-${Stage}"},
        "SubList": {"Fn::Sub": ["${A}", {"A": {"Ref": "Stage"}}]},
        "Join": {"Fn::Join": ["-", ["a", "b"]]},
        "If": {"Fn::If": ["IsProd", 1, 2]},
        "Equals": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "Not": {"Fn::Not": [{"Condition": "IsProd"}]},
        "And": {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
        "Or": {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
        "Select": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "Split": {"Fn::Split": [",", "a,b"]},
        "FindInMap": {"Fn::FindInMap": ["M", "K", "V"]},
        "ImportValue": {"Fn::ImportValue": "shared-vpc"},
        "Base64": {"Fn::Base64": "hello"},
        "Cidr": {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
    }


def test_load_template_hands_each_caller_its_own_copy() -> None:
    first = load_template()
    first["Resources"].clear()

    assert load_template()["Resources"]


def test_the_dispatcher_follows_new_outbox_items_on_the_table_s_stream(template: dict[str, Any]) -> None:
    invoices = template["Resources"]["InvoicesTable"]["Properties"]
    assert invoices["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}

    events = functions(template)["OutboxDispatcherFunction"]["Events"]
    (stream,) = [event["Properties"] for event in events.values() if event["Type"] == "DynamoDB"]
    assert stream["Stream"] == {"Fn::GetAtt": ["InvoicesTable", "StreamArn"]}
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["OutboxDeadLetterQueue", "Arn"]
    }
    (pattern,) = stream["FilterCriteria"]["Filters"]
    assert '"INSERT"' in pattern["Pattern"] and '"outbox"' in pattern["Pattern"]
    (sweep,) = [event["Properties"] for event in events.values() if event["Type"] == "ScheduleV2"]
    assert sweep["ScheduleExpression"].startswith("rate(")


def test_every_dead_letter_queue_has_an_alarm_that_tells_the_alarm_topic(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    dead_letter_queues = (
        {
            queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for queue in queues.values()
            if "RedrivePolicy" in queue["Properties"]
        }
        | {
            function["Properties"]["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][
                0
            ]  # asynchronous invocations
            for function in resources_of(template, "AWS::Serverless::Function").values()
            if "DeadLetterQueue" in function["Properties"]
        }
        | {"OutboxDeadLetterQueue"}
    )  # the outbox stream's on-failure destination
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    watched = {}
    for logical_id, alarm in alarms.items():
        properties = alarm["Properties"]
        (dimension,) = properties["Dimensions"]
        assert dimension["Name"] == "QueueName", logical_id
        watched[dimension["Value"]["Fn::GetAtt"][0]] = properties
        assert properties["Namespace"] == "AWS/SQS"
        assert (
            properties["Threshold"] == 1
            and properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        )
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert properties["TreatMissingData"] == "notBreaching"

    assert set(watched) == dead_letter_queues == {
        "RenderDeadLetterQueue", "SweepDeadLetterQueue", "SweepRunDeadLetterQueue", "OutboxDeadLetterQueue",
        "BillingDeadLetterQueue", "EInvoiceDeadLetterQueue",
    }  # fmt: skip
    # a consumed queue is watched by what it receives, the others by what waits in them
    assert watched["RenderDeadLetterQueue"]["MetricName"] == "NumberOfMessagesReceived"
    assert watched["SweepDeadLetterQueue"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert watched["EInvoiceDeadLetterQueue"]["MetricName"] == "ApproximateNumberOfMessagesVisible"


# ------------------------------------------------------------------------------------- SnapStart
def test_snapstart_is_a_parameter_enabled_by_default_and_off_for_development_stacks(
    template: dict[str, Any],
) -> None:
    import tomllib

    parameter = template["Parameters"]["SnapStart"]
    assert (parameter["Type"], parameter["Default"], parameter["AllowedValues"]) == (
        "String", "Enabled", ["Enabled", "Disabled"],
    )  # fmt: skip
    assert template["Conditions"]["UseSnapStart"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "Enabled"]}
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert "SnapStart=Disabled" in config["default"]["deploy"]["parameters"]["parameter_overrides"]
    assert "SnapStart" not in config["prod"]["deploy"]["parameters"]["parameter_overrides"]


def test_every_function_runs_published_versions_through_an_alias_with_snapstart_when_enabled(
    template: dict[str, Any],
) -> None:
    # Every function publishes a version per change behind the alias "live", which every trigger
    # (the HTTP API's integrations among them) invokes: SAM points event sources at the alias.
    function_globals = template["Globals"]["Function"]
    assert function_globals["AutoPublishAlias"] == "live"
    assert function_globals["SnapStart"] == {
        "ApplyOn": {"Fn::If": ["UseSnapStart", "PublishedVersions", "None"]}
    }
    for logical_id, function in functions(template).items():
        assert "AutoPublishAlias" not in function and "SnapStart" not in function, logical_id
        assert "ProvisionedConcurrencyConfig" not in function, logical_id  # SnapStart excludes it
        assert "FileSystemConfigs" not in function, logical_id  # ... and EFS
        assert function.get("EphemeralStorage", {"Size": 512})["Size"] <= 512, logical_id  # ... and more disk
    # No integration bypasses the alias: the API's routes are SAM events, not hand-made integrations.
    api = template["Resources"]["InvoiceHttpApi"]["Properties"]
    assert "DefinitionBody" not in api and "DefinitionUri" not in api
    http_events = [
        event
        for function in functions(template).values()
        for event in function.get("Events", {}).values()
        if event["Type"] == "HttpApi"
    ]
    assert http_events and all(
        event["Properties"]["ApiId"] == {"Ref": "InvoiceHttpApi"} for event in http_events
    )
