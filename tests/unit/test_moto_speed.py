"""moto with the emulator shortcuts of infra/moto_speed.py (installed for every test process) answers
as moto does: every kind of attribute value reads back as written, the item size limit holds, and a
transaction that fails leaves every item it named as it was."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError
from moto import mock_aws

from infra import moto_speed

NAME = "moto-speed"
EVERY_KIND = {
    "pk": "ITEM#1",
    "sk": "A",
    "text": "₹ & <b>",
    "empty": "",
    "number": Decimal("-12345678901234567890.123"),
    "yes": True,
    "no": False,
    "nothing": None,
    "names": {"a", "b"},
    "numbers": {Decimal(1), Decimal("2.5")},
    "map": {"nested": {"deeper": [1, "two", {"three": None}], "flag": True}, "empty": {}},
    "list": [Decimal(0), "x", [], {"k": {"v"}}],
}


@pytest.fixture
def table() -> Iterator[object]:
    moto_speed.install()  # the suite's conftest did already; the test says what it relies on
    with mock_aws():  # inside the suite's moto session when one runs: a table of the test's own
        dynamodb = boto3.resource("dynamodb", region_name="ap-south-1")
        table = dynamodb.create_table(
            TableName=NAME,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "owner", "AttributeType": "S"},
                {"AttributeName": "at", "AttributeType": "S"},
                {"AttributeName": "rank", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByOwner",
                    "KeySchema": [
                        {"AttributeName": "owner", "KeyType": "HASH"},
                        {"AttributeName": "at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "ByRank",
                    "KeySchema": [{"AttributeName": "rank", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
            ],
        )
        yield table
        table.delete()


def test_every_kind_of_value_reads_back_as_written(table):
    table.put_item(Item=EVERY_KIND)

    assert table.get_item(Key={"pk": "ITEM#1", "sk": "A"})["Item"] == EVERY_KIND
    assert table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "ITEM#1"})[
        "Items"
    ] == [EVERY_KIND]


def test_binary_values_read_back_through_moto_s_own_serializer(table):
    item = {"pk": "ITEM#2", "sk": "B", "blob": Binary(b"\x00\xffpdf"), "blobs": {Binary(b"a"), Binary(b"b")}}
    item["map"] = {"inside": Binary(b"\x01")}
    table.put_item(Item=item)

    assert table.get_item(Key={"pk": "ITEM#2", "sk": "B"})["Item"] == item


def test_an_item_over_the_size_limit_is_refused_and_one_under_it_is_kept(table):
    table.put_item(Item={"pk": "ITEM#3", "sk": "A", "a": "x" * 200_000, "b": "y" * 190_000})

    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        table.put_item(Item={"pk": "ITEM#4", "sk": "A", "a": "x" * 200_000, "b": "y" * 210_000})

    assert "Item" in table.get_item(Key={"pk": "ITEM#3", "sk": "A"})
    assert "Item" not in table.get_item(Key={"pk": "ITEM#4", "sk": "A"})


def test_a_transaction_that_fails_leaves_every_item_as_it_was(table):
    table.put_item(Item={"pk": "ITEM#5", "sk": "A", "n": 1})
    table.put_item(Item={"pk": "ITEM#7", "sk": "A", "n": 1})
    client = table.meta.client

    with pytest.raises(ClientError, match="TransactionCanceledException"):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": NAME,
                        "Key": {"pk": "ITEM#5", "sk": "A"},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": 2},
                    }
                },
                {"Put": {"TableName": NAME, "Item": {"pk": "ITEM#6", "sk": "A"}}},
                {
                    "ConditionCheck": {
                        "TableName": NAME,
                        "Key": {"pk": "ITEM#7", "sk": "A"},
                        "ConditionExpression": "n = :nine",
                        "ExpressionAttributeValues": {":nine": 9},
                    }
                },
            ]
        )

    assert table.get_item(Key={"pk": "ITEM#5", "sk": "A"})["Item"]["n"] == 1
    assert "Item" not in table.get_item(Key={"pk": "ITEM#6", "sk": "A"})


def test_queries_answer_what_moto_answers_over_the_whole_table(table):
    # Given items in several partitions, some in the indexes (sparse), some not
    for p in range(3):
        for r in range(5):
            item = {"pk": f"P#{p}", "sk": f"S#{r}", "n": r}
            if r % 2 == 0:
                item |= {"owner": f"O#{r % 4}", "at": f"2026-10-0{r + 1}#{p}"}
            if r == 3:
                item["rank"] = Decimal("7.0") if p == 0 else Decimal(7)
            table.put_item(Item=item)
    query = table.query

    # A table query reads its partition only, in key order, both ways, page by page
    first = query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "P#1"}, Limit=2)
    rest = query(
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": "P#1"},
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [i["sk"] for i in first["Items"] + rest["Items"]] == [f"S#{r}" for r in range(5)]
    backwards = query(
        KeyConditionExpression="pk = :p AND sk >= :s",
        ExpressionAttributeValues={":p": "P#2", ":s": "S#3"},
        ScanIndexForward=False,
    )
    assert [i["sk"] for i in backwards["Items"]] == ["S#4", "S#3"]
    assert query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "P#9"})["Items"] == []

    # An index query finds its key's items across partitions, sorted by the index's range key
    owned = query(
        IndexName="ByOwner",
        KeyConditionExpression="#o = :o AND #at < :before",
        ExpressionAttributeNames={"#o": "owner", "#at": "at"},
        ExpressionAttributeValues={":o": "O#0", ":before": "2026-10-05#1"},
    )
    assert [(i["pk"], i["sk"]) for i in owned["Items"]] == [
        ("P#0", "S#0"),
        ("P#1", "S#0"),
        ("P#2", "S#0"),
        ("P#0", "S#4"),
    ]
    # and a number key matches by value, as DynamoDB compares numbers (7 == 7.0)
    ranked = query(
        IndexName="ByRank",
        KeyConditionExpression="#r = :r",
        ExpressionAttributeNames={"#r": "rank"},
        ExpressionAttributeValues={":r": 7},
    )
    assert sorted(i["pk"] for i in ranked["Items"]) == ["P#0", "P#1", "P#2"]


def test_the_action_names_of_a_response_class_are_listed_once() -> None:
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    first = responses.method_names_from_class(DynamoHandler)
    assert "get_item" in first and "transact_write_items" in first
    assert responses.method_names_from_class(DynamoHandler) is first  # cached, not listed again


def test_a_moto_package_is_named_as_its_service_from_one_listing() -> None:
    from botocore.session import Session
    from moto.core import utils

    assert utils.service_name_from_moto_package_name("dynamodb") == "dynamodb"
    assert utils.service_name_from_moto_package_name("resourcegroupstaggingapi") == "resourcegroupstaggingapi"
    assert utils.service_name_from_moto_package_name("sesv2") == "sesv2"
    assert utils.service_name_from_moto_package_name("cognitoidp") == "cognito-idp"  # moto drops hyphens
    assert utils.service_name_from_moto_package_name("not_a_service") == "not_a_service"
    listings = []
    original = Session.get_available_services
    Session.get_available_services = lambda self: listings.append(1) or original(self)  # type: ignore[method-assign]
    try:
        utils.service_name_from_moto_package_name("secretsmanager")
    finally:
        Session.get_available_services = original  # type: ignore[method-assign]
    assert listings == []  # listed once for the process, already


def test_an_expression_read_once_still_answers_each_request_with_its_own_names_and_values(table):
    # The same condition and update expression texts, with other names and values each time.
    condition = "attribute_not_exists(pk) OR #v < :v"
    update = "SET #v = :v, #n = if_not_exists(#n, :zero) + :one"
    for version in (1, 2, 3):
        table.update_item(
            Key={"pk": "ITEM#2", "sk": "A"},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#v": "version", "#n": "count"},
            ExpressionAttributeValues={":v": version, ":zero": 0, ":one": 1},
        )
    with pytest.raises(ClientError) as refused:
        table.update_item(
            Key={"pk": "ITEM#2", "sk": "A"},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#v": "version", "#n": "count"},
            ExpressionAttributeValues={":v": 2, ":zero": 0, ":one": 1},
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    table.update_item(  # the same texts naming another attribute
        Key={"pk": "ITEM#2", "sk": "A"},
        UpdateExpression=update,
        ConditionExpression=condition,
        ExpressionAttributeNames={"#v": "version", "#n": "tally"},
        ExpressionAttributeValues={":v": 4, ":zero": 10, ":one": 5},
    )
    item = table.get_item(Key={"pk": "ITEM#2", "sk": "A"})["Item"]
    assert (item["version"], item["count"], item["tally"]) == (4, 3, 15)
    for _ in range(2):  # a bad expression is refused every time, not remembered as read
        with pytest.raises(ClientError) as malformed:
            table.update_item(Key={"pk": "ITEM#2", "sk": "A"}, UpdateExpression="SET = :v")
        assert malformed.value.response["Error"]["Code"] == "ValidationException"
