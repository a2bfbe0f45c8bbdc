"""Scend stock into commercetools inventory entries: the example client's stock pipeline run as deployed
(moto stores, the hops' handlers, the Scend simulator and the vendor's commercetools mock over HTTP).

The failure guarded against is overselling: a storefront figure above Scend's free stock, from on-hand
instead of free, quarantined or damaged units counted, an order commercetools accepted that Scend has not
allocated handed back by an absolute write, or an increase sold before a later read confirms it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from moto import mock_aws

from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators.commercetools import CommercetoolsMock, Seeder, node_mocks_required, unavailable_reason
from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import load_client_config
from shared.runtime import Runtime

EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "clients" / "example-commercetools-scend.yaml"
SKU = "MUG-WHT"


@dataclass
class Stock:
    local: LocalHopline
    scend: ScendSimulator
    mock: CommercetoolsMock
    seeder: Seeder
    channel: str
    clock: VirtualClock

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.local.runtime
        return runtime

    def tick(self) -> None:
        """One run of the stock schedule, then the pusher."""
        self.clock.advance(60)
        self.mock.pin_clock(self.clock.now())
        self.local.run_schedule("read_stock")
        self.local.drain()

    def entry(self) -> int | None:
        found = self.seeder.get("inventory", where=f'sku = "{SKU}" and supplyChannel(id = "{self.channel}")')
        rows = found["results"]
        return None if not rows else int(rows[0]["quantityOnStock"])


@pytest.fixture
def stock() -> Iterator[Stock]:
    reason = unavailable_reason()
    if reason:
        if node_mocks_required():
            pytest.fail(f"HOPLINE_REQUIRE_NODE_MOCKS=1 but {reason}")
        pytest.skip(reason)
    clock = VirtualClock()
    scend = ScendSimulator("scend-key", clock=clock, status_timings_minutes={})
    scend.start()
    mock = CommercetoolsMock(project_key="stock-steps").start()
    mock.pin_clock(clock.now())
    seeder = mock.seeder()
    try:
        channel = seeder.channel("scend-3")["id"]
        sync = seeder.channel("scend", roles=("OrderExport",))["id"]
        seeder.product([SKU], name="Mug")
        config = (
            load_client_config(EXAMPLE)
            .with_platform("scend", base_url=f"{scend.url}api/")
            .with_platform(
                "shop",
                project_key=mock.project_key,
                api_url=mock.base_url,
                auth_url=mock.base_url,
                supply_channels={"3": channel},
                sync_channel_id=sync,
            )
        )
        secrets = {
            "platforms.shop.credentials_secret": {"client_id": mock.client_id, "client_secret": mock.client_secret},
            "platforms.scend.credentials_secret": {"api_key": "scend-key"},
        }
        with mock_aws(config=MOTO_CONFIG):
            local = LocalHopline(config, clock)
            local.start(secrets)
            scend.set_stock(SKU, 20, quarantine=2, damaged=1)
            yield Stock(local, scend, mock, seeder, channel, clock)
    finally:
        seeder.close()
        mock.stop()
        scend.stop()


def test_free_less_held_back_units_then_feed_deltas_net_of_accepted_orders(stock: Stock) -> None:
    # The first run reads Scend in full: free 20 less 2 quarantined and 1 damaged
    stock.tick()
    assert stock.scend.feed_calls == 0
    assert stock.entry() == 17
    assert "quarantined 2 - damaged 1" in stock.rt.stock_levels.get("commercetools", SKU, "3")["explanation"]
    # Nothing moved: the feed lists nothing, nothing is written
    feed_calls = stock.scend.feed_calls
    writes = stock.rt.stock_levels.get("commercetools", SKU, "3")["pushed_at"]
    stock.tick()
    assert stock.scend.feed_calls == feed_calls + 1
    assert stock.rt.stock_levels.get("commercetools", SKU, "3")["pushed_at"] == writes
    # commercetools accepts an order of 3 that Scend has not allocated; then Scend counts one unit less.
    # The decrease goes at once, and the absolute write holds back the accepted 3 (no re-inflation)
    stock.seeder.order([(SKU, 3)], order_number="CT-1")
    stock.scend.set_stock(SKU, 19, quarantine=2, damaged=1)
    stock.tick()
    assert stock.entry() == 16 - 3


def test_an_increase_waits_for_a_later_read_that_the_feed_alone_would_not_make(stock: Stock) -> None:
    stock.tick()
    assert stock.entry() == 17
    stock.scend.set_stock(SKU, 40, quarantine=2, damaged=1)
    stock.tick()  # the feed lists the rise: awaiting confirmation, not sold
    assert stock.entry() == 17
    assert stock.rt.stock_levels.pending_skus("commercetools-pending") == {SKU}
    stock.tick()  # still 60 s: too soon (confirm_after_seconds 120); the SKU is re-read by name
    stock.tick()
    assert stock.entry() == 37
    assert stock.rt.stock_levels.pending_skus("commercetools-pending") == set()


def test_a_feed_scend_does_not_serve_opens_one_exception_and_the_schedule_reads_in_full(stock: Stock) -> None:
    stock.tick()  # the first, full read sets the feed's cursor
    stock.scend.routes = [route for route in stock.scend.routes if route[2] != stock.scend._stock_updated_since]
    stock.scend.set_stock(SKU, 15, quarantine=2, damaged=1)
    stock.tick()
    stock.scend.set_stock(SKU, 14, quarantine=2, damaged=1)
    stock.tick()
    assert stock.entry() == 11  # decreases still go out: full reads stand in for the feed
    feed_exceptions = [e for e in stock.rt.exceptions.list() if e.business_key == "endpoint#scend#stock_feed"]
    assert len(feed_exceptions) == 1
    assert "stock_feed_endpoint" in feed_exceptions[0].detail


def test_drift_compares_the_figure_the_push_writes_so_held_back_units_are_not_drift(stock: Stock) -> None:
    # Given Scend's free 20 with 2 quarantined and 1 damaged pushed as 17, and a best seller with its 2-unit
    # buffer (the example's sku_buffers) pushed as 10 less 1 quarantined less 2
    stock.seeder.product(["TEE-BLK-M"], name="Tee")
    stock.scend.set_stock("TEE-BLK-M", 10, quarantine=1)
    stock.tick()
    assert stock.entry() == 17
    # When the drift reconcile compares Scend with the shop's entries
    result = stock.local.run_schedule("reconcile_stock")
    # Then nothing drifts: the quarantined, damaged and buffered units are not in either figure
    assert (result["drift_skus"], result["flagged"]) == (0, 0)
    assert not [e for e in stock.rt.exceptions.list() if e.flow == "stock_drift"]
    # And a shop entry set by hand above what the push would write is drift, against that figure
    [entry] = stock.seeder.get("inventory", where=f'sku = "{SKU}"')["results"]
    stock.seeder.update(f"inventory/{entry['id']}", [{"action": "changeQuantity", "quantity": 25}])
    result = stock.local.run_schedule("reconcile_stock")
    assert (result["drift_skus"], result["flagged"]) == (1, 1)
    [record] = [e for e in stock.rt.exceptions.list() if e.flow == "stock_drift"]
    assert record.business_key == f"sku#{SKU}"
    assert "17" in record.detail and "25" in record.detail


def test_a_feed_row_whose_figure_did_not_move_costs_the_feed_read_only(stock: Stock) -> None:
    stock.tick()
    assert stock.entry() == 17
    # Scend lists the SKU again with the same figures (a count that found what it held)
    stock.scend.set_stock(SKU, 20, quarantine=2, damaged=1)
    rereads = stock.scend.requests["GET /api/product/stocklevels"]
    feed_calls, shop_calls = stock.scend.feed_calls, stock.mock.calls()
    stock.tick()
    # Then the feed's row is the figure: no StockLevels re-read, and nothing unchanged is written
    assert stock.scend.feed_calls == feed_calls + 1
    assert stock.scend.requests["GET /api/product/stocklevels"] == rereads
    assert stock.mock.calls() - shop_calls == {}
    assert stock.entry() == 17
