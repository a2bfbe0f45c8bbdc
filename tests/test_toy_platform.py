"""A new platform is a package and a registry entry; a new pairing is a client file. The toy shop, defined in
tests only, sends an order through intake and submit to a Scend that holds it, with no change elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from moto import mock_aws

from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import load_client_config
from shared.connectors import registry
from shared.errors import ConfigError
from shared.models.messages import IntakeMessage
from tests import toy_platform

CLIENT = {
    "client": "toy-brand",
    "platforms": {
        "shop": {"type": "toyshop", "credentials_secret": "hopline/toy-brand/shop"},
        "wh": {
            "type": "scend",
            "base_url": "http://127.0.0.1:1/api/",
            "credentials_secret": "hopline/toy-brand/wh",
            "warehouse_id": 3,
        },
    },
    "pipelines": {
        "orders": {
            "from": "shop",
            "to": "wh",
            "reference_prefix": "TOY",
            "delivery_services": {"Royal Mail Tracked 48": "RM-TRACKED-48"},
        },
    },
}


@pytest.fixture
def toy_registered() -> Iterator[None]:
    registry.register(toy_platform.SPEC)
    toy_platform.SHOPS.clear()
    try:
        yield
    finally:
        registry.unregister("toyshop")


def write(tmp_path: Path, data: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / f"{data['client']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_pipeline_from_the_toy_shop_gets_its_orders_to_the_warehouse(tmp_path: Path, toy_registered: None) -> None:
    # Given a client file naming the toy shop as the order source and Scend as the target
    config = load_client_config(write(tmp_path, CLIENT))
    clock = VirtualClock()
    scend = ScendSimulator("wh-key", clock=clock, faults=FaultPlan())
    scend.start()
    scend.add_product("TOY-BLK-1")
    try:
        config = config.with_platform("wh", base_url=f"{scend.url}api/")
        with mock_aws(config=MOTO_CONFIG):
            local = LocalHopline(config, clock)
            local.start(
                {
                    "platforms.shop.credentials_secret": {"token": "t"},
                    "platforms.wh.credentials_secret": {"api_key": "wh-key"},
                }
            )
            # When an order placed in the shop is announced to intake
            shop = toy_platform.build("shop", config.platforms["shop"], {"token": "t"}, config.retries, local.runtime)
            sale = shop.add_order("T-1", [("TOY-BLK-1", 2)])
            local.runtime.send(
                "order-intake",
                IntakeMessage(
                    client="toy-brand", source="toyshop", source_id=sale, order_number="T-1", trigger="webhook"
                ),
            )
            local.drain()
    finally:
        scend.stop()
    # Then the warehouse holds it once, with the shop's lines, under the pipeline's reference
    [order] = scend.orders()
    assert order["OrderNumber"] == "TOY-T-1"
    assert [(item["SKU"], Decimal(str(item["Quantity"]))) for item in order["OrderItems"]] == [("TOY-BLK-1", 2)]


def test_a_pipeline_asking_the_toy_shop_for_a_role_it_lacks_fails_the_load(
    tmp_path: Path, toy_registered: None
) -> None:
    data = {**CLIENT, "pipelines": {**CLIENT["pipelines"], "shipments": {"from": "wh", "to": "shop"}}}
    with pytest.raises(
        ConfigError,
        match=r"field 'pipelines.shipments.to': Toy Shop \('shop'\) cannot play "
        r"shipment_target",
    ):
        load_client_config(write(tmp_path, data))


def test_an_unregistered_platform_type_is_named_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"field 'platforms.shop.type': unknown platform type 'toyshop'"):
        load_client_config(write(tmp_path, CLIENT))
