"""The example commercetools -> Scend client on moto, with the vendor's commercetools mock and the Scend
simulator over HTTP playing the shop and the warehouse, for the steps after an order reaches Scend
(shipments, cancellation, returns, reconciliation, variants).

Orders are placed in the mock the shop's way (cart, order, payment Paid) and created at the simulator
under the pipeline's reference, then recorded in the ledger as order submit would: these tests judge what
follows, not the release (tests of intake and submit cover that).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators.commercetools import CommercetoolsMock, Seeder, node_mocks_required, unavailable_reason
from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import ClientConfig, RetryConfig, load_client_config
from shared.connectors.http import TokenBucket
from shared.connectors.registry import spec_for
from shared.connectors.spec import Role
from shared.models.messages import ShipmentMessage
from shared.runtime import Runtime
from shared.steps.despatch import poll_despatches
from tests.steps.conftest import empty

EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "clients" / "example-commercetools-scend.yaml"
RETRIES = RetryConfig(max_attempts=2, base_delay_seconds=0.05, max_delay_seconds=0.2, timeout_seconds=5)
LOCATION = "3"  # the example's Scend warehouse id, mapped to a supply channel


class Context:
    """What a connector's builder takes from the runtime, with a budget no test exhausts."""

    def __init__(self, clock: VirtualClock):
        self.clock = clock
        self.http_timeout = 5.0
        self.user_agent = "hopline/commercetools-scend-steps"

    def budget(self, key: str, calls: int, per_seconds: float) -> Any:
        return TokenBucket(100_000, per_seconds, self.clock, capacity=100_000)


@dataclass
class Pairing:
    local: LocalHopline
    mock: CommercetoolsMock
    seeder: Seeder
    scend_sim: ScendSimulator
    shop: Any  # CommercetoolsPorts
    scend: Any  # the Scend connector
    clock: VirtualClock
    settings: Any  # the shop's CommercetoolsSettings, pointed at the mock

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.local.runtime
        return runtime

    def drain(self, queue: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        url = self.local.queue_urls[queue]
        bodies: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def now_at_mock(self) -> None:
        self.mock.pin_clock(self.clock.now())

    def product(self, *skus: str, at_warehouse: bool = True) -> None:
        self.now_at_mock()
        self.seeder.product(list(skus), name=f"Product {skus[0]}")
        for sku in skus:
            if at_warehouse:
                self.scend_sim.add_product(sku)

    def order(self, number: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
        """A paid order in the shop, created at Scend under its reference, recorded in the ledger."""
        self.now_at_mock()
        placed = self.seeder.order(lines, order_number=number)
        self.seeder.update(f"orders/{placed['id']}", [{"action": "changePaymentState", "paymentState": "Paid"}])
        order, _ = self.shop.read_order(placed["id"])
        reference = f"{self.rt.config.orders.reference_prefix}-{number}"
        created = self.scend.create_order(order, reference, "RM-TRACKED-48")
        order_key = f"commercetools#{placed['id']}"
        self.rt.ledger.record_delivery(order_key, order_number=number, trigger="test", now=self.clock.now())
        self.rt.ledger.record_submitted(
            order_key,
            warehouse_order_id=created.warehouse_order_id,
            client_reference=reference,
            created=True,
            now=self.clock.now(),
            ordered={sku: Decimal(quantity) for sku, quantity in lines},
            location=LOCATION,
        )
        return {"id": placed["id"], "key": order_key, "reference": reference, "wid": int(created.warehouse_order_id)}

    def despatched(self, reference: str) -> list[ShipmentMessage]:
        """One despatch poll; the write-back messages it queued for this order reference."""
        poll_despatches(self.rt)
        messages = [ShipmentMessage.model_validate(body) for body in self.drain("shipment-writeback")]
        return [message for message in messages if message.shipment.client_reference == reference]

    def ct_order(self, order_id: str) -> dict[str, Any]:
        return self.seeder.get(f"orders/{order_id}")


def _mock_available() -> None:
    reason = unavailable_reason()
    if reason:
        if node_mocks_required():
            pytest.fail(f"HOPLINE_REQUIRE_NODE_MOCKS=1 but {reason}")
        pytest.skip(reason)


@contextmanager
def running_pairing() -> Iterator[Pairing]:
    """The example client's stack on moto, the mock and the simulator started; closed on exit."""
    _mock_available()
    config: ClientConfig = load_client_config(EXAMPLE)
    clock = VirtualClock()
    with ExitStack() as stack, mock_aws(config=MOTO_CONFIG):
        mock = stack.enter_context(CommercetoolsMock(project_key=config.platforms["shop"].project_key))  # type: ignore[attr-defined]
        seeder = mock.seeder()
        stack.callback(seeder.close)
        supply = seeder.channel("scend-3")["id"]
        sync = seeder.channel("scend-orders", roles=("OrderExport",))["id"]
        settings = config.platforms["shop"].model_copy(
            update={
                "api_url": mock.base_url,
                "auth_url": mock.base_url,
                "supply_channels": {LOCATION: supply},
                "sync_channel_id": sync,
            }
        )
        scend_sim = ScendSimulator("scend-key", clock=clock)
        scend_sim.start()
        stack.callback(scend_sim.stop)
        scend_settings = config.platforms["scend"].model_copy(update={"base_url": f"{scend_sim.url}api/"})
        pointed = config.model_copy(
            update={"platforms": {**config.platforms, "shop": settings, "scend": scend_settings}}
        )
        local = LocalHopline(pointed, clock)
        # The hops the state machine runs build their own clients from these (the mock takes any secret).
        local.start(
            {
                "platforms.shop.credentials_secret": {"client_id": mock.client_id, "client_secret": mock.client_secret},
                "platforms.scend.credentials_secret": {"api_key": "scend-key"},
            }
        )
        shop = spec_for("commercetools").build(
            "shop",
            settings,
            {"client_id": mock.client_id, "client_secret": mock.client_secret},
            RETRIES,
            Context(clock),
        )
        stack.callback(shop.close)
        scend = spec_for("scend").build("scend", scend_settings, {"api_key": "scend-key"}, RETRIES, Context(clock))
        stack.callback(scend.close)
        yield Pairing(local, mock, seeder, scend_sim, shop, scend, clock, settings)


def fresh(pairing: Pairing) -> Pairing:
    """Empty stores and queues; both platforms playing their roles. The warehouse keeps its orders (the
    connector remembers what it read of them), so a test reads only the despatches of its own orders."""
    empty(pairing.local)
    return play(pairing)


def play(pairing: Pairing) -> Pairing:
    """The mock and the simulator back in their roles (a test may have put a gate in front of one)."""
    rt = pairing.rt
    for role in (Role.ORDER_SOURCE, Role.SHIPMENT_TARGET, Role.CATALOGUE_SOURCE, Role.CANCEL_SOURCE, Role.NOTE_TARGET):
        rt.override(role, pairing.shop)
    for role in (Role.ORDER_TARGET, Role.SHIPMENT_SOURCE, Role.CATALOGUE_TARGET, Role.CANCEL_TARGET):
        rt.override(role, pairing.scend)
    return pairing
