"""The real ScendClient against the started Scend simulator: real HTTP on 127.0.0.1, virtual time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from sandbox.simulators.base import LATE_HEADER, FaultKind, FaultPlan, late_answers_time_out
from sandbox.simulators.scend import DEFAULT_STATUS_TIMINGS_MINUTES, ScendSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.scend import ScendClient
from shared.errors import AuthError, NotFoundError, PermanentError, RateLimitedError, TransientError
from shared.models import Address, Order, OrderLine, ReasonCode

API_KEY = "sim-key"
REFERENCE = "BRANDA-100045"
SERVICE = "Royal Mail Tracked 48"


def order_for(*skus: str) -> Order:
    return Order(
        source="cin7_core",
        source_id="6f1c2d7e-0000-4000-8000-000000000045",
        order_number="SO-01822",
        status="ORDERED",
        authorised=True,
        lines=tuple(
            OrderLine(sku=sku, quantity=Decimal("1"), unit_price=Decimal("12.50"), tax=Decimal("2.50")) for sku in skus
        ),
        shipping_address=Address(name="Jo Smith", line1="1 High St", city="Leeds", postcode="LS1 1AA", country="GB"),
        tax_total=Decimal("2.50"),
        total=Decimal("15.00"),
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def stock(simulator: ScendSimulator) -> ScendSimulator:
    simulator.add_product("TSHIRT-BLK-M", "T-shirt, black, M")
    simulator.add_product("MUG-WHT-11OZ", "Mug, white, 11oz")
    return simulator


def client_for(simulator: ScendSimulator, clock: VirtualClock, api_key: str = API_KEY) -> ScendClient:
    return ScendClient(simulator.url + "api/", api_key, retry=RetryConfig(max_attempts=3), clock=clock, timeout=5.0)


@pytest.fixture(scope="module")
def server() -> Iterator[ScendSimulator]:
    """One started simulator per module: stopping a server costs a poll interval, so it is shared."""
    simulator = ScendSimulator(API_KEY, clock=VirtualClock())
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def simulator(server: ScendSimulator, clock: VirtualClock) -> ScendSimulator:
    server.reset(clock=clock)
    server.faults = FaultPlan()
    server.enforce_unique_reference = True
    server.status_timings_minutes = dict(DEFAULT_STATUS_TIMINGS_MINUTES)
    return stock(server)


@pytest.fixture
def client(simulator: ScendSimulator, clock: VirtualClock) -> Iterator[ScendClient]:
    client = client_for(simulator, clock)
    yield client
    client.close()


def test_created_order_is_found_by_reference(simulator: ScendSimulator, client: ScendClient) -> None:
    # Given an order for SKUs the warehouse stocks
    # When we create it and then search for its reference
    created = client.create_order(order_for("TSHIRT-BLK-M", "MUG-WHT-11OZ"), REFERENCE, SERVICE)
    found = client.find_order(REFERENCE)
    # Then the search finds the same warehouse order, which holds what we sent
    assert created.created is True and created.status == "new"
    assert found is not None
    assert (found.warehouse_order_id, found.created) == (created.warehouse_order_id, False)
    [stored] = simulator.orders()
    assert stored["ID"] == int(created.warehouse_order_id)
    assert [item["SKU"] for item in stored["OrderItems"]] == ["TSHIRT-BLK-M", "MUG-WHT-11OZ"]
    assert (stored["FirstName"], stored["LastName"], stored["CourierService"]) == ("Jo", "Smith", SERVICE)


def test_search_for_an_unused_reference_finds_nothing(simulator: ScendSimulator, client: ScendClient) -> None:
    # Given an order whose reference extends the one we look for
    client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE + "1", SERVICE)
    # When we search for the shorter reference / Then the partial match is not taken for ours
    assert client.find_order(REFERENCE) is None


@pytest.mark.parametrize("sku", ["NOT-STOCKED", "tshirt-blk-m"])
def test_unknown_sku_is_rejected(simulator: ScendSimulator, client: ScendClient, sku: str) -> None:
    # Given an order line whose SKU the warehouse does not hold in exactly that spelling
    # When we create / Then it is refused as an unknown SKU and nothing is stored
    with pytest.raises(PermanentError) as caught:
        client.create_order(order_for("TSHIRT-BLK-M", sku), REFERENCE, SERVICE)
    assert caught.value.reason is ReasonCode.SKU_UNKNOWN
    assert sku in caught.value.detail
    assert simulator.orders() == []


def test_known_skus_reports_exact_spellings(simulator: ScendSimulator, client: ScendClient) -> None:
    # Given a catalogue with TSHIRT-BLK-M and MUG-WHT-11OZ
    # When we ask about exact, wrong-case and partial SKUs
    known = client.known_skus(["TSHIRT-BLK-M", "tshirt-blk-m", "MUG", "MUG-WHT-11OZ"])
    # Then only exact spellings are known, with one search each
    assert known == {"TSHIRT-BLK-M", "MUG-WHT-11OZ"}
    assert simulator.requests["GET /api/product/search"] == 4


def test_duplicate_reference_is_rejected_and_resolved(simulator: ScendSimulator, client: ScendClient) -> None:
    # Given the order already exists at the warehouse
    first = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    # When it is created again
    second = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    # Then the warehouse refused the repeat and the client returned the existing order
    assert (second.warehouse_order_id, second.created) == (first.warehouse_order_id, False)
    assert simulator.duplicate_rejections == 1
    assert len(simulator.orders()) == 1


def test_lost_create_response_is_not_resent_in_process(simulator: ScendSimulator, client: ScendClient) -> None:
    # Given the warehouse writes the order but the response is lost on the way back
    simulator.lose_next_create_responses(1)
    # When we create
    with pytest.raises(TransientError):
        client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    # Then the ambiguous PUT was not re-sent at once (the warehouse may have acted on it)
    assert simulator.create_attempts == 1
    assert client.stats.retries == 0
    # And the caller's next delivery finds the order by searching first: one order, not two
    found = client.find_order(REFERENCE)
    assert found is not None
    assert (found.warehouse_order_id, found.created) == (str(simulator.orders()[0]["ID"]), False)
    assert len(simulator.orders()) == 1


def test_repeat_create_after_lost_response_resolves_to_the_existing_order(
    simulator: ScendSimulator, client: ScendClient
) -> None:
    # Given every write's response is lost (FaultPlan lost_response at rate 1.0)
    simulator.faults = FaultPlan(rate=1.0, weights={FaultKind.LOST_RESPONSE: 1.0})
    with pytest.raises(TransientError):
        client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    assert simulator.create_attempts == 1
    # When a redelivery creates again without searching, once the network is healthy
    simulator.faults = FaultPlan()
    ref = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    # Then the warehouse's duplicate refusal resolves to the first order: exactly one exists
    assert len(simulator.orders()) == 1
    assert ref.created is False
    assert simulator.duplicate_references() == 0
    assert (ref.warehouse_order_id, ref.created) == (str(simulator.orders()[0]["ID"]), False)


def test_without_unique_references_create_twice_makes_two_orders(clock: VirtualClock) -> None:
    # Given a warehouse that does not enforce unique OrderNumbers (its own server, built with the option)
    simulator = stock(ScendSimulator(API_KEY, clock=clock, enforce_unique_reference=False))
    simulator.start()
    client = client_for(simulator, clock)
    try:
        # When the same order is created twice without searching first
        first = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
        second = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
        # Then two orders exist (which is why the caller must search before creating)
        assert first.created and second.created
        assert first.warehouse_order_id != second.warehouse_order_id
        assert len(simulator.orders_by_reference()[REFERENCE]) == 2
        assert simulator.duplicate_references() == 1
        # And search-before-create resolves to the earliest of them
        found = client.find_order(REFERENCE)
        assert found is not None and found.warehouse_order_id == first.warehouse_order_id
    finally:
        client.close()
        simulator.stop()


def test_statuses_advance_with_the_virtual_clock(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given a new order
    ref = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    created_at = clock.now()
    seen = [client.order_status(ref.warehouse_order_id).status]
    # When virtual time passes through the default timetable (15/30/45/60/120 minutes)
    for minutes in (15, 15, 15, 15, 60):
        clock.advance(minutes * 60)
        seen.append(client.order_status(ref.warehouse_order_id).status)
    # Then the order walks the happy path and records when it last changed
    assert seen == ["new", "awaiting_picking", "picking", "picked", "packed", "despatched"]
    [stored] = simulator.orders()
    assert stored["OrderStatusId"] == 4
    assert stored["LastUpdated"] == (created_at + timedelta(minutes=120)).isoformat(timespec="seconds")
    assert stored["TrackingNumber"]


def test_status_timings_are_configurable(simulator: ScendSimulator, client: ScendClient, clock: VirtualClock) -> None:
    # Given a warehouse that despatches five minutes after creation
    simulator.status_timings_minutes = {4: 5.0}
    ref = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    # When four, then five minutes pass / Then it is still new, then despatched
    clock.advance(4 * 60)
    assert client.order_status(ref.warehouse_order_id).status == "new"
    clock.advance(60)
    assert client.order_status(ref.warehouse_order_id).status == "despatched"


def test_status_timings_reject_unknown_status_ids(clock: VirtualClock) -> None:
    # Given a timetable naming a status Mintsoft does not have / When built / Then refused
    with pytest.raises(ValueError, match="99"):
        ScendSimulator(API_KEY, clock=clock, status_timings_minutes={99: 1.0})


def test_status_set_by_the_warehouse_stops_the_timetable(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given the warehouse puts a new order on hold
    ref = client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    simulator.set_status(int(ref.warehouse_order_id), 7)
    # When the day passes / Then it stays on hold
    clock.advance(24 * 3600)
    assert client.order_status(ref.warehouse_order_id).status == "on_hold"


def test_unknown_order_id_is_not_found(simulator: ScendSimulator, client: ScendClient) -> None:
    # Given no order 424242 / When we read it / Then NotFoundError
    with pytest.raises(NotFoundError):
        client.order_status("424242")


def test_wrong_api_key_is_refused(simulator: ScendSimulator, clock: VirtualClock) -> None:
    # Given a client holding the wrong key
    client = client_for(simulator, clock, api_key="expired-key")
    try:
        # When it calls / Then AuthError, and the raw answer is Mintsoft's message
        with pytest.raises(AuthError):
            client.find_order(REFERENCE)
        raw = httpx.get(simulator.url + "api/Order/Search", params={"OrderNumber": REFERENCE})
        assert raw.status_code == 401
        assert raw.json() == {"Message": "Authorization has been denied for this request."}
    finally:
        client.close()


def test_cloudflare_throttle_is_html_with_retry_after_zero(
    simulator: ScendSimulator, client: ScendClient, clock: VirtualClock
) -> None:
    # Given the simulator throttles every call like Cloudflare
    simulator.faults = FaultPlan(rate=1.0, weights={FaultKind.THROTTLE: 1.0})
    raw = httpx.get(simulator.url + "api/Order/Statuses", headers={"ms-apikey": API_KEY})
    # When the client calls / Then it backs off at least 5 s per throttle, then gives up to SQS
    with pytest.raises(RateLimitedError):
        client.find_order(REFERENCE)
    assert (raw.status_code, raw.headers["Retry-After"]) == (429, "0")
    assert raw.headers["Content-Type"].startswith("text/html") and b"1015" in raw.content
    assert clock.slept >= 10.0
    assert client.stats.throttled == 3


def test_status_list_is_served(simulator: ScendSimulator) -> None:
    # Given the simulator / When the status list is read / Then it holds Mintsoft's 23 statuses
    raw = httpx.get(simulator.url + "api/Order/Statuses", headers={"ms-apikey": API_KEY})
    statuses = {row["ID"]: row["Name"] for row in raw.json()}
    assert sorted(statuses) == list(range(1, 24))
    assert (statuses[1], statuses[4], statuses[15]) == ("NEW", "DESPATCHED", "AWAITING PICKING")


def test_create_validates_required_address_fields(simulator: ScendSimulator) -> None:
    # Given a body without a post code
    body = {
        "OrderNumber": REFERENCE,
        "Address1": "1 High St",
        "Town": "Leeds",
        "Country": "GB",
        "OrderItems": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1}],
    }
    # When it is PUT / Then HTTP 200 with Success false naming the field
    raw = httpx.put(simulator.url + "api/Order", json=body, headers={"ms-apikey": API_KEY})
    [result] = raw.json()
    assert raw.status_code == 200
    assert (result["Success"], result["Message"]) == (False, "PostCode is required")
    assert simulator.orders() == []


def test_a_marked_late_answer_is_the_clients_timeout(simulator: ScendSimulator, client: ScendClient) -> None:
    # Given every request meets a timeout, answered at once but marked late, as a sandbox day runs them
    simulator.faults = FaultPlan(rate=1.0, weights={FaultKind.TIMEOUT: 1.0}, timeout_marked=True)
    original = httpx.HTTPTransport.handle_request
    # When the connector creates an order
    with late_answers_time_out(), pytest.raises(TransientError, match=r"timeout \(ReadTimeout\)"):
        client.create_order(order_for("TSHIRT-BLK-M"), REFERENCE, SERVICE)
    # Then it saw the read timeout a late answer causes (a timeout fault answers before the route
    # acts), and the transport is itself again afterwards
    assert simulator.orders() == []
    assert httpx.HTTPTransport.handle_request is original
    # And outside a sandbox day the mark is only a 504 with a header
    response = httpx.post(simulator.url + "api/orders", json={}, headers={"ms-apikey": API_KEY})
    assert (response.status_code, response.headers.get(LATE_HEADER)) == (504, "1")
