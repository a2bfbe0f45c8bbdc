"""Cin7 Core stock into SFCC as inventory-record allocations: the example client's stock pipeline run as
deployed (moto stores, the hops' handlers, the Cin7 Core and SFCC simulators over HTTP).

The failure this guards against is overselling on a launch day: a figure from the wrong locations, a figure
that ignores orders SFCC took and Cin7 has not seen yet, an order deducted twice or not at all because the
allocation's reset_date is not the Cin7 read's, and a refusal at SFCC that loops or vanishes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from functions.kit import DEFER_AT_LEAST_SECONDS
from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators.cin7_core import Cin7CoreSimulator
from sandbox.simulators.sfcc import SfccSimulator, sample_order
from shared.clock import VirtualClock
from shared.config import ClientConfig, load_client_config
from shared.connectors.sfcc.mapping import format_sfcc_datetime
from shared.models import ReasonCode
from shared.runtime import Runtime
from shared.steps.stock import record_orders_seen
from shared.stores.exceptions import ExceptionStatus
from shared.stores.ledger import Stage

EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "clients" / "example-sfcc-cin7.yaml"
SECRETS = {
    "platforms.cin7.credentials_secret": {"account_id": "acct-1", "application_key": "key-1"},
    "platforms.cin7.webhook_secret": {"secret": "hook-secret"},
    "platforms.sfcc.credentials_secret": {"client_id": "hopline-orders", "client_secret": "s3cret"},
}
WAREHOUSE, SHOP, LIST = "Main Warehouse", "Retail Store", "inventory_m"
SKU = "701643632930"


def figure(available: int) -> int:
    """The example's buffer: 1 unit plus 5 % (rounded up) of what Cin7 has at the mapped location."""
    return available - (1 + math.ceil(available * 5 / 100))


@dataclass
class Stock:
    local: LocalHopline
    cin7: Cin7CoreSimulator
    sfcc: SfccSimulator
    clock: VirtualClock

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.local.runtime
        return runtime

    def scheduled_read(self) -> datetime:
        """One tick of the stock schedule; returns when its Cin7 read began (the snapshot time)."""
        self.clock.advance(120)
        began = self.clock.now()
        self.local.run_schedule("read_stock")
        return began

    def push(self) -> None:
        """Drain stock-sync, then again after the delay of any record a push left for later (a batch that
        would have run past its Lambda's timeout)."""
        self.local.drain()
        sqs = self.local.client("sqs")
        url = self.local.queue_urls["stock-sync"]
        while int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"][
                "ApproximateNumberOfMessagesDelayed"
            ]
        ):
            self.clock.advance(DEFER_AT_LEAST_SECONDS)
            self.local.drain()

    def allocation(self, sku: str = SKU) -> dict[str, Any] | None:
        with self.sfcc.lock:
            record = self.sfcc.inventory.get((LIST, sku))
            return None if record is None else dict(record["allocation"])

    def ats(self, sku: str = SKU) -> int:
        with self.sfcc.lock:
            return int(self.sfcc.inventory_document(LIST, sku)["ats"])

    def record_writes(self) -> int:
        return len(self.sfcc.record_writes)

    def shop_order(self, order_no: str, quantity: int, placed: datetime) -> None:
        """An order SFCC took at `placed` (its own turnover counts it from then)."""
        order = sample_order(order_no, placed, site_id=self.sfcc.site_id)
        order["productItems"] = [{**order["productItems"][0], "productId": SKU, "quantity": quantity}]
        order["placeDate"] = format_sfcc_datetime(placed)
        self.sfcc.add_order(order)

    def accepted(self, order_no: str, quantity: int) -> None:
        """Hopline released the order to Cin7 Core and Cin7 has not taken it yet."""
        now = self.clock.now()
        self.rt.ledger.record_delivery(f"sfcc#{order_no}", order_number=order_no, trigger="poll", now=now)
        self.rt.ledger.set_stage(
            f"sfcc#{order_no}", Stage.RELEASED, self.clock.now(), ordered={SKU: Decimal(quantity)}, location=WAREHOUSE
        )

    def posted(self, order_no: str, quantity: int) -> None:
        """The sale is at Cin7 now, authorised: Available drops, the ledger says submitted."""
        self.cin7.adjust_stock(SKU, WAREHOUSE, -quantity)
        self.rt.ledger.record_submitted(
            f"sfcc#{order_no}",
            warehouse_order_id=f"sale-{order_no}",
            client_reference=f"EXS-{order_no}",
            created=True,
            now=self.clock.now(),
            ordered={SKU: Decimal(quantity)},
            location=WAREHOUSE,
        )

    def open_exceptions(self) -> list[Any]:
        return self.rt.exceptions.list(status=ExceptionStatus.OPEN)


def running(config: ClientConfig) -> Iterator[Stock]:
    clock = VirtualClock()
    cin7 = Cin7CoreSimulator("acct-1", "key-1", clock=clock)
    sfcc = SfccSimulator("hopline-orders", "s3cret", clock=clock, products={SKU, "CAP-NVY-S"})
    cin7.start()
    sfcc.start()
    try:
        pointed = config.with_platform("cin7", base_url=f"{cin7.url}ExternalApi/v2/").with_platform(
            "sfcc",
            organization_id=sfcc.organization_id,
            auth_url=sfcc.url + "dwsso/oauth2/access_token",
            scapi_base_url=sfcc.url,
            ocapi_base_url=sfcc.url,
        )
        with mock_aws(config=MOTO_CONFIG):
            local = LocalHopline(pointed, clock)
            local.start(SECRETS)
            cin7.add_product(SKU, "Flat Front Pant")
            cin7.set_stock(SKU, WAREHOUSE, 100, two_bins=True)
            cin7.set_stock(SKU, SHOP, 12)
            yield Stock(local, cin7, sfcc, clock)
    finally:
        cin7.stop()
        sfcc.stop()


@pytest.fixture
def example() -> ClientConfig:
    return load_client_config(EXAMPLE)


@pytest.fixture
def stock(example: ClientConfig) -> Iterator[Stock]:
    yield from running(example)


def test_cin7_available_at_mapped_locations_less_buffer_is_the_allocation_reset_at_the_read(stock: Stock) -> None:
    # Given 100 available at the warehouse (reported in two bins) and 12 in the shop
    began = stock.scheduled_read()
    stock.push()
    # Then SFCC's allocation is the warehouse's Available less the buffer, never the shop's stock,
    # reset at the moment the Cin7 read began
    assert stock.allocation() == {"amount": figure(100), "reset_date": format_sfcc_datetime(began)}
    record = stock.rt.stock_levels.get("sfcc", SKU, LIST)
    assert record["quantity"] == figure(100)
    assert "Retail Store excluded (12)" in record["explanation"] and "buffer 6" in record["explanation"]
    # An unchanged read costs no SFCC call (deltas only); a decrease goes at once with the new read's time
    writes = stock.record_writes()
    stock.scheduled_read()
    stock.push()
    assert stock.record_writes() == writes
    stock.cin7.adjust_stock(SKU, WAREHOUSE, -10)
    later = stock.scheduled_read()
    stock.push()
    assert stock.allocation() == {"amount": figure(90), "reset_date": format_sfcc_datetime(later)}
    assert stock.record_writes() == writes + 1  # one PATCH: the record exists now


def test_an_order_placed_after_the_snapshot_is_deducted_once_and_one_on_its_way_is_held_back(stock: Stock) -> None:
    first = stock.scheduled_read()
    stock.push()
    assert stock.ats() == figure(100)
    # SFCC takes an order after the snapshot: its own turnover deducts it
    stock.clock.advance(10)
    stock.shop_order("00002001", 4, stock.clock.now())
    assert stock.clock.now() > first and stock.ats() == figure(100) - 4
    # It reaches Cin7 (Available 96). The next figure is reset at its read: the order is counted by Cin7's
    # Available and not by SFCC's turnover, so what SFCC may sell is the same, not 4 fewer
    stock.clock.advance(10)
    stock.posted("00002001", 4)
    stock.scheduled_read()
    stock.push()
    assert stock.allocation()["amount"] == figure(96)  # type: ignore[index]
    assert stock.ats() == figure(96)
    # An order SFCC took before the next read that Cin7 has not seen yet is held back by us, since neither
    # Cin7's figure nor SFCC's turnover after the reset counts it
    stock.clock.advance(10)
    stock.shop_order("00002002", 3, stock.clock.now())
    stock.accepted("00002002", 3)
    stock.scheduled_read()
    stock.push()
    assert stock.allocation()["amount"] == figure(96) - 3  # type: ignore[index]
    assert "in flight 3" in stock.rt.stock_levels.get("sfcc", SKU, LIST)["explanation"]


def test_an_order_reaching_cin7_between_the_read_and_the_push_is_still_held_back(stock: Stock) -> None:
    stock.scheduled_read()
    stock.push()
    stock.accepted("00003001", 5)
    stock.clock.advance(10)
    stock.shop_order("00003001", 5, stock.clock.now() - timedelta(seconds=5))
    # The read begins; the sale lands at Cin7 before the figures are pushed
    began = stock.scheduled_read()
    stock.clock.advance(5)
    stock.posted("00003001", 5)
    stock.push()
    # The figure read at `began` predates the sale: it is held back, or SFCC would sell those 5 units twice
    assert stock.allocation() == {"amount": figure(100) - 5, "reset_date": format_sfcc_datetime(began)}
    assert stock.ats() == figure(100) - 5


def test_an_order_no_poll_had_listed_at_the_read_is_counted_by_sfcc_from_the_poll(stock: Stock) -> None:
    # Given the release poll ran (nothing to take yet)
    stock.clock.advance(30)
    polled = stock.clock.now()
    stock.local.run_schedule("poll_sales")
    # When SFCC takes an order of 4 after that poll, and the stock read runs before the next poll lists it
    stock.clock.advance(10)
    stock.shop_order("00003001", 4, stock.clock.now())
    stock.scheduled_read()
    stock.push()
    # Then the allocation counts SFCC's orders from the poll, not the read: the site deducts the order itself
    assert stock.allocation() == {"amount": figure(100), "reset_date": format_sfcc_datetime(polled)}
    assert stock.ats() == figure(100) - 4
    # When the next poll takes it to Cin7 (Available 96) before any new figure
    stock.clock.advance(30)
    record_orders_seen(stock.rt, stock.clock.now())  # what poll_sales records as it begins reading
    stock.posted("00003001", 4)
    # Then SFCC never offers more than Cin7's Available less the buffer (counted from the read it offered 4 more)
    assert stock.ats() <= figure(96)
    # And the next figure, counted from that poll, deducts the order once: in Cin7's Available
    stock.scheduled_read()
    stock.push()
    assert stock.ats() == figure(96)


def test_cin7s_stock_webhook_pushes_the_re_read_figure(stock: Stock) -> None:
    stock.scheduled_read()
    stock.push()
    stock.clock.advance(30)
    stock.cin7.adjust_stock(SKU, WAREHOUSE, -20)
    header = stock.local.config.platforms["cin7"].webhook_header  # type: ignore[attr-defined]
    body = json.dumps(stock.cin7.stock_webhook_payload([SKU]), default=str)
    sent = stock.clock.now()
    status, _ = stock.local.call_api("POST", "/webhooks/cin7/stock", headers={header: "hook-secret"}, body=body)
    assert status == 202  # accepted: queued for the pusher
    stock.push()
    allocation = stock.allocation()
    assert allocation is not None and allocation["amount"] == figure(80)
    # The webhook's rows are not trusted: the figure is Cin7's re-read, reset at that read
    assert allocation["reset_date"] >= format_sfcc_datetime(sent)


def test_a_product_sfcc_does_not_hold_is_one_refused_row_and_the_rest_stand(stock: Stock) -> None:
    stock.cin7.add_product("GHOST-1", "Not in SFCC")
    stock.cin7.set_stock("GHOST-1", WAREHOUSE, 30)
    stock.scheduled_read()
    stock.push()
    assert stock.allocation() is not None and stock.allocation("GHOST-1") is None
    [refused] = stock.open_exceptions()
    assert refused.reasons == (ReasonCode.STOCK_PUSH_REJECTED.value,)
    assert refused.business_key == f"sku#GHOST-1#{LIST}"
    assert "ProductNotFoundException" in refused.detail or "no product" in refused.detail


def test_a_refused_figure_taken_once_the_product_exists_closes_its_exception(stock: Stock) -> None:
    # Given a new SKU's stock refused because SFCC does not hold the product yet
    stock.cin7.add_product("DROP-1", "New drop")
    stock.cin7.set_stock("DROP-1", WAREHOUSE, 30)
    stock.scheduled_read()
    stock.push()
    [refused] = stock.open_exceptions()
    assert refused.business_key == f"sku#DROP-1#{LIST}"
    # When the catalogue creates the product at SFCC and the next read writes its figure
    stock.sfcc.add_product("DROP-1")
    stock.scheduled_read()
    stock.push()
    # Then the record holds the figure and nothing is left open for operations
    assert stock.allocation("DROP-1") is not None and stock.allocation("DROP-1")["amount"] == figure(30)  # type: ignore[index]
    assert stock.open_exceptions() == []
    [closed] = stock.rt.exceptions.for_record(f"sku#DROP-1#{LIST}", flow="stock_sync")
    assert closed.resolved_by == "push_stock"


def test_an_unknown_inventory_list_is_one_exception_and_writes_pause(example: ClientConfig) -> None:
    assert example.pipelines.stock is not None
    wrong = example.model_copy(
        update={
            "pipelines": example.pipelines.model_copy(
                update={"stock": example.pipelines.stock.model_copy(update={"locations": {WAREHOUSE: "inventory_x"}})}
            )
        }
    )
    for stock in running(wrong):
        stock.cin7.add_product("CAP-NVY-S", "Cap")
        stock.cin7.set_stock("CAP-NVY-S", WAREHOUSE, 8)
        stock.scheduled_read()
        stock.push()
        [exception] = stock.open_exceptions()
        assert exception.reasons == (ReasonCode.ENDPOINT_UNAVAILABLE.value,)
        assert "pipelines.stock.locations" in exception.detail
        calls = stock.sfcc.requests.copy()
        # While it is open no record write is tried, and nothing is recorded as pushed
        stock.cin7.adjust_stock(SKU, WAREHOUSE, -1)
        stock.scheduled_read()
        stock.push()
        assert stock.sfcc.requests == calls
        assert stock.rt.stock_levels.get("sfcc", SKU, "inventory_x") is None
        assert len(stock.open_exceptions()) == 1


def cin7_reads(stock: Stock) -> int:
    return sum(n for route, n in stock.cin7.requests.items() if "productavailability" in route)


def sfcc_writes(stock: Stock) -> int:
    return sum(n for route, n in stock.sfcc.requests.items() if "product_inventory_records" in route)


def test_what_a_catalogue_of_250_skus_costs_in_calls(example: ClientConfig) -> None:
    for stock in running(example):
        skus = [f"SKU-{n:03d}" for n in range(250)]
        for sku in skus:
            stock.sfcc.add_product(sku)
            stock.cin7.add_product(sku, sku)
            stock.cin7.set_stock(sku, WAREHOUSE, 40, two_bins=False)
        # The first full read: one Cin7 page (1,000 rows), then every record created (PATCH 404, PUT)
        stock.scheduled_read()
        stock.push()
        assert cin7_reads(stock) == 1
        # 250 new SKUs and the fixture's SKU; a batch of five messages (500 calls) would outlast its Lambda,
        # so it gives way when out of time and the rest go later: a new record interrupted between its PATCH
        # 404 and its PUT costs one PATCH more
        created = sfcc_writes(stock)
        assert 2 * 251 <= created <= 2 * 251 + 2
        # Nothing changed: one Cin7 page, no SFCC call
        stock.scheduled_read()
        stock.push()
        assert (cin7_reads(stock), sfcc_writes(stock)) == (2, created)
        # Ten SKUs sell down: one Cin7 page still, one PATCH per changed SKU
        for sku in skus[:10]:
            stock.cin7.adjust_stock(sku, WAREHOUSE, -5)
        stock.scheduled_read()
        stock.push()
        assert (cin7_reads(stock), sfcc_writes(stock)) == (3, created + 10)
        # One SKU's webhook: re-read by whichever costs fewer calls (a Sku= read here), one PATCH
        stock.cin7.adjust_stock(skus[20], WAREHOUSE, -3)
        header = stock.local.config.platforms["cin7"].webhook_header  # type: ignore[attr-defined]
        body = json.dumps(stock.cin7.stock_webhook_payload([skus[20]]), default=str)
        stock.local.call_api("POST", "/webhooks/cin7/stock", headers={header: "hook-secret"}, body=body)
        stock.push()
        assert (cin7_reads(stock), sfcc_writes(stock)) == (4, created + 11)
