"""Scend as the stock master, on its simulator: the free level (never on hand) less quarantined and damaged
units per warehouse, read from the updated-since feed; a feed row without its Breakdown is re-read, and a
feed the warehouse does not serve is one EndpointUnavailableError naming the setting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.scend.client import STOCK_FEED_SETTING, ScendClient
from shared.errors import EndpointUnavailableError
from shared.flows.stock import sellable
from shared.models.feed import split

RETRY = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=1, timeout_seconds=5)


@pytest.fixture
def sim(clock: VirtualClock) -> Iterator[ScendSimulator]:
    simulator = ScendSimulator("key", clock=clock, status_timings_minutes={})
    simulator.start()
    yield simulator
    simulator.stop()


def client(sim: ScendSimulator, clock: VirtualClock, **options: object) -> ScendClient:
    return ScendClient(
        f"{sim.url}api/",
        "key",
        retry=RETRY,
        clock=clock,
        http=httpx.Client(timeout=5),
        **options,  # type: ignore[arg-type]
    )


def test_feed_gives_free_less_quarantine_and_damaged_per_warehouse(sim: ScendSimulator, clock: VirtualClock) -> None:
    since = clock.now()
    clock.advance(5)
    sim.set_stock("TEE", 20, quarantine=2, damaged=3, warehouse_id=3)
    sim.set_stock("TEE", 7, warehouse_id=4)
    rows, rejected = split(client(sim, clock).stock_changed_since(since))
    assert rejected == []
    by_location = {row.location: row for row in rows}
    assert sorted(by_location) == ["3", "4"]
    three = by_location["3"]
    assert (three.available, three.on_hand, three.quarantined, three.damaged) == (20, 20, 2, 3)
    assert sellable(three) == Decimal(15)  # Level 20 less 2 quarantined and 3 damaged
    assert three.read_at == clock.now()
    assert sim.feed_calls == 1


def test_an_allocated_order_lowers_the_free_level_and_lists_again(sim: ScendSimulator, clock: VirtualClock) -> None:
    scend = client(sim, clock, warehouse_id=3)
    sim.set_stock("MUG", 10)
    clock.advance(60)
    since = clock.now()
    assert split(scend.stock_changed_since(since))[0] == []  # nothing moved since
    clock.advance(5)
    sim.set_stock("MUG", 10, quarantine=1)
    [row], _ = split(scend.stock_changed_since(since))
    assert (row.sku, row.available, row.quarantined, sellable(row)) == ("MUG", 10, 1, 9)


def test_rows_without_breakdown_are_reread_and_with_it_are_not(sim: ScendSimulator, clock: VirtualClock) -> None:
    since = clock.now() - timedelta(seconds=1)
    sim.set_stock("CAP", 5, quarantine=1)
    scend = client(sim, clock)
    sim.feed_breakdown = False  # a feed that leaves Breakdown out
    [row], _ = split(scend.stock_changed_since(since))
    assert row.quarantined == 1  # the feed gave no Breakdown: StockLevels?SKU=CAP&Breakdown=true did
    sim.feed_breakdown = True
    [again], _ = split(scend.stock_changed_since(since))
    assert again.quarantined == 1


def stock_reads(sim: ScendSimulator) -> dict[str, int]:
    """Scend's stock calls so far: the feed, and the StockLevels re-reads."""
    return {
        "feed": sim.requests["GET /api/product/stocklevels/updatedsince"],
        "reread": sim.requests["GET /api/product/stocklevels"],
    }


def test_feed_rows_that_carry_the_figure_cost_no_reread(sim: ScendSimulator, clock: VirtualClock) -> None:
    since = clock.now() - timedelta(seconds=1)
    for sku in ("TEE", "CAP", "MUG"):
        sim.set_stock(sku, 6, quarantine=1, warehouse_id=3)
    scend = client(sim, clock, warehouse_id=3)
    # Given a feed whose rows carry Level and Breakdown (card 3.6's row), one run is one call
    rows, _ = split(scend.stock_changed_since(since))
    assert sorted((row.sku, sellable(row)) for row in rows) == [("CAP", 5), ("MUG", 5), ("TEE", 5)]
    assert stock_reads(sim) == {"feed": 1, "reread": 0}
    # Given a feed that leaves Breakdown out: only a row with free units is re-read, by its SKU; a row at
    # Level 0 has nothing to hold back and is used as it stands
    sim.feed_breakdown = False
    sim.set_stock("MUG", 0, warehouse_id=3)
    rows, _ = split(scend.stock_changed_since(since))
    assert sorted((row.sku, sellable(row)) for row in rows) == [("CAP", 5), ("MUG", 0), ("TEE", 5)]
    assert stock_reads(sim) == {"feed": 2, "reread": 2}


def test_a_feed_the_warehouse_does_not_serve_names_its_setting(sim: ScendSimulator, clock: VirtualClock) -> None:
    sim.routes = [route for route in sim.routes if route[2] != sim._stock_updated_since]  # a Scend without it
    scend = client(sim, clock)
    with pytest.raises(EndpointUnavailableError) as raised:
        list(scend.stock_changed_since(clock.now()))
    assert raised.value.config_field == STOCK_FEED_SETTING
    assert client(sim, clock, stock_feed_endpoint=None).offers_stock_feed is False
