"""Steps run against fake platforms: DynamoDB, SQS and S3 on moto through the sandbox's local wiring, and every
platform role played by an in-memory fake, so a test judges the step's logic by what the fakes and the
stores hold, with no HTTP at all.

The moto resources are created once per module (creating boto3 clients is most of a start's cost) and
emptied between tests; each test gets new fakes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox.local import MOTO_CONFIG, LocalHopline
from shared import topology
from shared.clock import VirtualClock
from shared.config import ClientConfig
from shared.connectors.spec import Role
from shared.runtime import Runtime
from tests.fakes import FakeCommerce, FakeWarehouse

COMMERCE_ROLES = (
    Role.ORDER_SOURCE,
    Role.SHIPMENT_TARGET,
    Role.CATALOGUE_SOURCE,
    Role.STOCK_MASTER,
    Role.CANCEL_SOURCE,
    Role.NOTE_TARGET,
)
WAREHOUSE_ROLES = (
    Role.ORDER_TARGET,
    Role.SHIPMENT_SOURCE,
    Role.CATALOGUE_TARGET,
    Role.STOCK_TARGET,
    Role.STOCK_READER,
    Role.CANCEL_TARGET,
)


@dataclass
class Steps:
    local: LocalHopline
    commerce: FakeCommerce
    warehouse: FakeWarehouse
    clock: VirtualClock

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.local.runtime
        return runtime

    def queued(self, queue: str) -> list[dict[str, Any]]:
        """Read (and consume) what is waiting in a queue."""
        sqs = boto3.client("sqs")
        url = self.local.queue_urls[queue]
        bodies: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies


@pytest.fixture(scope="module")
def hopline(example_config: ClientConfig) -> Iterator[LocalHopline]:
    with mock_aws(config=MOTO_CONFIG):
        local = LocalHopline(example_config, VirtualClock())
        local.start()
        yield local


def empty(local: LocalHopline) -> None:
    """Every table and queue back to empty, so no test sees another's records."""
    rt: Runtime = local.runtime
    for table in topology.TABLES:
        handle = rt.table(table.name)
        keys = [table.partition_key, *([table.sort_key] if table.sort_key else [])]
        items = handle.scan(
            ProjectionExpression=", ".join(f"#k{i}" for i in range(len(keys))),
            ExpressionAttributeNames={f"#k{i}": key for i, key in enumerate(keys)},
        )["Items"]
        with handle.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={key: item[key] for key in keys})
    for url in [*local.queue_urls.values(), *local.dlq_urls.values()]:  # PurgeQueue allows one call a minute
        while batch := rt.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            rt.sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            )
    rt.tally.clear()


@pytest.fixture
def steps(hopline: LocalHopline, example_config: ClientConfig) -> Steps:
    empty(hopline)
    clock = hopline.clock
    rt: Runtime = hopline.runtime
    # Named as the platforms they stand in for: order keys and note checks compare source names.
    commerce = FakeCommerce(example_config.settings_for(Role.ORDER_SOURCE).type, clock=clock)
    warehouse = FakeWarehouse(example_config.settings_for(Role.ORDER_TARGET).type, clock=clock)
    for role in COMMERCE_ROLES:
        rt.override(role, commerce)
    for role in WAREHOUSE_ROLES:
        rt.override(role, warehouse)
    return Steps(hopline, commerce, warehouse, clock)
