"""The sandbox's request shortcuts (sandbox/local.py): a zero signature with the credential scope botocore would
sign, and moto's router keeping its URL maps. moto answers as it does to fully signed requests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox import local
from shared.clock import VirtualClock


def _requests(seen: list[dict[str, str]]) -> list[Any]:
    """A few operations on DynamoDB, S3 and SQS, their answers without request metadata; `seen` gets the
    headers each request went out with."""
    session = boto3.Session(region_name=local.REGION)
    answers: list[Any] = []

    def keep(answer: dict[str, Any]) -> None:
        answer.pop("ResponseMetadata", None)
        answers.append(answer)

    def headers(request: Any, **_: Any) -> None:
        seen.append({k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

    dynamodb: Any = session.client("dynamodb")
    s3: Any = session.client("s3")
    sqs: Any = session.client("sqs")
    for client in (dynamodb, s3, sqs):
        client.meta.events.register("before-send", headers)
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    keep(dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}}))
    s3.create_bucket(Bucket="evidence", CreateBucketConfiguration={"LocationConstraint": local.REGION})
    s3.put_object(Bucket="evidence", Key="k/1.json", Body=b'{"a": 1}')
    body = s3.get_object(Bucket="evidence", Key="k/1.json")
    answers.append((body["Body"].read(), body["ContentLength"]))
    keep(s3.list_objects_v2(Bucket="evidence"))
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    received = sqs.receive_message(QueueUrl=url)["Messages"]
    answers.append([m["Body"] for m in received])
    answers.append(url)
    for answer in answers:
        if isinstance(answer, dict):
            for item in answer.get("Contents", []):
                item.pop("LastModified", None)
    return answers


def test_zero_signed_requests_get_the_answers_signed_ones_do(monkeypatch: pytest.MonkeyPatch) -> None:
    local._install_moto_patches()
    monkeypatch.setattr(local, "_ACTIVE", None)  # no sandbox running
    signed_headers: list[dict[str, str]] = []
    with mock_aws():
        signed = _requests(signed_headers)
    monkeypatch.setattr(local, "_ACTIVE", SimpleNamespace(clock=VirtualClock()))  # a sandbox is running
    zero_headers: list[dict[str, str]] = []
    with mock_aws():
        zero = _requests(zero_headers)
    assert zero == signed
    assert len(zero_headers) == len(signed_headers) > 8
    for theirs, ours in zip(signed_headers, zero_headers, strict=True):
        their_auth, our_auth = theirs.pop("Authorization"), ours.pop("Authorization")
        assert our_auth.rsplit("Signature=", 1)[0] == their_auth.rsplit("Signature=", 1)[0]  # same scope
        assert our_auth.endswith("Signature=" + "0" * 64) and not their_auth.endswith("0" * 64)
        theirs.pop("X-Amz-Date"), ours.pop("X-Amz-Date")
        theirs.pop("amz-sdk-invocation-id", None), ours.pop("amz-sdk-invocation-id", None)
        assert ours == theirs  # the S3 content hash and every other header as signed


def test_without_a_sandbox_requests_are_signed_as_botocore_signs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    local._install_moto_patches()
    monkeypatch.setattr(local, "_ACTIVE", None)
    seen: list[dict[str, str]] = []
    with mock_aws():
        _requests(seen)
    assert not any(h["Authorization"].endswith("0" * 64) for h in seen)


def test_the_router_builds_each_backends_url_map_once() -> None:
    from moto.core.base_backend import BaseBackend
    from moto.dynamodb.models import dynamodb_backends

    local._install_moto_patches()
    backend = dynamodb_backends["123456789012"][local.REGION]
    first = backend.urls
    assert backend.urls is first
    assert first == BaseBackend.urls.fget._moto(backend)  # type: ignore[attr-defined]
    assert len(first) > 0
