"""The sandbox writes moto's DynamoDB item answers as JSON directly; botocore must parse them exactly as it
parses moto's own serialisation, for every item operation and attribute type the stores use (and binary,
which falls back to moto's path)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoResult

from sandbox import local

ITEM = {
    "pk": {"S": "order#1"},
    "sk": {"S": "head"},
    "stage": {"S": "submitted"},
    "at": {"S": "2026-12-02T10:00:00+00:00"},
    "units": {"N": "3"},
    "price": {"N": "12.345"},
    "live": {"BOOL": True},
    "gone": {"NULL": True},
    "skus": {"SS": ["A-1", "B-2"]},
    "sizes": {"NS": ["1", "2.5"]},
    "lines": {"L": [{"M": {"sku": {"S": "A-1"}, "qty": {"N": "2"}}}, {"S": "note"}]},
    "history": {"M": {"placed": {"S": "2026-12-02T09:00:00+00:00"}, "tries": {"N": "0"}}},
}


def _session() -> list[Any]:
    """Every item operation once or more, answers as boto3 returns them (without request metadata)."""
    client = boto3.client("dynamodb", region_name="eu-west-2")
    client.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "stage", "at")],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-stage",
                "KeySchema": [
                    {"AttributeName": "stage", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    answers: list[Any] = []

    def keep(answer: dict[str, Any]) -> None:
        answer.pop("ResponseMetadata", None)
        answers.append(answer)

    for n in range(5):
        keep(client.put_item(TableName="ledger", Item={**ITEM, "pk": {"S": f"order#{n}"}, "at": {"S": f"t{n}"}}))
    keep(client.put_item(TableName="ledger", Item={**ITEM, "blob": {"B": b"\x00\xff"}}, ReturnValues="ALL_OLD"))
    keep(client.get_item(TableName="ledger", Key={"pk": {"S": "order#1"}, "sk": {"S": "head"}}))
    keep(client.get_item(TableName="ledger", Key={"pk": {"S": "order#9"}, "sk": {"S": "head"}}))
    keep(client.get_item(TableName="ledger", Key={"pk": {"S": "order#2"}, "sk": {"S": "head"}}, ConsistentRead=True))
    for returns in ("NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD"):
        keep(
            client.update_item(
                TableName="ledger",
                Key={"pk": {"S": "order#3"}, "sk": {"S": "head"}},
                UpdateExpression="SET units = units + :one, history.#s = :at ADD skus :new REMOVE gone",
                ExpressionAttributeNames={"#s": "shipped"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":at": {"S": "t9"}, ":new": {"SS": ["C-3"]}},
                ReturnValues=returns,
            )
        )
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as refused:
        client.update_item(
            TableName="ledger",
            Key={"pk": {"S": "order#3"}, "sk": {"S": "head"}},
            UpdateExpression="SET stage = :s",
            ConditionExpression="stage = :other",
            ExpressionAttributeValues={":s": {"S": "x"}, ":other": {"S": "y"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    answers.append(refused.value.response.get("Item"))
    keep(
        client.query(
            TableName="ledger",
            IndexName="by-stage",
            KeyConditionExpression="stage = :s",
            ExpressionAttributeValues={":s": {"S": "submitted"}},
            Limit=2,
        )
    )
    keep(
        client.query(
            TableName="ledger",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "order#1"}},
            Select="COUNT",
        )
    )
    keep(client.scan(TableName="ledger", FilterExpression="units > :n", ExpressionAttributeValues={":n": {"N": "3"}}))
    keep(client.scan(TableName="ledger", ProjectionExpression="pk, lines[0]"))
    keep(
        client.batch_get_item(
            RequestItems={"ledger": {"Keys": [{"pk": {"S": f"order#{n}"}, "sk": {"S": "head"}} for n in (0, 1, 7)]}}
        )
    )
    keep(
        client.batch_write_item(
            RequestItems={
                "ledger": [
                    {"PutRequest": {"Item": {**ITEM, "pk": {"S": "order#8"}}}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "order#0"}, "sk": {"S": "head"}}}},
                ]
            }
        )
    )
    keep(
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "ledger", "Item": {**ITEM, "pk": {"S": "order#10"}}}},
                {
                    "Update": {
                        "TableName": "ledger",
                        "Key": {"pk": {"S": "order#4"}, "sk": {"S": "head"}},
                        "UpdateExpression": "SET live = :f",
                        "ExpressionAttributeValues": {":f": {"BOOL": False}},
                    }
                },
            ]
        )
    )
    keep(
        client.transact_get_items(
            TransactItems=[{"Get": {"TableName": "ledger", "Key": {"pk": {"S": "order#4"}, "sk": {"S": "head"}}}}]
        )
    )
    keep(
        client.delete_item(
            TableName="ledger", Key={"pk": {"S": "order#4"}, "sk": {"S": "head"}}, ReturnValues="ALL_OLD"
        )
    )
    keep(
        client.get_item(
            TableName="ledger",
            Key={"pk": {"S": "order#1"}, "sk": {"S": "head"}},
            ProjectionExpression="history.placed, sizes",
        )
    )
    keep(
        boto3.resource("dynamodb", region_name="eu-west-2")
        .Table("ledger")
        .get_item(Key={"pk": "order#2", "sk": "head"})
    )
    return answers


def test_botocore_reads_the_json_answers_as_it_reads_motos(monkeypatch: pytest.MonkeyPatch) -> None:
    local._write_item_answers_as_json()
    patched = DynamoResult.execute_result
    monkeypatch.setattr(DynamoResult, "execute_result", patched._moto)  # type: ignore[attr-defined]
    with mock_aws():
        theirs = _session()
    monkeypatch.setattr(DynamoResult, "execute_result", patched)
    written: list[str] = []

    class CountingJson:
        """Counts the answers the fast path wrote, so the comparison is known to cover it."""

        @staticmethod
        def dumps(value: Any) -> str:
            text = json.dumps(value)
            written.append(text)
            return text

    monkeypatch.setattr(local, "json", CountingJson)
    with mock_aws():
        ours = _session()
    assert len(ours) == len(theirs) == 26
    for index, (mine, moto_s) in enumerate(zip(ours, theirs, strict=True)):
        assert mine == moto_s, index
    assert len(written) == 20  # the answers holding the binary item, and the refusal, take moto's path
    # The resource layer's numbers come back as Decimal either way.
    assert ours[-1]["Item"]["price"] == Decimal("12.345")


UPDATES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (
        "SET stage = :s, stage_at = if_not_exists(stage_at, :t), units = units + :n",
        {":s": "held", ":t": "t1", ":n": 2},
        {},
    ),
    (
        "SET picks = list_append(picks, :more), history.#p = :t",
        {":more": [{"sku": "C-3"}], ":t": "t2"},
        {"#p": "packed"},
    ),
    ("SET picks = list_append(:first, picks) REMOVE gone, history.tries", {":first": ["head"]}, {}),
    ("ADD skus :new, units :n DELETE sizes :drop", {":new": {"D-4"}, ":n": -1, ":drop": {Decimal("1")}}, {}),
    ("SET shipments.#parcel = :record, closed = :c", {":record": {"lines": [1, 2]}, ":c": True}, {"#parcel": "P1"}),
    ("SET shipments.#parcel.#state = :s", {":s": "shipped"}, {"#parcel": "P1", "#state": "state"}),
    ("SET units = units - :n", {":n": 1}, {}),
    # refusals: the same error, word for word
    ("SET stage = :s SET units = :n", {":s": "x", ":n": 1}, {}),
    ("SET history = :a, history.placed = :b", {":a": {}, ":b": "t"}, {}),
    ("SET nowhere_yet.deeper = :s", {":s": "x"}, {}),
    ("SET sk = :s", {":s": "other"}, {}),
    ("SET picks = list_append(not_there, :more)", {":more": [1]}, {}),
    ("SET = :s", {":s": "x"}, {}),
    ("SET stage = :undefined", {":s": "x"}, {}),
]


def _updates() -> list[Any]:
    """Every update expression above, twice (the second meets the parse the first left), on one item."""
    table = boto3.resource("dynamodb", region_name="eu-west-2").Table("ledger")
    table.put_item(
        Item={
            "pk": "order#1",
            "sk": "head",
            "units": 3,
            "picks": ["a"],
            "skus": {"A-1"},
            "sizes": {1, 2},
            "history": {"placed": "t0", "tries": 0},
            "gone": None,
            "shipments": {},
        }
    )
    outcomes: list[Any] = []
    for _round in range(2):
        for expression, values, names in UPDATES:
            try:
                answer = table.update_item(
                    Key={"pk": "order#1", "sk": "head"},
                    UpdateExpression=expression,
                    ExpressionAttributeValues=values,
                    **({"ExpressionAttributeNames": names} if names else {}),
                    ReturnValues="ALL_NEW",
                )
                outcomes.append(answer["Attributes"])
            except Exception as error:  # noqa: BLE001 - the refusal itself is what is compared
                outcomes.append((type(error).__name__, str(error)))
    return outcomes


def test_update_expressions_parsed_once_give_motos_items_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    local._parse_update_expressions_once()
    patched = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    patched_copy = validators.deepcopy
    checks = {
        (validators.ActionCountValidator, "verify_action_counts"),
        (validators.OverlappingPathsValidator, "check_for_overlapping_paths"),
        (DepthFirstTraverser, "nodes_to_be_processed"),
        (DepthFirstTraverser, "process"),
    }
    remembering = {(owner, name): getattr(owner, name) for owner, name in checks}
    monkeypatch.setattr(UpdateExpressionParser, "make", classmethod(patched._moto))
    monkeypatch.setattr(validators, "deepcopy", copy.deepcopy)
    for (owner, name), check in remembering.items():
        monkeypatch.setattr(owner, name, check._moto)
    with mock_aws():
        _session()
        theirs = _updates()
    monkeypatch.setattr(UpdateExpressionParser, "make", classmethod(patched))
    monkeypatch.setattr(validators, "deepcopy", patched_copy)
    for (owner, name), check in remembering.items():
        monkeypatch.setattr(owner, name, check)
    with mock_aws():
        _session()
        ours = _updates()
    refusals = [outcome for outcome in theirs if isinstance(outcome, tuple)]
    assert len(refusals) == 14  # seven refused expressions, twice each
    assert ours == theirs


def _queries() -> list[Any]:
    """Index and table queries over a table of 60 items in shuffled order: ranges, both directions, pages."""
    import random

    client = boto3.client("dynamodb", region_name="eu-west-2")
    _session()
    rng = random.Random(5)
    rows = [(n, rng.choice(["submitted", "released", "held"]), f"t{rng.randint(10, 99)}") for n in range(60)]
    rng.shuffle(rows)
    for n, stage, at in rows:
        for sk in ("head", "line#1"):
            client.put_item(
                TableName="ledger",
                Item={"pk": {"S": f"order#{n:03d}"}, "sk": {"S": sk}, "stage": {"S": stage}, "at": {"S": at}},
            )
    answers: list[Any] = []
    conditions = [
        ("stage = :s", {":s": {"S": "released"}}),
        ("stage = :s AND #at BETWEEN :a AND :b", {":s": {"S": "held"}, ":a": {"S": "t20"}, ":b": {"S": "t60"}}),
        ("stage = :s AND #at < :a", {":s": {"S": "submitted"}, ":a": {"S": "t50"}}),
    ]
    for condition, values in conditions:
        for forward in (True, False):
            start: dict[str, Any] | None = None
            while True:
                answer = client.query(
                    TableName="ledger",
                    IndexName="by-stage",
                    KeyConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    **({"ExpressionAttributeNames": {"#at": "at"}} if "#at" in condition else {}),
                    ScanIndexForward=forward,
                    Limit=7,
                    **({"ExclusiveStartKey": start} if start else {}),
                )
                answer.pop("ResponseMetadata", None)
                answers.append(answer)
                start = answer.get("LastEvaluatedKey")
                if not start:
                    break
    for pk in ("order#007", "order#100"):
        answer = client.query(
            TableName="ledger", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}}
        )
        answer.pop("ResponseMetadata", None)
        answers.append(answer)
    scan = client.scan(TableName="ledger", Limit=25)
    scan.pop("ResponseMetadata", None)
    answers.append(scan)
    return answers


def test_queries_over_unsorted_items_answer_as_motos(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    local._query_without_sorting_the_table()
    patched_query, patched_all_items = Table.query, Table.all_items
    monkeypatch.setattr(Table, "query", patched_query._moto)  # type: ignore[attr-defined]
    monkeypatch.setattr(Table, "all_items", patched_all_items._moto)  # type: ignore[attr-defined]
    with mock_aws():
        theirs = _queries()
    monkeypatch.setattr(Table, "query", patched_query)
    monkeypatch.setattr(Table, "all_items", patched_all_items)
    with mock_aws():
        ours = _queries()
    assert sum(len(answer.get("Items", [])) for answer in theirs) > 200
    assert any("LastEvaluatedKey" in answer for answer in theirs)
    assert ours == theirs


def test_a_query_hands_moto_only_the_items_that_can_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shortcut is engaged: an index query sees the items of its stage, a table query its partition."""
    from moto.dynamodb.models.table import Table

    local._query_without_sorting_the_table()
    seen: list[int] = []
    patched = Table.all_items

    def counting(self: Any) -> Any:
        items = patched(self)
        seen.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counting)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-2")
        _session()
        for n in range(30):
            for sk in ("head", "line#1"):
                stage = "held" if n % 3 == 0 else "released"
                client.put_item(
                    TableName="ledger",
                    Item={"pk": {"S": f"order#{n:03d}"}, "sk": {"S": sk}, "stage": {"S": stage}, "at": {"S": "t1"}},
                )
        seen.clear()  # the session's own operations
        held = client.query(
            TableName="ledger",
            IndexName="by-stage",
            KeyConditionExpression="stage = :s",
            ExpressionAttributeValues={":s": {"S": "held"}},
        )
        one = client.query(
            TableName="ledger", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "order#004"}}
        )
        everything = client.scan(TableName="ledger")
    assert held["Count"] == 20 and one["Count"] == 2
    assert seen[:2] == [20, 2]
    assert seen[2] == everything["Count"] > 60  # a scan still walks the whole table
