"""The example commercetools -> Scend client file loads, builds its topology, and a pipeline asking a
platform for a role its connector does not offer fails naming the pipeline, the platform and the role."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from shared.config import ClientConfig, load_client_config
from shared.connectors.spec import Role
from shared.topology import for_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "infra" / "clients" / "example-commercetools-scend.yaml"


def test_the_example_validates_with_commercetools_playing_its_roles() -> None:
    config = load_client_config(EXAMPLE)
    assert config.platforms["shop"].type == "commercetools"
    assert config.platform_for(Role.ORDER_SOURCE) == "shop"
    assert config.platform_for(Role.SHIPMENT_TARGET) == "shop"
    assert config.platform_for(Role.NOTE_TARGET) == "shop"
    assert config.platform_for(Role.ORDER_TARGET) == "scend"
    topology = for_config(config)
    assert topology  # the pipelines named deploy something


def test_the_example_stock_pipeline_has_scend_as_master_and_the_shop_as_target() -> None:
    config = load_client_config(EXAMPLE)
    assert config.platform_for(Role.STOCK_MASTER) == "scend"
    assert config.platform_for(Role.STOCK_TARGET) == "shop"
    assert config.stock.locations == {"3": "3"}
    assert "3" in config.platforms["shop"].supply_channels  # type: ignore[attr-defined]
    hops = {hop.name for hop in for_config(config).hops}
    assert {"read_stock", "push_stock", "reconcile_stock"} <= hops


def test_a_stock_pipeline_from_the_shop_fails_naming_the_role_it_lacks() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pipelines"]["stock"] = {"from": "shop", "to": "scend", "locations": {"3": "3"}}
    with pytest.raises(ValidationError) as refused:
        ClientConfig.model_validate(data)
    [(field, problem)] = refused.value.errors()[0]["ctx"]["problems"]
    assert field == "pipelines.stock.from"
    assert "('shop') cannot play stock_master" in problem
