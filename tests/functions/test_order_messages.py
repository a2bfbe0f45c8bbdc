"""take_order_message on moto, with the vendor's commercetools mock as the shop and the Scend simulator as the
warehouse: a Subscription message in the official envelope is put on the queue (the mock delivers none),
de-duplicated, routed, and an order on its trigger reaches Scend once with its id synced back."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cli.ops import Ops, resources_by_convention
from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.commercetools import CommercetoolsMock, Seeder, node_mocks_required, unavailable_reason
from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import config_for_client

SKU = "TEE-BLK-M"


class Logs(io.TextIOBase):
    """What CloudWatch Logs would keep (the sandbox discards a StringIO's lines after each call)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)


@pytest.fixture(scope="module")
def ct_mock() -> Iterator[CommercetoolsMock]:
    reason = unavailable_reason()
    if reason:
        if node_mocks_required():
            pytest.fail(f"HOPLINE_REQUIRE_NODE_MOCKS=1 but {reason}")
        pytest.skip(reason)
    with CommercetoolsMock(project_key="example-shop") as mock:
        yield mock


@pytest.fixture(scope="module")
def seeder(ct_mock: CommercetoolsMock) -> Iterator[Seeder]:
    seeder = ct_mock.seeder()
    seeder.product([SKU], name="Tee")
    yield seeder
    seeder.close()


@dataclass
class Shop:
    local: LocalHopline
    seeder: Seeder
    scend: ScendSimulator
    sync_channel: str

    def place(self, number: str, *, paid: bool = True) -> dict[str, Any]:
        order = self.seeder.order([(SKU, 2)], order_number=number)
        if paid:
            order = self.seeder.update(
                f"orders/{order['id']}", [{"action": "changePaymentState", "paymentState": "Paid"}]
            )
        return order

    def deliver(self, body: dict[str, Any]) -> None:
        """What commercetools does: the message, as JSON, onto the subscription queue."""
        boto3.client("sqs").send_message(QueueUrl=self.local.queue_urls["order-messages"], MessageBody=json.dumps(body))

    def queued(self, queue: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=self.local.queue_urls[queue], MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.local.queue_urls[queue], ReceiptHandle=message["ReceiptHandle"])
        return found

    def consume(self) -> None:
        self.local.drain_queue("order-messages")

    def outcomes(self) -> dict[str, int]:
        """`OrderMessage_<outcome>` counts from the hop's EMF lines."""
        counts: dict[str, int] = {}
        assert isinstance(self.local.log, Logs)
        for line in "".join(self.local.log.lines).splitlines():
            if not line.startswith("{") or "OrderMessage_" not in line:
                continue
            for key, value in json.loads(line).items():
                if key.startswith("OrderMessage_"):
                    total = sum(value) if isinstance(value, list) else value
                    counts[key.removeprefix("OrderMessage_")] = counts.get(key.removeprefix("OrderMessage_"), 0) + int(
                        total
                    )
        return counts


def envelope(placed: dict[str, Any], type_: str = "OrderPaymentStateChanged", **fields: Any) -> dict[str, Any]:
    """The documented message envelope (card §2, §7) for an order of the mock's."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    message: dict[str, Any] = {
        "notificationType": "Message",
        "projectKey": "example-shop",
        "id": str(uuid.uuid4()),
        "version": 1,
        "sequenceNumber": 2,
        "resource": {"typeId": "order", "id": placed["id"]},
        "resourceVersion": placed["version"],
        "resourceUserProvidedIdentifiers": {"orderNumber": placed.get("orderNumber", "")},
        "type": type_,
        "createdAt": now,
        "lastModifiedAt": now,
    }
    if type_ == "OrderPaymentStateChanged":
        message |= {"paymentState": "Paid", "oldPaymentState": "Pending"}
    message.update(fields)
    return message


@pytest.fixture
def shop(ct_mock: CommercetoolsMock, seeder: Seeder) -> Iterator[Shop]:
    clock = VirtualClock()
    scend = ScendSimulator("scend-key", clock=clock, faults=FaultPlan())
    scend.start()
    scend.add_product(SKU)
    sync = seeder.channel(f"scend-{uuid.uuid4().hex[:8]}", roles=("OrderExport",))["id"]
    config = config_for_client("example-commercetools-scend")
    config = config.with_platform("scend", base_url=f"{scend.url}api/")
    config = config.with_platform(
        "shop",
        api_url=ct_mock.base_url,
        auth_url=ct_mock.base_url,
        sync_channel_id=sync,
        subscription_key=f"hopline-{uuid.uuid4().hex[:8]}",  # one per test: the mock project is shared
    )
    try:
        with mock_aws(config=MOTO_CONFIG):
            local = LocalHopline(config, clock, log=Logs())
            local.start(
                {
                    "platforms.shop.credentials_secret": {
                        "client_id": ct_mock.client_id,
                        "client_secret": ct_mock.client_secret,
                    },
                    "platforms.scend.credentials_secret": {"api_key": "scend-key"},
                }
            )
            yield Shop(local, seeder, scend, sync)
    finally:
        scend.stop()


def test_a_paid_message_reaches_scend_once_and_the_scend_id_is_synced_on_the_order(shop: Shop) -> None:
    # Given a paid order and its OrderPaymentStateChanged message, delivered twice (at-least-once)
    order = shop.place("CT-1001")
    message = envelope(order)
    shop.deliver(message)
    shop.deliver(message)
    # When the queues drain
    shop.local.drain()
    # Then Scend holds it once under the pipeline's reference, and the second copy was dropped by its id
    assert [o["OrderNumber"] for o in shop.scend.orders()] == ["EXC-CT-1001"]
    assert shop.outcomes() == {"intake": 1, "duplicate": 1}
    # And the order carries the Scend order id on the sync channel (the mock keeps updateSyncInfo)
    [at_scend] = shop.scend.orders()
    synced = shop.seeder.get(f"orders/{order['id']}")["syncInfo"]
    assert [(s["channel"]["id"], s["externalId"]) for s in synced] == [(shop.sync_channel, str(at_scend["ID"]))]
    # And the money Scend holds is the order's taxedPrice, from its integer minor units
    gross = order["taxedPrice"]["totalGross"]
    assert Decimal(str(at_scend["OrderValue"])) == Decimal(gross["centAmount"]).scaleb(-gross["fractionDigits"])


def test_a_refused_sync_info_is_replayed_alone_and_scend_keeps_one_order(shop: Shop) -> None:
    # Given the shop refusing updateSyncInfo once: the configured sync channel does not exist there
    config = shop.local.config
    shop.local.reconfigure(config.with_platform("shop", sync_channel_id="no-such-channel"))
    order = shop.place("CT-1011")
    shop.deliver(envelope(order))
    shop.local.drain()
    # Then the order is at Scend, and the refusal is an owned exception that replays to order-submit
    [at_scend] = shop.scend.orders()
    rt = shop.local.runtime
    [exception] = [e for e in rt.exceptions.list() if e.flow == "order_sync"]
    assert (exception.team.value, exception.replay_queue, exception.replay_payload) == (
        "operations",
        "order-submit",
        "message",
    )
    assert exception.replay_message is None  # the message holds the customer's address: archived only
    assert shop.seeder.get(f"orders/{order['id']}")["syncInfo"] == []
    # When operations fix the channel and replay the exception
    shop.local.reconfigure(config)
    rt = shop.local.runtime
    ops = Ops(
        resources=resources_by_convention(config.client, rt.sqs),
        dynamodb=rt.dynamodb,
        sqs=rt.sqs,
        s3=rt.s3,
        source="commercetools",
        reference_prefix="EXC",
        clock=rt.clock,
    )
    assert ops.replay(exception.id).queue == "order-submit"
    shop.local.drain()
    # Then only the sync info was written: the order carries the Scend id and Scend still has one order
    synced = shop.seeder.get(f"orders/{order['id']}")["syncInfo"]
    assert [(s["channel"]["id"], s["externalId"]) for s in synced] == [(shop.sync_channel, str(at_scend["ID"]))]
    assert [o["OrderNumber"] for o in shop.scend.orders()] == ["EXC-CT-1011"]
    assert shop.scend.create_attempts == 1
    assert rt.exceptions.get(exception.id).status.value == "resolved"


def test_order_created_never_releases(shop: Shop) -> None:
    order = shop.place("CT-1002")
    shop.deliver(envelope(order, "OrderCreated", order={"id": order["id"]}))
    shop.consume()
    assert shop.outcomes() == {"ignored": 1}
    assert shop.queued("order-intake") == []


def test_a_message_older_than_one_handled_for_its_order_is_dropped_as_stale(shop: Shop) -> None:
    order = shop.place("CT-1003")
    newer = envelope(order)
    older = envelope(order, resourceVersion=order["version"] - 1)
    shop.deliver(newer)
    shop.consume()
    shop.deliver(older)
    shop.consume()
    assert shop.outcomes() == {"intake": 1, "stale": 1}
    # And an equal version with a new id is not stale: one update emits several messages at one version
    shop.deliver(envelope(order, "OrderStateChanged", orderState="Confirmed", oldOrderState="Open"))
    shop.consume()
    assert shop.outcomes() == {"intake": 1, "stale": 1, "ignored": 1}


def test_a_message_without_its_payload_is_decided_from_a_fresh_read(shop: Shop) -> None:
    # Given a paid order whose message came without its payload (too large to send)
    order = shop.place("CT-1004")
    message = envelope(order, payloadNotIncluded={"reason": "too large", "payloadType": "OrderPaymentStateChanged"})
    del message["paymentState"], message["oldPaymentState"]
    shop.deliver(message)
    shop.consume()
    # Then the order was read and found at its trigger: on to intake
    [intake] = shop.queued("order-intake")
    assert (intake["source_id"], intake["trigger"], intake["order_number"]) == (order["id"], "subscription", "CT-1004")
    # And the same for an unpaid order reads it and asks for nothing
    unpaid = shop.place("CT-1005", paid=False)
    again = envelope(unpaid, payloadNotIncluded={"reason": "too large", "payloadType": "x"})
    del again["paymentState"], again["oldPaymentState"]
    shop.deliver(again)
    shop.consume()
    assert shop.queued("order-intake") == []
    assert shop.outcomes() == {"intake": 1, "ignored": 1}


def test_another_project_s_message_is_quarantined_with_its_reason_and_owner(shop: Shop) -> None:
    order = shop.place("CT-1006")
    shop.deliver(envelope(order, projectKey="example-shop-staging"))
    shop.consume()
    [exception] = shop.local.runtime.exceptions.list()
    assert (exception.flow, exception.reason.value, exception.team.value) == (
        "order_messages",
        "message_misrouted",
        "operations",
    )
    assert exception.payload_key is not None
    assert json.loads(shop.local.runtime.archive.get(exception.payload_key))["projectKey"] == "example-shop-staging"
    assert shop.queued("order-intake") == []
    assert shop.outcomes() == {"quarantined": 1}


def test_a_cancelled_order_starts_the_cancellation(shop: Shop) -> None:
    order = shop.place("CT-1007")
    shop.deliver(envelope(order, "OrderStateChanged", orderState="Cancelled", oldOrderState="Open"))
    shop.consume()
    [request] = shop.queued("cancel-requests")
    assert (request["source"], request["source_id"], request["trigger"]) == (
        "commercetools",
        order["id"],
        "subscription",
    )
    assert shop.queued("order-intake") == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("not json {", "not JSON"),
        ('{"notificationType": "ResourceUpdated", "projectKey": "example-shop"}', "notificationType"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_an_unreadable_message_is_quarantined_and_acknowledged_not_retried(shop: Shop, body: str, detail: str) -> None:
    boto3.client("sqs").send_message(QueueUrl=shop.local.queue_urls["order-messages"], MessageBody=body)
    shop.consume()
    assert shop.local.record_failures["take_order_message"] == 0
    [exception] = shop.local.runtime.exceptions.list()
    assert (exception.reason.value, exception.team.value, exception.replay_queue) == (
        "payload_invalid",
        "operations",
        "order-messages",
    )
    assert detail in exception.detail
    assert shop.local.runtime.archive.get(exception.payload_key) == body.encode()


def test_a_paid_message_about_an_order_no_longer_paid_does_not_reach_scend(shop: Shop) -> None:
    # Given a Paid message, read after the order's payment went back to Failed
    order = shop.place("CT-1008")
    message = envelope(order)
    shop.seeder.update(f"orders/{order['id']}", [{"action": "changePaymentState", "paymentState": "Failed"}])
    shop.deliver(message)
    # When it is routed and intake reads the order fresh
    shop.local.drain()
    # Then intake re-checked the states and nothing went to the warehouse
    assert shop.outcomes() == {"intake": 1}
    assert shop.scend.orders() == []
    entry = shop.local.runtime.ledger.get(f"commercetools#{order['id']}")
    assert entry is not None and entry.stage == "not_ready"


def test_the_scheduled_check_flags_a_missing_subscription_and_clears_once_it_is_healthy(shop: Shop) -> None:
    # Given no subscription at commercetools yet: the check publishes SubscriptionUnhealthy 1
    first = shop.local.run_schedule("check_subscription")
    assert (first["status"], first["unhealthy"]) == ("missing", 1)
    # When the subscription is created to the stack's queue (as `hopline subscription create` does)
    keeper = shop.local.hop_runtime("check_subscription").subscription_keeper
    made = keeper.ensure_subscription(
        queue_url=shop.local.queue_urls["order-messages"], region="eu-west-2", account_id="123456789012"
    )
    assert (made.exists, made.destination) == (True, shop.local.queue_urls["order-messages"])
    # Then the next check finds it Healthy (the mock stores it so) and publishes 0
    second = shop.local.run_schedule("check_subscription")
    assert (second["status"], second["unhealthy"]) == ("Healthy", 0)


def test_hopline_subscription_check_and_create(shop: Shop) -> None:
    from cli.commands import subscription_command
    from cli.main import build_parser
    from cli.ops import OpsError

    keeper = shop.local.hop_runtime("check_subscription").subscription_keeper
    queue = shop.local.queue_urls["order-messages"]
    # Given no subscription: check fails, naming the command that makes one
    with pytest.raises(OpsError, match="does not exist: run `hopline subscription create`"):
        subscription_command("check", keeper, queue_url=queue, region="eu-west-2")
    # When it is created, and created again (it exists: nothing new)
    made = subscription_command("create", keeper, queue_url=queue, region="eu-west-2")
    again = subscription_command("create", keeper, queue_url=queue, region="eu-west-2")
    # Then both report the one subscription, Healthy, delivering to the stack's queue
    assert made == again and (made["status"], made["destination"], made["healthy"]) == ("Healthy", queue, True)
    assert subscription_command("check", keeper, queue_url=queue, region="eu-west-2") == made
    args = build_parser().parse_args(["subscription", "check", "--client", "example-commercetools-scend"])
    assert (args.command, args.action) == ("subscription", "check")
