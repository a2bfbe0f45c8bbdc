"""The local wiring behaves like SQS + Lambda: a record that keeps failing lands in its DLQ, not nowhere."""

from __future__ import annotations

import boto3

from sandbox.simulators.base import FaultKind, FaultPlan
from tests.functions.conftest import Harness


def test_poison_record_lands_in_the_dlq_after_max_receives_and_redrives(harness: Harness) -> None:
    # Given Cin7 is down for every call and a webhook arrives
    sale_id = harness.add_sale("SO-1")
    harness.cin7.faults = FaultPlan(rate=1.0, weights={FaultKind.SERVER_ERROR: 1.0})
    assert harness.webhook(sale_id)[0] == 202
    # When the intake queue is drained
    harness.local.drain()
    # Then after maxReceiveCount deliveries the message waits in the DLQ
    dlq = harness.local.dlq_messages()
    assert [m["source_id"] for m in dlq["order-intake"]] == [sale_id.lower()]
    receives = harness.local.config.retries.queue_max_receive_count
    assert harness.local.record_failures["order_intake"] == receives
    # And once Cin7 is back, a redrive (DLQ -> source queue) completes the order
    harness.cin7.faults = FaultPlan()
    sqs = boto3.client("sqs")
    dlq_url = harness.local.dlq_urls["order-intake"]
    for message in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]:
        sqs.send_message(QueueUrl=harness.local.queue_urls["order-intake"], MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    harness.local.drain()
    assert [o["OrderNumber"] for o in harness.scend.orders()] == ["EXA-SO-1"]
    assert harness.local.dlq_messages()["order-intake"] == []


def test_poll_finds_a_sale_whose_webhook_never_came_and_rereads_nothing_unchanged(harness: Harness) -> None:
    # Given a quarantined sale and a good sale, neither announced by webhook
    good = harness.add_sale("SO-2")
    bad = harness.add_sale("SO-3", carrier="Pigeon Post")
    # When the schedule runs twice (the second re-lists both within the overlap window)
    harness.local.run_schedule("poll_sales")
    harness.local.drain()
    reads_after_first = harness.cin7.requests["GET /externalapi/v2/sale"]
    harness.clock.advance(60)
    harness.local.run_schedule("poll_sales")
    harness.local.drain()
    # Then the good one reached the warehouse, the bad one is quarantined once,
    # and the re-listing cost no second read of either sale
    assert [o["OrderNumber"] for o in harness.scend.orders()] == ["EXA-SO-2"]
    [exception] = harness.rt.exceptions.list()
    assert exception.business_key == f"cin7_core#{bad}"
    assert exception.attempts == 1
    assert reads_after_first == 2
    assert harness.cin7.requests["GET /externalapi/v2/sale"] == reads_after_first
    cursor = harness.rt.cursors.get("cin7_core.sales")
    assert cursor == max(o.updated_at for o in (harness.rt.order_source.fetch_order(good), harness.rt.order_source.fetch_order(bad)))
