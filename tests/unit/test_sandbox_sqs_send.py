"""moto's SendMessage, patched not to walk the queue, and the sandbox poller's receive and settle on moto's model
(sandbox/local.py): the same answers as moto's own through botocore."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sandbox import local


@pytest.fixture
def sqs() -> Any:
    local._install_moto_patches()
    with mock_aws():
        yield boto3.client("sqs", region_name=local.REGION)


def test_a_standard_queue_takes_every_send_and_still_counts_its_messages(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "same"}, {"Id": "b", "MessageBody": "same"}]
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "5"
    assert "ContentBasedDeduplication" not in attributes


def test_a_fifo_queue_with_content_deduplication_drops_the_repeat(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="dedup.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert attributes["ContentBasedDeduplication"] == "true"


def test_a_fifo_queue_without_it_still_asks_for_a_deduplication_id(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="strict.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError, match="ContentBasedDeduplication enabled or MessageDeduplicationId"):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


@pytest.mark.parametrize("fifo", [False, True])
def test_the_pollers_receive_from_the_model_answers_as_botocore_parses_moto(sqs: Any, fifo: bool) -> None:
    attributes = {"FifoQueue": "true"} if fifo else {}
    url = sqs.create_queue(QueueName="poll.fifo" if fifo else "poll", Attributes=attributes)["QueueUrl"]
    extra = {"MessageGroupId": "g", "MessageDeduplicationId": "d"} if fifo else {}
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"order": 1}',
        MessageAttributes={"trigger": {"DataType": "String", "StringValue": "poll"}},
        **extra,
    )
    [mine] = local._moto_receive(url, 10, message_attributes=True)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=mine["ReceiptHandle"], VisibilityTimeout=0)
    [theirs] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    # The same message, received a second time: only the receipt handle and the receive count move on
    assert mine["Attributes"].pop("ApproximateReceiveCount") == "1"
    assert theirs["Attributes"].pop("ApproximateReceiveCount") == "2"
    assert mine.pop("ReceiptHandle") != theirs.pop("ReceiptHandle")
    assert mine == theirs


def test_settling_a_batch_deletes_what_succeeded_and_shows_the_failures_again(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="settle")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    received = local._moto_receive(url, 10, message_attributes=False)
    failed = {received[1]["MessageId"]}
    local._settle(url, received, failed)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [(received[1]["Body"], "2")]
