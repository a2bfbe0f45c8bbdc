"""SFCC as a stock target against its simulator: allocation reset at the snapshot, refused rows, and the
refusals every record would meet raised once, for one exception (card §6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sandbox.simulators.base import Response
from sandbox.simulators.sfcc import SfccSimulator, fault
from shared.clock import VirtualClock
from shared.connectors.sfcc.mapping import format_sfcc_datetime
from shared.connectors.sfcc.ports import SfccConnector
from shared.errors import EndpointUnavailableError
from shared.models.stock import StockPush
from tests.connectors.sfcc.conftest import CLIENT_ID, CLIENT_SECRET, settings_for


@pytest.fixture
def connector(simulator: SfccSimulator, clock: VirtualClock) -> Iterator[Any]:
    made: list[SfccConnector] = []

    def make(**overrides: Any) -> SfccConnector:
        built = SfccConnector(settings_for(simulator, **overrides), CLIENT_ID, CLIENT_SECRET, clock=clock)
        made.append(built)
        return built

    yield make
    for built in made:
        built.close()


def test_each_figure_is_its_records_allocation_reset_at_the_snapshot(
    connector: Any, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    port = connector()
    snapshot = clock.now() - timedelta(seconds=40)
    assert (
        port.push_stock(
            [
                StockPush(sku=sku, location="inventory_m", quantity=n, snapshot_at=snapshot)
                for sku, n in (("A", 3), ("B", 0))
            ]
        )
        == []
    )
    for sku, amount in (("A", 3), ("B", 0)):
        assert simulator.inventory[("inventory_m", sku)]["allocation"] == {
            "amount": amount,
            "reset_date": format_sfcc_datetime(snapshot),
        }
    # A new record costs PATCH (404) then PUT; an existing one PATCH alone
    assert [method for method, _, _ in simulator.record_writes] == ["PUT", "PUT"]
    port.push_stock([StockPush(sku="A", location="inventory_m", quantity=2, snapshot_at=snapshot)])
    assert simulator.record_writes[-1] == ("PATCH", "inventory_m", "A")


def test_reset_date_omit_lets_sfcc_reset_at_the_write(
    connector: Any, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    port = connector(inventory={"reset_date": "omit"})
    port.push_stock(
        [StockPush(sku="A", location="inventory_m", quantity=5, snapshot_at=clock.now() - timedelta(hours=1))]
    )
    assert simulator.inventory[("inventory_m", "A")]["allocation"]["reset_date"] == format_sfcc_datetime(clock.now())


def test_an_unknown_product_is_a_refused_row_and_the_rest_stand(connector: Any, simulator: SfccSimulator) -> None:
    simulator.add_product("KNOWN")
    rejected = connector().push_stock(
        [
            StockPush(sku="GHOST", location="inventory_m", quantity=1),
            StockPush(sku="KNOWN", location="inventory_m", quantity=4),
        ]
    )
    assert [(r.sku, r.location) for r in rejected] == [("GHOST", "inventory_m")]
    assert simulator.inventory[("inventory_m", "KNOWN")]["allocation"]["amount"] == 4


def test_an_unknown_inventory_list_is_one_endpoint_error_naming_the_mapping(connector: Any) -> None:
    with pytest.raises(EndpointUnavailableError) as raised:
        connector().push_stock([StockPush(sku="A", location="inventory_x", quantity=1)])
    assert raised.value.config_field.startswith("pipelines.stock.locations")
    assert raised.value.status == 404


def test_a_client_not_permitted_to_write_records_is_one_endpoint_error(
    connector: Any, simulator: SfccSimulator
) -> None:
    # Business Manager's OCAPI settings do not allow this client the record writes
    forbidden = fault(403, "ClientAccessForbiddenException", "Access to resource 'PATCH ...' is not allowed.")

    def refuse(request: Any, match: Any) -> Response:
        return forbidden

    simulator.routes = [
        (method, pattern, refuse if "product_inventory_records" in pattern.pattern else handler, writes)
        for method, pattern, handler, writes in simulator.routes
    ]
    with pytest.raises(EndpointUnavailableError) as raised:
        connector().push_stock([StockPush(sku="A", location="inventory_m", quantity=1)])
    assert raised.value.status == 403 and "OCAPI Data permissions" in raised.value.config_field


def test_with_omnichannel_inventory_the_site_takes_no_stock_writes(connector: Any) -> None:
    port = connector(inventory={"omnichannel_inventory": True})
    assert port.accepts_stock_writes is False
    assert port.settings.accepts_stock_writes() is False
