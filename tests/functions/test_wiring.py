"""The local wiring behaves like SQS + Lambda: a record that keeps failing lands in its DLQ, not nowhere."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

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
    intakes_after_first = harness.local.invocations["order_intake"]
    harness.clock.advance(60)
    second = harness.local.run_schedule("poll_sales")
    harness.local.drain()
    # Then the good one reached the warehouse, the bad one is quarantined once,
    # and the re-listing cost no second read of either sale
    assert [o["OrderNumber"] for o in harness.scend.orders()] == ["EXA-SO-2"]
    [exception] = harness.rt.exceptions.list()
    assert exception.business_key == f"cin7_core#{bad}"
    assert exception.attempts == 1
    assert reads_after_first == 2
    assert harness.cin7.requests["GET /externalapi/v2/sale"] == reads_after_first
    # Both were left unsent by the poll itself: the ledger says intake decided them (one batch read)
    assert second["settled"] == 2 and second["enqueued"] == 0
    assert harness.local.invocations["order_intake"] == intakes_after_first
    cursor = harness.rt.cursors.get("cin7_core.sale_changes")
    assert cursor == max(
        o.updated_at for o in (harness.rt.order_source.fetch_order(good), harness.rt.order_source.fetch_order(bad))
    )


WIRED = ("TABLE_", "QUEUE_URL_", "BUCKET_", "SECRET_", "STATE_MACHINE_ARN_")


def test_each_hop_runs_with_its_own_environment_and_none_in_the_process(harness: Harness) -> None:
    # Given a sale that travels from the webhook to the warehouse
    sale_id = harness.add_sale("SO-ENV")
    assert harness.webhook(sale_id)[0] == 202
    harness.local.drain()
    assert [o["OrderNumber"] for o in harness.scend.orders()] == ["EXA-SO-ENV"]
    # Then each hop ran with exactly its function's environment, and no resource name is process-wide
    for hop in ("webhook_receiver", "order_intake", "order_submit"):
        assert harness.local.hop_runtime(hop).environment == harness.local.hop_environment(hop)
    assert harness.local.hop_environment("webhook_receiver").keys() >= {"TABLE_EXCEPTIONS", "QUEUE_URL_ORDER_INTAKE"}
    assert "TABLE_LEDGER" not in harness.local.hop_environment("webhook_receiver")
    assert [key for key in os.environ if key.startswith(WIRED)] == []


def _denied(error: BaseException) -> str:
    """The AWS error code of a refused call, through Powertools' wrapping of a secret read."""
    while error is not None and not isinstance(error, ClientError):
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    assert isinstance(error, ClientError), "the call was not refused by AWS"
    return str(error.response["Error"]["Code"])


@pytest.mark.parametrize(
    ("call", "code"),
    [
        pytest.param(
            lambda rt, names: rt.dynamodb.Table(names.tables["ledger"]).get_item(Key={"pk": "x"}),
            "AccessDeniedException",
            id="table-not-granted",
        ),
        pytest.param(
            lambda rt, names: rt.table("rate-budgets").scan(),
            "AccessDeniedException",
            id="action-not-granted-on-a-granted-table",
        ),
        pytest.param(
            lambda rt, names: rt.secret("order_target.credentials_secret"),
            "AccessDeniedException",
            id="secret-not-granted",
        ),
        pytest.param(
            lambda rt, names: rt.sqs.send_message(QueueUrl=names.queues["order-submit"], MessageBody="{}"),
            "AccessDenied",
            id="queue-not-granted",
        ),
        pytest.param(
            lambda rt, names: rt.s3.list_objects_v2(Bucket=names.buckets["archive"]),
            "AccessDenied",
            id="action-not-granted-on-a-granted-bucket",
        ),
    ],
)
def test_a_hop_touching_what_it_was_not_granted_is_refused_as_aws_would(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, call: Any, code: str
) -> None:
    # Given the stock read hop (granted the source secret, its rate budget, the stock-sync queue, and
    # quarantine and archive writes only) whose step reaches for something else
    names = harness.local.names
    harness.local.handler("read_stock")
    module = harness.local.modules["read_stock"]
    monkeypatch.setattr(module.lambda_handler.hop, "step", lambda rt: call(rt, names))
    # When it runs, the call is refused with the error AWS gives a role without the permission
    with pytest.raises(Exception) as raised:
        harness.invoke("read_stock", {"detail-type": "Scheduled Event"})
    assert _denied(raised.value) == code
    # And the same call made outside any hop (an operator with every permission) goes through
    call(harness.rt, names)
