"""Stock reads and pushes against the simulators: Cin7 Core as the master (Available per location, bins
summed), Scend as the target (batched absolute pushes) and the other side for drift (physical levels)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.simulators.cin7_core import Cin7CoreSimulator
from sandbox.simulators.scend import CANCELLED, ScendSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.cin7_core import Cin7CoreClient
from shared.connectors.http import TokenBucket
from shared.connectors.scend.client import STOCK_WRITE_SETTING, ScendClient
from shared.errors import EndpointUnavailableError, PermanentError, RateLimitedError, TransientError
from shared.models import ReasonCode
from shared.models.feed import Rejected, split
from shared.models.shipment import Shipment, ShipmentLine
from shared.models.stock import RejectedPush, StockPush, StockRow

ACCOUNT_ID = "acct-sandbox"
APPLICATION_KEY = "key-sandbox"
RETRY = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=1, timeout_seconds=5)
SCEND_UK = "Scend UK"
WAREHOUSE = 3


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def cin7(clock: VirtualClock) -> Iterator[Cin7CoreSimulator]:
    sim = Cin7CoreSimulator(ACCOUNT_ID, APPLICATION_KEY, clock=clock, calls_per_minute=10_000)
    sim.start()
    yield sim
    sim.stop()


def cin7_client(sim: Cin7CoreSimulator, clock: VirtualClock, *, page_limit: int = 100) -> Cin7CoreClient:
    return Cin7CoreClient(
        f"{sim.url}ExternalApi/v2/",
        ACCOUNT_ID,
        APPLICATION_KEY,
        retry=RETRY,
        clock=clock,
        http=httpx.Client(timeout=5),
        page_limit=page_limit,
    )


STOCK_WRITE = "Product/ChannelStockLevels"  # the inferred endpoint, as the example client names it


@pytest.fixture
def scend(clock: VirtualClock) -> Iterator[ScendSimulator]:
    sim = ScendSimulator("skey", clock=clock, stock_write_endpoint=STOCK_WRITE)
    sim.start()
    yield sim
    sim.stop()


def scend_client(sim: ScendSimulator, clock: VirtualClock, **options: Any) -> ScendClient:
    options.setdefault("warehouse_id", WAREHOUSE)
    options.setdefault("stock_write_endpoint", STOCK_WRITE)
    return ScendClient(f"{sim.url}api/", "skey", retry=RETRY, clock=clock, http=httpx.Client(timeout=5), **options)


def by_key(rows: list[StockRow]) -> dict[tuple[str, str], StockRow]:
    keyed = {(row.sku, row.location): row for row in rows}
    assert len(keyed) == len(rows), "a SKU x location was yielded twice"
    return keyed


def calls(sim: Cin7CoreSimulator | ScendSimulator, route: str) -> int:
    return sum(count for key, count in sim.requests.items() if key.endswith(route.lower()))


# -- Cin7 Core: the master ---------------------------------------------------------------------------


def test_cin7_reads_every_row_in_pages_and_sums_bins_across_page_boundaries(
    cin7: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given 30 SKUs at two locations, every third one reported as two Bin rows
    for n in range(30):
        for location, on_hand in ((SCEND_UK, 10 + n), ("Retail Store", 5)):
            cin7.set_stock(f"SKU-{n:03d}", location, on_hand, two_bins=n % 3 == 0)
    wire_rows = 60 + 20  # 60 stock rows, 20 of them split in two
    client = cin7_client(cin7, clock, page_limit=7)
    # When everything is read with pages of 7 rows
    rows = list(client.stock_levels())
    # Then each SKU x location comes once, whole, though 80 wire rows straddle 12 page boundaries
    assert calls(cin7, "ref/productavailability") == math.ceil(wire_rows / 7)
    keyed = by_key(rows)
    assert len(keyed) == 60
    for n in range(30):
        row = keyed[(f"SKU-{n:03d}", SCEND_UK)]
        assert (row.on_hand, row.allocated, row.available) == (10 + n, 0, 10 + n)
        assert keyed[(f"SKU-{n:03d}", "Retail Store")].available == 5
    assert not any(isinstance(row, Rejected) for row in rows)


def test_cin7_bin_rows_are_summed_and_stock_on_hand_is_not_read_as_units(
    cin7: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given 10 units at Scend UK reported as two bins, with 4 of them allocated to an authorised sale
    cin7.set_stock("TEE-BLK-M", SCEND_UK, 10, two_bins=True)
    cin7.add_sale(order_number="SO-1", lines=[("TEE-BLK-M", 4, Decimal("12.50"))], location=SCEND_UK)
    payload = cin7.stock_webhook_payload(["TEE-BLK-M"])
    assert [(row["Bin"], row["OnHand"], row["Allocated"]) for row in payload] == [
        ("Bin A-01", 7, 4),
        ("Bin B-01", 3, 0),
    ]
    assert all(row["StockOnHand"] != row["OnHand"] for row in payload)
    # When the SKU is read
    [row] = cin7_client(cin7, clock).stock_levels(["TEE-BLK-M"])
    # Then the two bins make one row
    assert (row.sku, row.location, row.on_hand, row.allocated, row.available) == ("TEE-BLK-M", SCEND_UK, 10, 4, 6)
    assert row.available == cin7.availability("TEE-BLK-M", SCEND_UK)


def test_cin7_sku_reads_keep_only_the_exact_sku_of_a_partial_match(
    cin7: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given SKUs that a partial Sku filter confuses
    for sku, on_hand in (("TEE-BLK-M", 10), ("TEE-BLK-ML", 20), ("tee-blk-m", 30), ("CAP-NVY-S", 4)):
        cin7.set_stock(sku, SCEND_UK, on_hand)
    client = cin7_client(cin7, clock)
    # When two SKUs are read (one repeated, one blank) and the whole list fits in one page
    rows = list(client.stock_levels(["TEE-BLK-M", "CAP-NVY-S", "TEE-BLK-M", " "]))
    # Then one call reads the list, and only exact matches come back, in the order asked
    assert calls(cin7, "ref/productavailability") == 1
    assert [(row.sku, row.available) for row in rows] == [("TEE-BLK-M", 10), ("CAP-NVY-S", 4)]
    # And a SKU Cin7 holds no stock row for yields nothing
    assert list(client.stock_levels(["NOPE"])) == []
    # When the list takes more pages than there are SKUs (one row a page): each distinct SKU is read by itself
    paged = cin7_client(cin7, clock, page_limit=1)
    list(paged.stock_levels(["CAP-NVY-S"]))  # its first page says how long the list is
    cin7.calls.clear()
    rows = list(paged.stock_levels(["TEE-BLK-M", "CAP-NVY-S", "TEE-BLK-M", " "]))
    assert {reason for _, reason in cin7.calls} == {"GET ref/productavailability: availability of one SKU"}
    assert [(row.sku, row.available) for row in rows] == [("TEE-BLK-M", 10), ("CAP-NVY-S", 4)]


def test_cin7_reads_for_events_before_a_listing_are_answered_by_it(
    cin7: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given two SKUs, and a stock event about each at the same moment
    cin7.set_stock("TEE-BLK-M", SCEND_UK, 10)
    cin7.set_stock("CAP-NVY-S", SCEND_UK, 4)
    client = cin7_client(cin7, clock)
    event_at = clock.now()
    clock.advance(1)
    # When the first event's SKU is read, after the events: one listing call
    [first] = client.stock_levels(["TEE-BLK-M"], fresh_after=event_at)
    assert (first.available, first.read_at) == (10, clock.now())
    # Then the second event's read is answered by that listing, with no call and its read time
    cin7.adjust_stock("CAP-NVY-S", SCEND_UK, 5)
    [second] = client.stock_levels(["CAP-NVY-S"], fresh_after=event_at)
    assert (second.available, second.read_at) == (4, first.read_at)
    assert calls(cin7, "ref/productavailability") == 1
    # And an event after the listing (or a read that asks nothing about freshness) reads again
    clock.advance(1)
    [third] = client.stock_levels(["CAP-NVY-S"], fresh_after=first.read_at)
    [fourth] = client.stock_levels(["CAP-NVY-S"])
    assert (third.available, fourth.available) == (9, 9)
    assert calls(cin7, "ref/productavailability") == 3


def test_cin7_location_filter_is_exact(cin7: Cin7CoreSimulator, clock: VirtualClock) -> None:
    for location in (SCEND_UK, "Scend UK 2", "Retail Store"):
        cin7.set_stock("TEE-BLK-M", location, 3)
    rows = list(cin7_client(cin7, clock).stock_levels(location="scend uk"))
    assert [(row.sku, row.location) for row in rows] == [("TEE-BLK-M", SCEND_UK)]


def shipment(*lines: tuple[str, int]) -> Shipment:
    when = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    return Shipment(
        warehouse="scend",
        parcel_id="700101",
        warehouse_order_id="50001",
        client_reference="EXA-1",
        despatched_at=when,
        tracking_numbers=("JB000700101GB",),
        updated_at=when,
        lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(q)) for sku, q in lines),
    )


def test_cin7_an_authorised_sale_allocates_until_shipped_and_a_void_frees_it(
    cin7: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    cin7.set_stock("TEE-BLK-M", SCEND_UK, 10)
    cin7.set_stock("TEE-BLK-M", "Retail Store", 10)
    client = cin7_client(cin7, clock)

    def figures() -> tuple[Decimal, Decimal, Decimal]:
        [row] = client.stock_levels(["TEE-BLK-M"], location=SCEND_UK)
        return row.on_hand, row.allocated, row.available

    # Given a draft sale: nothing allocated
    draft = cin7.add_sale(order_number="SO-1", lines=[("TEE-BLK-M", 2, Decimal(1))], order_status="DRAFT")
    assert figures() == (10, 0, 10)
    # When an authorised sale of 3 at Scend UK arrives, Available drops (the shop's stock does not)
    sale_id = cin7.add_sale(order_number="SO-2", lines=[("TEE-BLK-M", 3, Decimal(1))], location=SCEND_UK)
    assert figures() == (10, 3, 7)
    assert cin7.availability("TEE-BLK-M", "Retail Store") == 10
    # When the draft is authorised too, and then voided
    cin7.update_sale(draft, OrderStatus="AUTHORISED")
    assert figures() == (10, 5, 5)
    cin7.update_sale(draft, Status="VOIDED")
    assert figures() == (10, 3, 7)
    # When the sale ships: the units leave on hand and allocated together
    [task] = client.fulfilments(sale_id)
    parcel = shipment(("TEE-BLK-M", 3))
    client.authorise_pick(sale_id, task.task_id, parcel, SCEND_UK)
    client.authorise_pack(sale_id, task.task_id, parcel, SCEND_UK)
    assert figures() == (10, 3, 7)
    client.authorise_ship(sale_id, task.task_id, parcel)
    assert figures() == (7, 0, 7)
    # And stock moves keep Available = on hand - allocated
    cin7.adjust_stock("TEE-BLK-M", SCEND_UK, -2)
    assert figures() == (5, 0, 5) and cin7.availability("TEE-BLK-M", SCEND_UK) == 5


def test_cin7_lists_only_stock_products(cin7: Cin7CoreSimulator, clock: VirtualClock) -> None:
    product_id = cin7.add_product("GIFT-WRAP", "Gift wrap")
    cin7.set_stock("GIFT-WRAP", SCEND_UK, 100)
    cin7.set_stock("TEE-BLK-M", SCEND_UK, 1)
    client = cin7_client(cin7, clock)
    assert {row.sku for row in client.stock_levels()} == {"GIFT-WRAP", "TEE-BLK-M"}
    cin7.update_product(product_id, Type="Service")
    assert {row.sku for row in client.stock_levels()} == {"TEE-BLK-M"}


def test_cin7_a_shared_budget_paces_a_long_read_under_the_limit(clock: VirtualClock) -> None:
    # Given Cin7's limit of 3 calls a minute, a budget sized as the runtime sizes it, and 5 pages to read
    sim = Cin7CoreSimulator(ACCOUNT_ID, APPLICATION_KEY, clock=clock, calls_per_minute=3)
    with sim:
        for n in range(5):
            sim.set_stock(f"SKU-{n}", SCEND_UK, n, two_bins=False)
        client = Cin7CoreClient(
            f"{sim.url}ExternalApi/v2/",
            ACCOUNT_ID,
            APPLICATION_KEY,
            retry=RETRY,
            clock=clock,
            budget=TokenBucket(2, 60, clock, capacity=1),
            http=httpx.Client(timeout=5),
            page_limit=1,
        )
        # When it is read
        rows = list(client.stock_levels())
    # Then every row came through without a single 503, the budget spacing the calls on the clock
    assert [row.available for row in rows] == [0, 1, 2, 3, 4]
    assert sim.throttled == client.stats.throttled == 0
    assert clock.slept >= 4 * 30 - 1


# -- Cin7 Core: error shapes (mock transport) ----------------------------------------------------------


def mock_cin7(pages: list[list[dict[str, Any]]], total: int) -> Cin7CoreClient:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        rows = pages[page - 1] if page <= len(pages) else []
        return httpx.Response(200, json={"Total": total, "Page": page, "ProductAvailabilityList": rows})

    return Cin7CoreClient(
        "https://cin7.test/ExternalApi/v2/",
        ACCOUNT_ID,
        APPLICATION_KEY,
        retry=RETRY,
        clock=VirtualClock(),
        http=httpx.Client(transport=httpx.MockTransport(answer)),
        page_limit=2,
    )


def wire(sku: str, location: str, available: Any, bin_name: str | None = None) -> dict[str, Any]:
    return {
        "ID": f"id-{sku}",
        "SKU": sku,
        "Location": location,
        "Bin": bin_name,
        "OnHand": available,
        "Allocated": 0,
        "Available": available,
        "StockOnHand": 999.5,
    }


def test_cin7_malformed_rows_are_set_aside_and_a_repeated_bin_row_counts_once() -> None:
    # Page 2 repeats page 1's last row (the list shifted while we paged); page 3 carries two bad rows
    pages: list[list[dict[str, Any]]] = [
        [wire("A", SCEND_UK, 4, "Bin A-01"), wire("B", SCEND_UK, 2, "Bin A-01")],
        [wire("B", SCEND_UK, 2, "Bin A-01"), wire("B", SCEND_UK, 1.5, "Bin B-01")],
        [{"SKU": "C", "Location": SCEND_UK}, {"SKU": "", "Location": SCEND_UK, "Available": 1}],
    ]
    client = mock_cin7(pages, total=6)
    rows, rejected = split(client.stock_levels())
    assert [(row.sku, row.available) for row in rows] == [("A", 4), ("B", Decimal("3.5"))]
    errors = [row.detail for row in rejected]
    assert len(errors) == 2
    assert "Available" in errors[0] and "required field is missing" in errors[0]
    assert "SKU" in errors[1]


def test_cin7_a_sku_location_listed_in_two_places_is_not_yielded_twice() -> None:
    pages = [[wire("A", SCEND_UK, 4), wire("B", SCEND_UK, 2)], [wire("A", SCEND_UK, 1, "Bin B-01")]]
    client = mock_cin7(pages, total=3)
    rows, set_aside = split(client.stock_levels())
    assert [(row.sku, row.available) for row in rows] == [("A", 4), ("B", 2)]
    [rejected] = set_aside
    assert "two places" in rejected.detail


# -- Scend: the other side (physical levels) ------------------------------------------------------------


def put_order(sim: ScendSimulator, reference: str, *items: tuple[str, int], warehouse_id: int = WAREHOUSE) -> int:
    body = {
        "OrderNumber": reference,
        "Address1": "1 High St",
        "Town": "Leeds",
        "PostCode": "LS1 1AA",
        "Country": "GB",
        "WarehouseId": warehouse_id,
        "OrderItems": [{"SKU": sku, "Quantity": quantity} for sku, quantity in items],
    }
    answer = httpx.put(f"{sim.url}api/Order", json=body, headers={"ms-apikey": "skey"}, timeout=5).json()
    assert answer[0]["Success"], answer
    return int(answer[0]["OrderId"])


def test_scend_levels_map_breakdown_and_follow_orders(scend: ScendSimulator, clock: VirtualClock) -> None:
    # Given 50 units at warehouse 3, 2 quarantined and 1 damaged
    scend.set_stock("TEE-BLK-M", 50, quarantine=2, damaged=1)
    client = scend_client(scend, clock)

    def read() -> StockRow:
        [row] = client.stock_levels(["TEE-BLK-M"])
        return row

    row = read()
    assert (row.sku, row.location, row.on_hand, row.allocated, row.available) == ("TEE-BLK-M", "3", 50, 0, 50)
    assert (row.quarantined, row.damaged) == (2, 1)
    # When orders for 4 and 5 units are created at Scend: allocated, Level net of them
    despatched = put_order(scend, "EXA-1", ("TEE-BLK-M", 4))
    cancelled = put_order(scend, "EXA-2", ("TEE-BLK-M", 5))
    row = read()
    assert (row.on_hand, row.allocated, row.available) == (50, 9, 41)
    assert scend.stock_level("TEE-BLK-M") == {
        "total": 50,
        "allocated": 9,
        "level": 41,
        "quarantine": 2,
        "damaged": 1,
        "sellable": 38,
    }
    # When one is cancelled and the other despatches (two hours on the clock)
    scend.set_status(cancelled, CANCELLED)
    clock.advance(121 * 60)
    row = read()
    assert scend.orders()[despatched - 50001]["OrderStatusId"] == 4
    assert (row.on_hand, row.allocated, row.available, row.quarantined) == (46, 0, 46, 2)
    assert row.updated_at is not None


def test_scend_reads_in_pages_of_the_configured_warehouse(scend: ScendSimulator, clock: VirtualClock) -> None:
    # Given 205 SKUs at warehouse 3 and some at warehouse 4
    for n in range(205):
        scend.set_stock(f"SKU-{n:03d}", n)
    scend.set_stock("SKU-000", 7, warehouse_id=4)
    # When the warehouse-3 client reads everything
    rows = list(scend_client(scend, clock).stock_levels())
    # Then three pages (100, 100, 5: the short page ends it), warehouse 3 only, Breakdown asked for
    assert calls(scend, "product/stocklevels") == 3
    assert len(by_key(rows)) == 205 and {row.location for row in rows} == {"3"}
    # And a client with no warehouse configured sees a row per warehouse
    every = by_key(list(scend_client(scend, clock, warehouse_id=None).stock_levels(["SKU-000"])))
    assert {key: row.on_hand for key, row in every.items()} == {("SKU-000", "3"): 0, ("SKU-000", "4"): 7}


# -- Scend: the target (pushes) --------------------------------------------------------------------------


def test_scend_push_applies_known_skus_and_returns_the_refused_ones(scend: ScendSimulator, clock: VirtualClock) -> None:
    scend.add_product("TEE-BLK-M")
    scend.add_product("CAP-NVY-S")
    client = scend_client(scend, clock)
    rejected = client.push_stock(
        [
            StockPush(sku="TEE-BLK-M", location="3", quantity=12),
            StockPush(sku="GHOST-1", location="3", quantity=4),
            StockPush(sku="CAP-NVY-S", location="3", quantity=0),
            StockPush(sku="CAP-NVY-S", location="main", quantity=2),
        ]
    )
    assert rejected == [
        RejectedPush(sku="CAP-NVY-S", location="main", message="location 'main' is not a Scend WarehouseId"),
        RejectedPush(sku="GHOST-1", location="3", message="Product not found"),
    ]
    assert scend.channel_stock == {("TEE-BLK-M", 3): 12, ("CAP-NVY-S", 3): 0}
    assert scend.channel_writes == 1
    # And pushing the same figures again changes nothing (absolute, so retries are safe)
    client.push_stock([StockPush(sku="TEE-BLK-M", location="3", quantity=12)])
    assert scend.channel_stock[("TEE-BLK-M", 3)] == 12


def test_scend_push_splits_into_batches_of_100(scend: ScendSimulator, clock: VirtualClock) -> None:
    pushes = [StockPush(sku=f"SKU-{n:03d}", location="3", quantity=n) for n in range(250)]
    for push in pushes:
        scend.add_product(push.sku)
    client = scend_client(scend, clock)
    assert client.push_batch_size == 100
    assert client.push_stock(pushes) == []
    assert scend.channel_writes == 3
    assert len(scend.channel_stock) == 250 and scend.channel_stock[("SKU-249", 3)] == 249


def test_scend_simulator_refuses_more_than_100_rows(scend: ScendSimulator) -> None:
    rows = [{"SKU": "X", "WarehouseId": 3, "Quantity": 1}] * 101
    response = httpx.post(f"{scend.url}api/Product/ChannelStockLevels", json=rows, headers={"ms-apikey": "skey"})
    assert response.status_code == 400
    assert "at most 100 rows" in response.json()["Detail"]


class RecordingBudget:
    """A RateBudget that lets every call through and records what throttling fed back to it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.penalties: list[float] = []

    def acquire(self, cost: int = 1) -> None:
        self.acquired += cost

    def penalise(self, seconds: float) -> None:
        self.penalties.append(seconds)


def test_scend_cloudflare_429_feeds_the_budget(clock: VirtualClock) -> None:
    # Given Scend behind a 2-calls-a-minute throttle, and a client sharing a budget
    sim = ScendSimulator("skey", clock=clock, calls_per_minute=2)
    budget = RecordingBudget()
    with sim:
        for n in range(3):
            sim.set_stock(f"SKU-{n}", 10)
        client = ScendClient(
            f"{sim.url}api/",
            "skey",
            warehouse_id=WAREHOUSE,
            retry=RETRY,
            clock=clock,
            budget=budget,
            http=httpx.Client(timeout=5),
            page_limit=1,
        )
        # When a read needs more calls than the minute allows
        with pytest.raises(RateLimitedError) as raised:
            list(client.stock_levels())
        # Then the HTML 429 was read as a rate limit (not a bad body) and each one penalised the budget
        assert raised.value.status == 429
        assert sim.throttled == client.stats.throttled == 2
        assert budget.penalties == [5.0, 5.0]
        # And once the minute has passed, a read that fits in it goes through (a full page, then an empty one)
        clock.advance(60)
        assert [row.sku for row in client.stock_levels(["SKU-1"])] == ["SKU-1"]
    assert budget.acquired == 4 + 2


# -- Scend: error shapes (mock transport) ---------------------------------------------------------------


def mock_scend(answer: Callable[[httpx.Request], httpx.Response]) -> ScendClient:
    return ScendClient(
        "https://scend.test/api/",
        "skey",
        warehouse_id=WAREHOUSE,
        retry=RETRY,
        clock=VirtualClock(),
        http=httpx.Client(transport=httpx.MockTransport(answer)),
        stock_write_endpoint=STOCK_WRITE,
    )


def test_scend_a_refused_batch_is_stock_push_rejected() -> None:
    client = mock_scend(lambda _request: httpx.Response(400, json={"Message": "The request is invalid."}))
    with pytest.raises(PermanentError) as raised:
        client.push_stock([StockPush(sku="A", location="3", quantity=1)])
    assert raised.value.reason is ReasonCode.STOCK_PUSH_REJECTED
    assert "The request is invalid." in raised.value.detail


@pytest.mark.parametrize("status", [404, 405])
def test_scend_a_stock_write_endpoint_the_warehouse_lacks_is_one_clear_error_naming_the_setting(status: int) -> None:
    # Given a warehouse that does not offer the inferred endpoint the config names
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(status, json={"Message": "No HTTP resource was found that matches the request URI"})

    client = mock_scend(answer)
    # When figures are pushed / Then one call, and an error for operations that says what to check
    with pytest.raises(EndpointUnavailableError) as raised:
        client.push_stock([StockPush(sku="A", location="3", quantity=1)])
    assert len(sent) == 1 and sent[0].url.path == "/api/Product/ChannelStockLevels"
    assert raised.value.reason is ReasonCode.ENDPOINT_UNAVAILABLE
    assert raised.value.config_field == STOCK_WRITE_SETTING
    assert "the warehouse does not offer this endpoint" in raised.value.detail
    assert f"check `{STOCK_WRITE_SETTING}`" in raised.value.detail


def test_scend_the_simulator_serves_the_inferred_stock_write_only_behind_its_switch(clock: VirtualClock) -> None:
    # Given the card-faithful default: no stock write endpoint
    with ScendSimulator("skey", clock=clock) as sim:
        sim.add_product("A")
        client = scend_client(sim, clock)
        # When the connector pushes to the endpoint its config names / Then the missing endpoint is named
        with pytest.raises(EndpointUnavailableError):
            client.push_stock([StockPush(sku="A", location="3", quantity=1)])
        assert sim.channel_writes == 0
    # And a connector with no endpoint configured refuses to push at all
    with pytest.raises(PermanentError, match="no stock write endpoint is configured"):
        ScendClient("https://scend.test/api/", "skey", retry=RETRY).push_stock(
            [StockPush(sku="A", location="3", quantity=1)]
        )


def test_scend_an_answer_missing_a_row_is_transient() -> None:
    sent: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=[{"SKU": "A", "WarehouseId": 3, "Success": True, "Message": "ok"}])

    client = mock_scend(answer)
    with pytest.raises(TransientError, match="no result for SKU 'B'"):
        client.push_stock([StockPush(sku="A", location="3", quantity=1), StockPush(sku="B", location="3", quantity=2)])
    assert sent == [[{"SKU": "A", "WarehouseId": 3, "Quantity": 1}, {"SKU": "B", "WarehouseId": 3, "Quantity": 2}]]


def test_scend_a_malformed_stock_row_is_set_aside() -> None:
    rows = [
        {
            "SKU": "A",
            "WarehouseId": 3,
            "Level": 4,
            "TotalStockLevel": 6,
            "Breakdown": [{"Quantity": 2, "Type": "quarantine"}],
        },
        {"SKU": "B", "WarehouseId": 3, "Level": "lots", "TotalStockLevel": 6},
    ]
    client = mock_scend(lambda _request: httpx.Response(200, json=rows))
    [row], [rejected] = split(client.stock_levels())
    assert (row.sku, row.available, row.allocated, row.quarantined) == ("A", 4, 2, 2)
    assert "Level" in rejected.detail
