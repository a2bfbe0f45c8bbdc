"""ScendClient.shipments_since: the parcel feed over a mock transport, then against the Scend simulator."""

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
from shared.errors import NotFoundError, PermanentError
from shared.models import Address, Order, OrderLine, ReasonCode
from shared.models.shipment import Shipment

EVENTS = Path(__file__).resolve().parent.parent / "events"
BASE_URL = "https://api.scend.test/api/"
API_KEY = "ms-test-key"
SINCE = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
RETRY = RetryConfig(max_attempts=3, base_delay_seconds=1.0, max_delay_seconds=20.0)
ROYAL_MAIL = re.compile(r"^J[BDFH]\d{9}GB$")


def page() -> list[dict[str, Any]]:
    return json.loads((EVENTS / "scend_shipments_page.json").read_text())


def parcel_row(shipment_id: int, minute: int = 0) -> dict[str, Any]:
    stamp = (SINCE + timedelta(minutes=minute + 1)).isoformat(timespec="seconds")
    return {"ShipmentId": shipment_id, "OrderId": 50000 + shipment_id, "OrderNumber": f"BRANDA-{shipment_id}",
            "DespatchDate": stamp, "LastUpdated": stamp, "Courier": "Royal Mail", "CourierService": "Tracked 48",
            "TrackingNumbers": [f"JB{shipment_id:09d}GB"], "TrackingURL": "",
            "Items": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1}]}


class Pages:
    """Answers GET Order/Shipments/List from a list of pages by PageNo (beyond the last: []); records requests."""

    def __init__(self, *pages: Any, by_page: bool = True):
        self.pages = list(pages)
        self.by_page = by_page
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        number = int(request.url.params.get("PageNo", "1")) if self.by_page else 1
        body = self.pages[number - 1] if number <= len(self.pages) else []
        return httpx.Response(200, json=body)


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> ScendClient:
    return ScendClient(BASE_URL, API_KEY, retry=RETRY, clock=VirtualClock(),
                       http=httpx.Client(transport=httpx.MockTransport(handler)), **options)


# -- the feed over a mock transport ---------------------------------------------------------------------


def test_the_feed_pages_until_a_short_page() -> None:
    # Given 100 parcels on page 1 and 3 on page 2 (Mintsoft sends no totals)
    pages = Pages([parcel_row(n, n) for n in range(1, 101)], [parcel_row(n, n) for n in range(101, 104)])
    client = mock_client(pages)
    # When every parcel since the cursor is read
    shipments = list(client.shipments_since(SINCE))
    # Then both pages were read, with the cursor, page number and the 100-row limit, and no third call
    assert [s.parcel_id for s in shipments] == [str(n) for n in range(1, 104)]
    assert [dict(r.url.params) for r in pages.requests] == [
        {"SinceDate": "2026-11-23T08:00:00", "Limit": "100", "PageNo": "1"},
        {"SinceDate": "2026-11-23T08:00:00", "Limit": "100", "PageNo": "2"},
    ]
    assert all(r.url.path == "/api/Order/Shipments/List" and r.headers["ms-apikey"] == API_KEY
               for r in pages.requests)


def test_a_full_last_page_costs_one_more_call_that_comes_back_empty() -> None:
    # Given exactly one full page (page_limit 2) and then nothing
    pages = Pages([parcel_row(1), parcel_row(2)])
    client = mock_client(pages, page_limit=2)
    # When read / Then the empty page 2 ends the feed
    assert [s.parcel_id for s in client.shipments_since(SINCE)] == ["1", "2"]
    assert [r.url.params["PageNo"] for r in pages.requests] == ["1", "2"]


def test_a_server_that_ignores_the_page_number_cannot_loop_the_poll() -> None:
    # Given a server answering the same full page whatever PageNo says
    pages = Pages([parcel_row(1), parcel_row(2)], by_page=False)
    client = mock_client(pages, page_limit=2)
    # When read / Then each parcel once, and the poll stops at the repeated page
    assert [s.parcel_id for s in client.shipments_since(SINCE)] == ["1", "2"]
    assert len(pages.requests) == 2


def test_the_example_page_maps_split_multi_and_missing_tracking() -> None:
    # Given the example page: a split order (parcels 700101 and 700105), a comma-separated DPD pair,
    # a parcel without tracking, and a row with no DespatchDate
    client = mock_client(Pages(page()))
    # When read
    shipments = {s.parcel_id: s for s in client.shipments_since(SINCE)}
    # Then the good rows map; the late parcel of the split order carries two tracking numbers
    assert list(shipments) == ["700101", "700102", "700103", "700105"]
    assert shipments["700105"].tracking_numbers == ("JB498571365GB", "JB498571379GB")
    assert shipments["700102"].tracking_numbers == ("15501234567890", "15501234567891")
    assert shipments["700103"].tracking_numbers == ()
    split = [line for key in ("700101", "700105") for line in shipments[key].lines if line.sku == "TSHIRT-BLK-M"]
    assert sum(line.quantity for line in split) == 2


def test_a_malformed_row_is_skipped_logged_and_exposed(caplog: pytest.LogCaptureFixture) -> None:
    # Given the example page, whose fourth row has no DespatchDate
    client = mock_client(Pages(page()))
    # When read
    with caplog.at_level(logging.WARNING, logger="shared.connectors.scend.client"):
        shipments = list(client.shipments_since(SINCE))
    # Then the rows after it still arrive, and the bad one is exposed for quarantine
    assert shipments[-1].parcel_id == "700105"
    [rejected] = client.rejected_rows
    assert rejected.parcel_id == "700104"
    assert rejected.reason is ReasonCode.PAYLOAD_INVALID
    assert "field 'DespatchDate'" in rejected.detail and "700104" in rejected.detail
    assert rejected.row == page()[3]
    assert "700104" in caplog.text


def test_rejected_rows_belong_to_the_latest_poll() -> None:
    # Given a first poll that met a bad row, and a second poll over a clean page
    pages = Pages(page())
    client = mock_client(pages)
    list(client.shipments_since(SINCE))
    pages.pages = [[parcel_row(1)]]
    # When polled again / Then the old rejection is gone
    assert [s.parcel_id for s in client.shipments_since(SINCE)] == ["1"]
    assert client.rejected_rows == []


def test_a_page_that_is_not_an_array_stops_the_poll_as_payload_invalid() -> None:
    # Given an object where the page array should be
    client = mock_client(Pages({"Message": "An error has occurred."}))
    # When read / Then PAYLOAD_INVALID for the page, not a silent empty feed
    with pytest.raises(PermanentError) as caught:
        list(client.shipments_since(SINCE))
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID and "page 1" in caught.value.detail


def test_a_missing_feed_is_not_mistaken_for_an_empty_one() -> None:
    # Given a warehouse without the inferred endpoint (404)
    client = mock_client(lambda request: httpx.Response(404, json={"Message": "No HTTP resource was found"}))
    # When polled / Then NotFoundError surfaces
    with pytest.raises(NotFoundError):
        list(client.shipments_since(SINCE))


def test_page_limit_is_bounded_by_mintsofts_100() -> None:
    # Given a page limit above 100 / When the client is built / Then refused
    with pytest.raises(ValueError, match="1-100"):
        mock_client(Pages(), page_limit=101)


# -- against the simulator ---------------------------------------------------------------------------


def order_for(*lines: tuple[str, int]) -> Order:
    return Order(
        source="cin7_core", source_id="6f1c2d7e-0000-4000-8000-000000000045", order_number="SO-01822",
        status="ORDERED", authorised=True,
        lines=tuple(OrderLine(sku=sku, quantity=Decimal(q), unit_price=Decimal("10"), tax=Decimal(2 * q))
                    for sku, q in lines),
        shipping_address=Address(name="Jo Smith", line1="1 High St", city="Leeds", postcode="LS1 1AA", country="GB"),
        tax_total=Decimal("6"), total=Decimal("36"),
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


def test_a_split_order_ships_in_two_parcels_a_day_apart(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given a warehouse that splits every order, and an order of 2 T-shirts and a mug
    simulator.split_rate = 1.0
    start = clock.now()
    ref = client.create_order(order_for(("TSHIRT-BLK-M", 2), ("MUG-WHT-11OZ", 1)), "BRANDA-1", "Royal Mail Tracked 48")
    # When the timetable reaches despatch (120 min)
    clock.advance(120 * 60)
    [first] = list(client.shipments_since(start))
    # Then one parcel left, part of the T-shirt line, and the order shows 22 Processing
    assert first.client_reference == "BRANDA-1" and first.warehouse_order_id == ref.warehouse_order_id
    assert [(line.sku, line.quantity) for line in first.lines] == [("TSHIRT-BLK-M", 1)]
    assert first.despatched_at == first.updated_at == start + timedelta(minutes=120)
    assert status_of(simulator, ref.warehouse_order_id) == 22
    # When 26 virtual hours pass and the feed is read from the first parcel's cursor
    clock.advance(26 * 3600)
    [second] = list(client.shipments_since(first.updated_at))
    # Then the rest left 26 h after the first, the same SKU spans both, and the order is Despatched
    assert [(line.sku, line.quantity) for line in second.lines] == [("TSHIRT-BLK-M", 1), ("MUG-WHT-11OZ", 1)]
    assert second.despatched_at - first.despatched_at == timedelta(hours=26)
    assert second.parcel_id != first.parcel_id
    assert status_of(simulator, ref.warehouse_order_id) == 4
    [order] = simulator.orders()
    assert order["DespatchDate"] == second.despatched_at.isoformat(timespec="seconds")
    assert order["NumberOfParcels"] == 2


def test_without_splits_an_order_ships_whole_with_one_royal_mail_number(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given the default warehouse (no splits, one tracking number per parcel)
    start = clock.now()
    client.create_order(order_for(("TSHIRT-BLK-M", 2), ("MUG-WHT-11OZ", 1)), "BRANDA-2", "Royal Mail Tracked 48")
    # When despatched
    clock.advance(120 * 60)
    [shipment] = list(client.shipments_since(start))
    # Then one parcel with every line, a Royal Mail S10 number and its tracking page
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


def test_multi_tracking_parcels_carry_two_numbers_and_dpd_numbers_have_14_digits(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given a warehouse that puts two tracking numbers on every parcel, and a DPD order
    simulator.multi_tracking_rate = 1.0
    start = clock.now()
    client.create_order(order_for(("CAP-NVY-S", 1)), "BRANDA-3", "DPD Next Day")
    # When despatched
    clock.advance(120 * 60)
    [shipment] = list(client.shipments_since(start))
    # Then two distinct DPD numbers of 14 digits, and the raw row also carries them comma-separated
    assert len(shipment.tracking_numbers) == 2 and len(set(shipment.tracking_numbers)) == 2
    assert all(re.fullmatch(r"\d{14}", number) for number in shipment.tracking_numbers)
    assert shipment.carrier == "DPD"
    [row] = simulator.parcels()
    assert row["TrackingNumber"] == ",".join(shipment.tracking_numbers)


def test_the_feed_pages_through_the_simulator_in_last_updated_order(
    simulator: ScendSimulator, clock: VirtualClock
) -> None:
    # Given five orders created a minute apart and despatched, and a client reading 2 rows a page
    start = clock.now()
    client = ScendClient(simulator.url + "api/", API_KEY, retry=RETRY, clock=clock, timeout=5.0, page_limit=2)
    try:
        for n in range(5):
            client.create_order(order_for(("CAP-NVY-S", 1)), f"BRANDA-{10 + n}", "Royal Mail Tracked 48")
            clock.advance(60)
        clock.advance(120 * 60)
        simulator.requests.clear()
        # When every parcel since the start is read
        shipments = list(client.shipments_since(start))
        # And read again from the third parcel's cursor
        later = list(client.shipments_since(shipments[2].updated_at))
    finally:
        client.close()
    # Then 5 parcels in despatch order over 3 pages (2 + 2 + 1), and the cursor is strictly-after
    assert [s.client_reference for s in shipments] == [f"BRANDA-{10 + n}" for n in range(5)]
    assert [s.updated_at for s in shipments] == sorted(s.updated_at for s in shipments)
    assert simulator.requests["GET /api/order/shipments/list"] == 3 + 2
    assert [s.client_reference for s in later] == ["BRANDA-13", "BRANDA-14"]


def test_ship_now_despatches_at_once_and_the_late_parcel_follows(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given a splitting warehouse and a fresh order put on hold
    simulator.split_rate = 1.0
    ref = client.create_order(order_for(("TSHIRT-BLK-M", 3)), "BRANDA-4", "Royal Mail Tracked 48")
    order_id = int(ref.warehouse_order_id)
    simulator.set_status(order_id, 7)
    # When the warehouse ships it now
    [first] = simulator.ship_now(order_id)
    # Then the first parcel leaves at once (1 of 3), the order is Processing until the rest
    assert first["DespatchDate"] == clock.now().isoformat(timespec="seconds")
    assert first["Items"] == [{"SKU": "TSHIRT-BLK-M", "Quantity": 1}]
    assert status_of(simulator, ref.warehouse_order_id) == 22
    # When shipped now again / Then the remaining parcel leaves too and the order is Despatched
    [second] = simulator.ship_now(order_id)
    assert second["Items"] == [{"SKU": "TSHIRT-BLK-M", "Quantity": 2}]
    assert status_of(simulator, ref.warehouse_order_id) == 4
    assert [p["ShipmentId"] for p in simulator.parcels_for(order_id)] == [first["ShipmentId"], second["ShipmentId"]]


def test_order_shipments_endpoint_lists_one_orders_parcels(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given a despatched order and a wrong order id
    ref = client.create_order(order_for(("CAP-NVY-S", 2)), "BRANDA-5", "Royal Mail Tracked 48")
    clock.advance(120 * 60)
    with httpx.Client(headers={"ms-apikey": API_KEY}) as http:
        # When its parcels are read per order, and the feed is asked for more than 100 rows
        found = http.get(f"{simulator.url}api/Order/{ref.warehouse_order_id}/Shipments")
        missing = http.get(f"{simulator.url}api/Order/999999/Shipments")
        too_many = http.get(f"{simulator.url}api/Order/Shipments/List", params={"Limit": 101})
    # Then the per-order list matches the helper, an unknown order is 404, and Limit is capped
    assert found.status_code == 200 and found.json() == simulator.parcels_for(int(ref.warehouse_order_id))
    assert len(found.json()) == 1
    assert missing.status_code == 404
    assert too_many.status_code == 400


def test_parcels_are_drawn_from_the_seed_whatever_the_read_order(
    simulator: ScendSimulator, clock: VirtualClock
) -> None:
    # Given a warehouse splitting and double-tracking half its parcels, with six orders to ship
    def run(reverse: bool) -> dict[str, list[list[str]]]:
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
        # When each order is first read, in creation order or in reverse
        for order_id in reversed(order_ids) if reverse else order_ids:
            simulator.parcels_for(order_id)
        return {str(order_id): [p["TrackingNumbers"] for p in simulator.parcels_for(order_id)] for order_id in order_ids}

    forward, backward = run(False), run(True)
    # Then every order left in the same parcels with the same numbers, and both shapes occurred
    assert forward == backward
    assert {len(parcels) for parcels in forward.values()} == {1, 2}
    assert {len(numbers) for parcels in forward.values() for numbers in parcels} == {1, 2}


def test_simulator_options_are_checked(clock: VirtualClock) -> None:
    # Given rates outside 0-1 / When built / Then refused by name
    with pytest.raises(ValueError, match="split_rate"):
        ScendSimulator(API_KEY, clock=clock, split_rate=1.5)
    with pytest.raises(ValueError, match="multi_tracking_rate"):
        ScendSimulator(API_KEY, clock=clock, multi_tracking_rate=-0.1)


def test_shipments_are_canonical_values(simulator: ScendSimulator, client: ScendClient, clock: VirtualClock) -> None:
    # Given a despatched order / When read / Then plain canonical Shipments (no wire fields leak)
    start = clock.now()
    client.create_order(order_for(("CAP-NVY-S", 1)), "BRANDA-6", "Royal Mail Tracked 48")
    clock.advance(120 * 60)
    [shipment] = list(client.shipments_since(start))
    assert isinstance(shipment, Shipment) and shipment.warehouse == "scend"
    assert shipment.despatched_at.tzinfo is not None
