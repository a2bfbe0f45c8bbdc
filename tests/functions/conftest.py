"""Handlers on moto against the simulators, through the same local wiring the sandbox uses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators import registry
from sandbox.simulators.cin7_core import Cin7CoreSimulator
from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import ClientConfig

SECRETS = {
    "platforms.cin7.credentials_secret": {"account_id": "acct-1", "application_key": "key-1"},
    "platforms.cin7.webhook_secret": {"secret": "hook-secret"},
    "platforms.scend.credentials_secret": {"api_key": "scend-key"},
}
GOOD_ADDRESS = {
    "Line1": "1 High Street",
    "City": "Leeds",
    "Postcode": "LS1 1AA",
    "Country": "United Kingdom",
    "Contact": "Jo Smith",
}


@dataclass
class Harness:
    local: LocalHopline
    cin7: Cin7CoreSimulator
    scend: ScendSimulator
    clock: VirtualClock

    @property
    def rt(self) -> Any:
        return self.local.runtime

    def add_sale(self, number: str = "SO-1", **changes: Any) -> str:
        spec: dict[str, Any] = {
            "order_number": number,
            "lines": [("TEE-BLK-M", 2, Decimal("12.50"))],
            "address": dict(GOOD_ADDRESS),
            "email": "jo@example.com",
        }
        spec.update(changes)
        return self.cin7.add_sale(**spec)

    def webhook(self, sale_id: str, *, secret: str = "hook-secret", body: str | None = None) -> tuple[int, dict]:
        header = self.local.config.platforms["cin7"].webhook_header  # type: ignore[attr-defined]
        payload = body if body is not None else json.dumps(self.cin7.webhook_payload(sale_id))
        return self.local.call_api("POST", "/webhooks/cin7/sales", headers={header: secret}, body=payload)

    def queue_bodies(self, queue: str) -> list[dict[str, Any]]:
        """Read (and consume) what is waiting in a queue."""
        sqs = boto3.client("sqs")
        url = self.local.queue_urls[queue]
        bodies: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return bodies
            for message in batch:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def sqs_event(self, *bodies: dict[str, Any] | str) -> dict[str, Any]:
        records = []
        for index, body in enumerate(bodies):
            text = body if isinstance(body, str) else json.dumps(body)
            records.append(
                {
                    "messageId": f"m-{index}",
                    "receiptHandle": f"r-{index}",
                    "body": text,
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "awsRegion": "eu-west-2",
                    "eventSourceARN": "arn:aws:sqs:eu-west-2:123456789012:q",
                }
            )
        return {"Records": records}

    def invoke(self, hop: str, event: dict[str, Any]) -> Any:
        return self.local._call(hop, event)


@contextmanager
def running_harness(example_config: ClientConfig) -> Iterator[Harness]:
    """Simulators on localhost (from the sandbox's registry) and the stack's resources on moto."""
    clock = VirtualClock()
    with registry.running(example_config, clock, secrets=SECRETS) as platforms:
        cin7 = cast(Cin7CoreSimulator, platforms.simulators["cin7"])
        scend = cast(ScendSimulator, platforms.simulators["scend"])
        for sku in ("TEE-BLK-M", "TEE-WHT-L", "CAP-NVY-S"):
            scend.add_product(sku)
        with mock_aws(config=MOTO_CONFIG):
            local = LocalHopline(platforms.config, clock)
            local.start(SECRETS)
            yield Harness(local, cin7, scend, clock)


@pytest.fixture
def harness(example_config: ClientConfig) -> Iterator[Harness]:
    with running_harness(example_config) as running:
        yield running
