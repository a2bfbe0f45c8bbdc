"""ScendClient.shipments_since: the card's despatch poll (Order/List, then Order/{id}/Shipments) over a mock
transport, then against the Scend simulator (splits, parcels, tracking)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.simulators.base import FaultPlan
from sandbox.simulators.scend import DEFAULT_STATUS_TIMINGS_MINUTES, ScendSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.scend import ScendClient
from shared.errors import PermanentError
from shared.models import Address, Order, OrderLine, ReasonCode
from shared.models.feed import split
from shared.models.shipment import Shipment

EVENTS = Path(__file__).resolve().parent.parent / "events"
BASE_URL = "https://api.scend.test/api/"
API_KEY = "ms-test-key"
SINCE = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
RETRY = RetryConfig(max_attempts=3, base_delay_seconds=1.0, max_delay_seconds=20.0)
ROYAL_MAIL = re.compile(r"^J[BDFH]\d{9}GB$")


def page() -> list[dict[str, Any]]:
    return json.loads((EVENTS / "scend_despatched_orders_page.json").read_text())


def shipments() -> dict[str, list[dict[str, Any]]]:
    return json.loads((EVENTS / "scend_order_shipments.json").read_text())


def order_row(order_id: int, minute: int = 0, status: int = 4) -> dict[str, Any]:
    stamp = (SINCE + timedelta(minutes=minute + 1)).isoformat(timespec="seconds")
    return {
        "ID": order_id,
        "OrderNumber": f"BRANDA-{order_id}",
        "OrderStatusId": status,
        "DespatchDate": stamp,
        "LastUpdated": stamp,
        "CourierServiceName": "Royal Mail Tracked 48",
        "TrackingNumber": f"JB{order_id:09d}GB",
        "NumberOfParts": 1,
        "OrderItems": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1}],
    }


class Warehouse:
    """Answers the card's despatch calls from fixtures: Order/List pages per status (by PageNo; beyond the last:
    []), Order/{id}/Shipments, Splits and Items; records every request."""

    def __init__(
        self,
        *pages: Any,
        by_page: bool = True,
        parcels: dict[str, Any] | None = None,
        splits: Any = None,
        items: dict[str, Any] | None = None,
        invoiced: list[Any] | None = None,
    ):
        self.pages = list(pages)
        self.by_page = by_page
        self.parcels = parcels if parcels is not None else {}
        self.splits = splits if splits is not None else []
        self.items = items or {}
        self.invoiced = invoiced or []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api/")
        if path == "Order/List":
            number = int(request.url.params.get("PageNo", "1")) if self.by_page else 1
            source = {"4": self.pages, "5": self.invoiced}.get(request.url.params["OrderStatusId"], [])
            return httpx.Response(200, json=source[number - 1] if number <= len(source) else [])
        found = re.fullmatch(r"Order/(\d+)/(Shipments|Splits|Items)", path)
        if found and found.group(2) == "Shipments":
            return httpx.Response(200, json=self.parcels.get(found.group(1), []))
        if found and found.group(2) == "Splits":
            return httpx.Response(200, json=self.splits)
        if found and found.group(2) == "Items":
            return httpx.Response(200, json=self.items.get(found.group(1), []))
        return httpx.Response(404, json={"Message": "No HTTP resource was found"})

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix("/api/") for r in self.requests]


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> ScendClient:
    return ScendClient(
        BASE_URL,
        API_KEY,
        retry=RETRY,
        clock=VirtualClock(),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        **options,
    )


# -- the poll over a mock transport -----------------------------------------------------------------------


def test_the_poll_asks_for_despatched_orders_since_the_cursor_then_each_orders_parcels() -> None:
    # Given 100 despatched orders on page 1 and 3 on page 2 (Mintsoft sends no totals)
    warehouse = Warehouse([order_row(n, n) for n in range(1, 101)], [order_row(n, n) for n in range(101, 104)])
    client = mock_client(warehouse)
    # When every despatch since the cursor is read
    found = list(client.shipments_since(SINCE))
    # Then the card's list was paged with its filters, each order's parcels read once, and nothing else
    assert [s.parcel_id for s in found] == [str(n) for n in range(1, 104)]
    lists = [dict(r.url.params) for r in warehouse.requests if r.url.path == "/api/Order/List"]
    assert lists[:2] == [
        {
            "OrderStatusId": "4",
            "SinceDespatchDate": "2026-11-23T08:00:00",
            "IncludeOrderItems": "true",
            "Limit": "100",
            "PageNo": "1",
        },
        {
            "OrderStatusId": "4",
            "SinceDespatchDate": "2026-11-23T08:00:00",
            "IncludeOrderItems": "true",
            "Limit": "100",
            "PageNo": "2",
        },
    ]
    # (and the status an order reaches after despatch, Invoiced, one call)
    assert [params["OrderStatusId"] for params in lists] == ["4", "4", "5"]
    assert sorted(p for p in warehouse.paths() if p.endswith("/Shipments")) == sorted(
        f"Order/{n}/Shipments" for n in range(1, 104)
    )
    assert "Order/Shipments/List" not in warehouse.paths()
    assert all(r.headers["ms-apikey"] == API_KEY for r in warehouse.requests)


def test_an_order_the_overlap_lists_again_is_not_read_again() -> None:
    # Given two polls whose windows overlap over the same despatched orders
    warehouse = Warehouse([order_row(1), order_row(2)])
    client = mock_client(warehouse)
    first = list(client.shipments_since(SINCE))
    second = list(client.shipments_since(SINCE))
    # Then both yield them (the write-back dedupes), but each order's parcels were read once
    assert first == second and len(first) == 2
    assert sorted(p for p in warehouse.paths() if p.endswith("/Shipments")) == [
        "Order/1/Shipments",
        "Order/2/Shipments",
    ]


def test_an_order_invoiced_before_the_poll_is_still_found() -> None:
    warehouse = Warehouse([], invoiced=[[order_row(7, status=5)]])
    assert [s.parcel_id for s in mock_client(warehouse).shipments_since(SINCE)] == ["7"]


def test_the_example_page_maps_parcels_splits_and_missing_tracking() -> None:
    # Given the example page (an order split in two, a DPD order in two parcels, an invoiced order with
    # no tracking, a row with no DespatchDate) with its parcel rows and the split's Splits row
    splits = json.loads((EVENTS / "scend_order_splits.json").read_text())
    warehouse = Warehouse(page(), parcels=shipments(), splits=splits)
    client = mock_client(warehouse)
    # When read
    found = {s.parcel_id: s for s in split(client.shipments_since(SINCE))[0]}
    # Then the good rows map; the split-off part is named after the order we sent
    assert list(found) == ["184467", "184468", "184469", "184490"]
    assert found["184490"].client_reference == "BRANDA-100045"
    assert found["184490"].tracking_numbers == ("JB498571365GB", "JB498571379GB")
    assert found["184468"].tracking_numbers == ("15501234567890", "15501234567891")
    assert found["184469"].tracking_numbers == ()
    # And only the split part cost a Splits call
    assert [p for p in warehouse.paths() if p.endswith("/Splits")] == ["Order/184490/Splits"]


def test_a_split_part_whose_splits_row_has_no_order_reads_the_parent() -> None:
    # Given a Splits row without the embedded Order
    part = page()[4]
    warehouse = Warehouse([part], splits=[{"ID": 1, "OrderId": 184467, "SplitOrderId": 184490}])
    original = {"ID": 184467, "OrderNumber": "BRANDA-100045", "OrderStatusId": 4}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/Order/184467":
            warehouse.requests.append(request)
            return httpx.Response(200, json=original)
        return warehouse(request)

    [shipment] = list(mock_client(handle).shipments_since(SINCE))
    assert shipment.client_reference == "BRANDA-100045"
    assert "Order/184467" in warehouse.paths()


def test_an_order_listed_without_items_is_read_with_its_items_endpoint() -> None:
    bare = {key: value for key, value in order_row(5).items() if key != "OrderItems"}
    warehouse = Warehouse([bare], items={"5": [{"SKU": "CAP-NVY-S", "Quantity": 2}]})
    [shipment] = list(mock_client(warehouse).shipments_since(SINCE))
    assert [(line.sku, line.quantity) for line in shipment.lines] == [("CAP-NVY-S", 2)]
    assert "Order/5/Items" in warehouse.paths()


def test_a_full_last_page_costs_one_more_call_that_comes_back_empty() -> None:
    warehouse = Warehouse([order_row(1), order_row(2)])
    client = mock_client(warehouse, page_limit=2)
    assert [s.parcel_id for s in client.shipments_since(SINCE)] == ["1", "2"]
    pages = [
        r.url.params["PageNo"]
        for r in warehouse.requests
        if r.url.path == "/api/Order/List" and r.url.params["OrderStatusId"] == "4"
    ]
    assert pages == ["1", "2"]


def test_a_server_that_ignores_the_page_number_cannot_loop_the_poll() -> None:
    warehouse = Warehouse([order_row(1), order_row(2)], by_page=False)
    client = mock_client(warehouse, page_limit=2)
    assert [s.parcel_id for s in client.shipments_since(SINCE)] == ["1", "2"]
    assert sum(1 for p in warehouse.paths() if p == "Order/List") == 2 + 1  # status 4: a page and its repeat


def test_a_malformed_row_is_skipped_logged_and_exposed(caplog: pytest.LogCaptureFixture) -> None:
    # Given the example page, whose fourth row has no DespatchDate
    warehouse = Warehouse(
        page(), parcels=shipments(), splits=json.loads((EVENTS / "scend_order_splits.json").read_text())
    )
    client = mock_client(warehouse)
    with caplog.at_level(logging.WARNING, logger="shared.connectors.scend.client"):
        found, set_aside = split(client.shipments_since(SINCE))
    # Then the rows after it still arrive, and the bad one comes back as data for quarantine
    assert found[-1].parcel_id == "184490"
    [rejected] = set_aside
    assert rejected.key == "184470"
    assert "field 'DespatchDate'" in rejected.detail and "184470" in rejected.detail
    assert rejected.row == page()[3]
    assert "184470" in caplog.text


def test_rejected_rows_belong_to_the_read_that_met_them() -> None:
    warehouse = Warehouse(page(), parcels=shipments())
    client = mock_client(warehouse)
    list(client.shipments_since(SINCE))
    warehouse.pages = [[order_row(1)]]
    assert [s.parcel_id for s in client.shipments_since(SINCE)] == ["1"]


def test_a_page_that_is_not_an_array_stops_the_poll_as_payload_invalid() -> None:
    client = mock_client(Warehouse({"Message": "An error has occurred."}))
    with pytest.raises(PermanentError) as caught:
        list(client.shipments_since(SINCE))
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID and "Order/List page 1" in caught.value.detail


def test_page_limit_is_bounded_by_mintsofts_100() -> None:
    with pytest.raises(ValueError, match="1-100"):
        mock_client(Warehouse(), page_limit=101)


# -- against the simulator ---------------------------------------------------------------------------


def order_for(*lines: tuple[str, int]) -> Order:
    return Order(
        source="cin7_core",
        source_id="6f1c2d7e-0000-4000-8000-000000000045",
        order_number="SO-01822",
        status="ORDERED",
        authorised=True,
        lines=tuple(
            OrderLine(sku=sku, quantity=Decimal(q), unit_price=Decimal("10"), tax=Decimal(2 * q)) for sku, q in lines
        ),
        shipping_address=Address(name="Jo Smith", line1="1 High St", city="Leeds", postcode="LS1 1AA", country="GB"),
        tax_total=Decimal("6"),
        total=Decimal("36"),
    )


@pytest.fixture(scope="module")
def server() -> Iterator[ScendSimulator]:
    """One started simulator for the module (stopping a server costs a poll interval)."""
    simulator = ScendSimulator(API_KEY, clock=VirtualClock())
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(server: ScendSimulator, clock: VirtualClock) -> ScendSimulator:
    server.reset(clock=clock)
    server.faults = FaultPlan()
    server.status_timings_minutes = dict(DEFAULT_STATUS_TIMINGS_MINUTES)
    server.split_rate, server.multi_tracking_rate, server.late_parcel_hours, server.seed = 0.0, 0.0, 26.0, 0
    for sku in ("TSHIRT-BLK-M", "MUG-WHT-11OZ", "CAP-NVY-S"):
        server.add_product(sku)
    return server


@pytest.fixture
def client(simulator: ScendSimulator, clock: VirtualClock) -> Iterator[ScendClient]:
    client = ScendClient(simulator.url + "api/", API_KEY, retry=RETRY, clock=clock, timeout=5.0)
    yield client
    client.close()


def status_of(simulator: ScendSimulator, order_id: str) -> int:
    [order] = [o for o in simulator.orders() if str(o["ID"]) == order_id]
    return int(order["OrderStatusId"])


def test_a_split_order_leaves_in_two_parts_a_day_apart(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given a warehouse that splits every order, and an order of 2 T-shirts and a mug
    simulator.split_rate = 1.0
    start = clock.now()
    ref = client.create_order(order_for(("TSHIRT-BLK-M", 2), ("MUG-WHT-11OZ", 1)), "BRANDA-1", "Royal Mail Tracked 48")
    # When the timetable reaches despatch (120 min)
    clock.advance(120 * 60)
    [first] = list(client.shipments_since(start))
    # Then the order left with part of the T-shirt line (Part 1 of 2); the rest waits as its own order
    assert first.client_reference == "BRANDA-1" and first.parcel_id == ref.warehouse_order_id
    assert [(line.sku, line.quantity) for line in first.lines] == [("TSHIRT-BLK-M", 1)]
    assert first.despatched_at == first.updated_at == start + timedelta(minutes=120)
    assert status_of(simulator, ref.warehouse_order_id) == 4
    original, part = simulator.orders()
    assert (original["Part"], original["NumberOfParts"], part["Part"], part["OrderStatusId"]) == (1, 2, 2, 21)
    # When 26 virtual hours pass and the feed is read from just after the first despatch
    clock.advance(26 * 3600)
    [second] = list(client.shipments_since(first.updated_at + timedelta(seconds=1)))
    # Then the split-off part left 26 h after the first, named after the order we sent, and the SKU spans both
    assert second.client_reference == "BRANDA-1" and second.parcel_id == str(part["ID"])
    assert [(line.sku, line.quantity) for line in second.lines] == [("TSHIRT-BLK-M", 1), ("MUG-WHT-11OZ", 1)]
    assert second.despatched_at - first.despatched_at == timedelta(hours=26)
    # And the warehouse, as received, still holds the order exactly as sent
    [received] = simulator.root_orders()
    assert received["OrderNumber"] == "BRANDA-1"
    assert sorted((i["SKU"], i["Quantity"]) for i in received["OrderItems"]) == [
        ("MUG-WHT-11OZ", 1),
        ("TSHIRT-BLK-M", 2),
    ]
    assert simulator.duplicate_references() == 0


def test_without_splits_an_order_leaves_whole_with_one_royal_mail_number(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    start = clock.now()
    client.create_order(order_for(("TSHIRT-BLK-M", 2), ("MUG-WHT-11OZ", 1)), "BRANDA-2", "Royal Mail Tracked 48")
    clock.advance(120 * 60)
    [shipment] = list(client.shipments_since(start))
    assert [(line.sku, line.quantity) for line in shipment.lines] == [("TSHIRT-BLK-M", 2), ("MUG-WHT-11OZ", 1)]
    [number] = shipment.tracking_numbers
    assert ROYAL_MAIL.match(number)
    assert _s10_check_ok(number)
    assert shipment.carrier == "Royal Mail" and shipment.service == "Royal Mail Tracked 48"
    assert shipment.tracking_url.endswith(number)
    [order] = simulator.orders()
    assert order["OrderStatusId"] == 4 and order["TrackingNumber"] == number


def _s10_check_ok(number: str) -> bool:
    digits = [int(d) for d in number[2:10]]
    check = 11 - sum(d * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check) == int(number[10])


def test_a_two_parcel_despatch_carries_both_dpd_numbers_from_its_parcel_rows(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    simulator.multi_tracking_rate = 1.0
    start = clock.now()
    ref = client.create_order(order_for(("CAP-NVY-S", 1)), "BRANDA-3", "DPD Next Day")
    clock.advance(120 * 60)
    [shipment] = list(client.shipments_since(start))
    assert len(shipment.tracking_numbers) == 2 and len(set(shipment.tracking_numbers)) == 2
    assert all(re.fullmatch(r"\d{14}", number) for number in shipment.tracking_numbers)
    assert shipment.carrier == "DPD"
    with httpx.Client(headers={"ms-apikey": API_KEY}) as http:
        rows = http.get(f"{simulator.url}api/Order/{ref.warehouse_order_id}/Shipments").json()
    # The parcel rows are the card's shape: ID, OrderId, ParcelNo, no OrderNumber
    assert [row["ParcelNo"] for row in rows] == [1, 2]
    assert all("OrderNumber" not in row and "ShipmentId" not in row for row in rows)
    assert tuple(row["TrackingNumber"] for row in rows) == shipment.tracking_numbers


def test_the_poll_pages_through_the_simulator(simulator: ScendSimulator, clock: VirtualClock) -> None:
    # Given five orders created a minute apart and despatched, and a client reading 2 rows a page
    start = clock.now()
    client = ScendClient(simulator.url + "api/", API_KEY, retry=RETRY, clock=clock, timeout=5.0, page_limit=2)
    try:
        for n in range(5):
            client.create_order(order_for(("CAP-NVY-S", 1)), f"BRANDA-{10 + n}", "Royal Mail Tracked 48")
            clock.advance(60)
        clock.advance(120 * 60)
        simulator.requests.clear()
        found = list(client.shipments_since(start))
        later = list(client.shipments_since(found[2].updated_at))
    finally:
        client.close()
    # Then 5 despatches over 3 pages (2 + 2 + 1), one parcel read each, and the cursor is at-or-after
    assert [s.client_reference for s in found] == [f"BRANDA-{10 + n}" for n in range(5)]
    assert simulator.requests["GET /api/order/list"] == (3 + 1) + (2 + 1)  # status 4 paged; 5 once
    assert [s.client_reference for s in later] == ["BRANDA-12", "BRANDA-13", "BRANDA-14"]


def test_ship_now_despatches_at_once_and_the_split_part_follows(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    simulator.split_rate = 1.0
    ref = client.create_order(order_for(("TSHIRT-BLK-M", 3)), "BRANDA-4", "Royal Mail Tracked 48")
    order_id = int(ref.warehouse_order_id)
    simulator.set_status(order_id, 7)
    [first] = simulator.ship_now(order_id)
    assert first["DespatchDate"] == clock.now().isoformat(timespec="seconds")
    assert first["Items"] == [{"SKU": "TSHIRT-BLK-M", "Quantity": 1}] and first["DespatchId"] == order_id
    [second] = simulator.ship_now(order_id)
    assert second["Items"] == [{"SKU": "TSHIRT-BLK-M", "Quantity": 2}] and second["RootOrderId"] == order_id
    assert [d["DespatchId"] for d in simulator.despatches_for(order_id)] == [order_id, second["DespatchId"]]


def test_order_endpoints_answer_404_for_an_unknown_order_and_cap_the_limit(simulator: ScendSimulator) -> None:
    with httpx.Client(headers={"ms-apikey": API_KEY}) as http:
        missing = [http.get(f"{simulator.url}api/Order/999999/{what}") for what in ("Shipments", "Splits", "Items")]
        too_many = http.get(f"{simulator.url}api/Order/List", params={"Limit": 101})
        gone = http.get(f"{simulator.url}api/Order/Shipments/List")
    assert [response.status_code for response in missing] == [404, 404, 404]
    assert too_many.status_code == 400
    # The parcel feed we once inferred is not served: the card does not have it
    assert gone.status_code == 404


def test_parcels_are_drawn_from_the_seed_whatever_the_read_order(
    simulator: ScendSimulator, clock: VirtualClock
) -> None:
    def run(reverse: bool) -> dict[int, list[list[str]]]:
        run_clock = VirtualClock(clock.now())
        simulator.reset(clock=run_clock)
        simulator.add_product("CAP-NVY-S")
        simulator.split_rate, simulator.multi_tracking_rate, simulator.seed = 0.5, 0.5, 2
        client = ScendClient(simulator.url + "api/", API_KEY, retry=RETRY, clock=run_clock, timeout=5.0)
        try:
            refs = [client.create_order(order_for(("CAP-NVY-S", 2)), f"B-{n}", "Tracked 48") for n in range(6)]
        finally:
            client.close()
        run_clock.advance(30 * 3600)
        order_ids = [int(ref.warehouse_order_id) for ref in refs]
        for order_id in reversed(order_ids) if reverse else order_ids:
            simulator.despatches_for(order_id)
        return {
            n: [d["TrackingNumbers"] for d in simulator.despatches_for(order_id)]
            for n, order_id in enumerate(order_ids)
        }

    forward, backward = run(False), run(True)
    assert forward == backward
    assert {len(parts) for parts in forward.values()} == {1, 2}
    assert {len(numbers) for parts in forward.values() for numbers in parts} == {1, 2}


def test_simulator_options_are_checked(clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match="split_rate"):
        ScendSimulator(API_KEY, clock=clock, split_rate=1.5)
    with pytest.raises(ValueError, match="multi_tracking_rate"):
        ScendSimulator(API_KEY, clock=clock, multi_tracking_rate=-0.1)


def test_shipments_are_canonical_values(simulator: ScendSimulator, client: ScendClient, clock: VirtualClock) -> None:
    start = clock.now()
    client.create_order(order_for(("CAP-NVY-S", 1)), "BRANDA-6", "Royal Mail Tracked 48")
    clock.advance(120 * 60)
    [shipment] = list(client.shipments_since(start))
    assert isinstance(shipment, Shipment) and shipment.warehouse == "scend"
    assert shipment.despatched_at.tzinfo is not None
