"""The real Cin7CoreClient against the Cin7 Core simulator over HTTP on localhost, on virtual time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from sandbox.simulators.base import FaultKind, FaultPlan
from sandbox.simulators.cin7_core import Cin7CoreSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.cin7_core import Cin7CoreClient, parse_sale_event
from shared.connectors.http import TokenBucket
from shared.errors import AuthError, NotFoundError, RateLimitedError
from shared.models import Address, Order, OrderLine

ACCOUNT_ID = "acct-sandbox"
APPLICATION_KEY = "key-sandbox"
RETRY = RetryConfig(max_attempts=3, base_delay_seconds=1, max_delay_seconds=20, timeout_seconds=5)


@pytest.fixture
def simulator(request: pytest.FixtureRequest, clock: VirtualClock) -> Iterator[Cin7CoreSimulator]:
    faults = getattr(request, "param", None)
    sim = Cin7CoreSimulator(ACCOUNT_ID, APPLICATION_KEY, clock=clock, faults=faults)
    sim.start()
    yield sim
    sim.stop()


def client_for(sim: Cin7CoreSimulator, clock: VirtualClock, **options: object) -> Cin7CoreClient:
    options.setdefault("retry", RETRY)
    return Cin7CoreClient(f"{sim.url}ExternalApi/v2/", ACCOUNT_ID, APPLICATION_KEY, clock=clock, **options)  # type: ignore[arg-type]


def add_uk_sale(sim: Cin7CoreSimulator, number: int = 1) -> str:
    return sim.add_sale(
        order_number=f"SO-{number:05d}",
        lines=[("TEE-BLK-M", 2, Decimal("12.50")), ("CAP-NVY-S", 1, Decimal("8.95"))],
        address={
            "Line1": "22 Mill Lane",
            "City": "Bristol",
            "Postcode": "BS1 4DJ",
            "Country": "United Kingdom",
            "Contact": "Sam Patel",
        },
        email="sam@example.com",
        phone="+44 7700 900456",
        shipping=Decimal("3.95"),
        customer_reference=f"SHOP-{number}",
    )


def test_fetch_order_maps_a_simulated_sale_exactly(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given a VAT-inclusive sale of 2 x 12.50 + 1 x 8.95 with 3.95 shipping
    sale_id = add_uk_sale(simulator)
    client = client_for(simulator, clock)
    # When the client fetches it over HTTP
    order = client.fetch_order(sale_id)
    # Then it is the canonical order, to the penny, in one call
    assert order == Order(
        source="cin7_core",
        source_id=sale_id,
        order_number="SO-00001",
        customer_reference="SHOP-1",
        status="ORDERED",
        authorised=True,
        location="Scend UK",
        delivery_service="Royal Mail Tracked 48",
        currency="GBP",
        lines=(
            OrderLine(
                sku="TEE-BLK-M",
                name="Tee Blk M",
                quantity=Decimal(2),
                unit_price=Decimal("12.50"),
                tax=Decimal("4.17"),
                total=Decimal("25.00"),
            ),
            OrderLine(
                sku="CAP-NVY-S",
                name="Cap Nvy S",
                quantity=Decimal(1),
                unit_price=Decimal("8.95"),
                tax=Decimal("1.49"),
                total=Decimal("8.95"),
            ),
        ),
        shipping_address=Address(
            name="Sam Patel",
            line1="22 Mill Lane",
            city="Bristol",
            postcode="BS1 4DJ",
            country="GB",
            email="sam@example.com",
            phone="+44 7700 900456",
        ),
        shipping_total=Decimal("3.95"),
        tax_total=Decimal("6.32"),
        total=Decimal("37.90"),
        updated_at=clock.now(),
        # the sale's open fulfilment task, kept so the first write-back needs no read
        writeback_tokens=tuple(task for task, sale in simulator._tasks.items() if sale == sale_id),
    )
    assert len(order.writeback_tokens) == 1
    assert all(isinstance(line.total, Decimal) for line in order.lines)
    assert client.stats.calls == 1
    assert simulator.requests["GET /externalapi/v2/sale"] == 1


def test_the_webhook_payload_names_the_same_sale(simulator: Cin7CoreSimulator) -> None:
    # Given a sale and the thin payload Cin7 would post for it (GUID in upper case)
    sale_id = add_uk_sale(simulator)
    payload = simulator.webhook_payload(sale_id)
    assert payload["SaleID"] == sale_id.upper()
    # When the payload is parsed
    event = parse_sale_event(httpx.Request("POST", "http://hook", json=payload).content)
    # Then it names the sale id the API uses
    assert (event.sale_id, event.order_number, event.event_type) == (sale_id, "SO-00001", "Sale/OrderAuthorised")


def test_changes_since_are_paged_with_a_small_page_limit(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given five authorised sales a minute apart, one draft and one older than the window
    old = add_uk_sale(simulator, 99)
    clock.advance(600)
    since = clock.now()
    expected = []
    for number in range(1, 6):
        clock.advance(60)
        expected.append(add_uk_sale(simulator, number))
    draft = simulator.add_sale(
        order_number="SO-00077", lines=[("TEE-BLK-M", 1, Decimal("12.50"))], status="ORDERING", order_status="DRAFT"
    )
    client = client_for(simulator, clock, page_limit=2)
    # When the changes since the window start are listed
    changes = list(client.orders_changed_since(since))
    # Then every authorised sale came back, oldest first, over three pages
    assert [c.source_id for c in changes] == expected
    assert old not in {c.source_id for c in changes} and draft not in {c.source_id for c in changes}
    assert simulator.requests["GET /externalapi/v2/salelist"] == 3
    assert client.stats.calls == 3


def test_an_updated_sale_moves_to_the_end_of_the_changes(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given two sales, the first of which is later backordered
    since = clock.now() - timedelta(minutes=1)
    first, second = add_uk_sale(simulator, 1), add_uk_sale(simulator, 2)
    clock.advance(30)
    simulator.update_sale(first, Status="BACKORDERED")
    # When the changes are listed
    changes = list(client_for(simulator, clock).orders_changed_since(since))
    # Then the updated sale comes last, with its new status and stamp
    assert [(c.source_id, c.status) for c in changes] == [(second, "ORDERED"), (first, "BACKORDERED")]
    assert changes[-1].updated_at == clock.now()


def test_unknown_sale_is_not_found(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given no such sale / When it is fetched / Then NotFoundError (Cin7 says so inside an HTTP 200)
    with pytest.raises(NotFoundError):
        client_for(simulator, clock).fetch_order("00000000-0000-4000-8000-000000000000")


def test_wrong_keys_are_refused(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given a client with the wrong application key
    client = Cin7CoreClient(f"{simulator.url}ExternalApi/v2/", ACCOUNT_ID, "wrong", retry=RETRY, clock=clock)
    # When it calls / Then AuthError
    with pytest.raises(AuthError):
        client.me()


def test_without_a_budget_the_sixty_first_call_in_a_minute_is_throttled(
    simulator: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given a client with no shared budget, and a sale to read
    sale_id = add_uk_sale(simulator)
    client = client_for(simulator, clock)
    # When it reads the sale 61 times within one virtual minute
    for _ in range(60):
        client.get_sale(sale_id)
    with pytest.raises(RateLimitedError):
        client.get_sale(sale_id)
    # Then Cin7's limit answered 503 on every attempt of the 61st call
    assert simulator.throttled == RETRY.max_attempts
    assert client.stats.throttled == RETRY.max_attempts
    assert clock.slept >= 5.0 * (RETRY.max_attempts - 1)


def test_a_budget_within_sixty_per_rolling_minute_is_never_throttled(
    simulator: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given a client sharing a bucket that allows no burst above 60 calls per minute
    sale_id = add_uk_sale(simulator)
    client = client_for(simulator, clock, budget=TokenBucket(60, 60, clock, capacity=1))
    # When it reads the sale 150 times
    for _ in range(150):
        client.get_sale(sale_id)
    # Then Cin7 never throttled it, and virtual time paid for the calls instead
    assert simulator.throttled == 0
    assert client.stats.throttled == 0
    assert clock.slept >= 149 - 1


def test_runtime_budget_keeps_a_backlog_under_sixty_per_rolling_minute(
    simulator: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given the budget the runtime builds for a 60 calls/min application (burst + refill <= 60)
    from shared.runtime import Runtime

    budget = Runtime(clock=clock, budgets={}).budget("cin7_core:test", 60, 60)
    sale_id = add_uk_sale(simulator)
    client = client_for(simulator, clock, budget=budget)
    start = clock.now()
    # When it works through a backlog of 300 reads
    for _ in range(300):
        client.get_sale(sale_id)
    # Then Cin7 never throttled it, and it still used at least 90% of the allowance
    minutes = (clock.now() - start).total_seconds() / 60
    assert simulator.throttled == 0
    assert 300 / minutes >= 0.9 * 60


@pytest.mark.parametrize(
    "simulator",
    [FaultPlan(rate=0.35, weights={FaultKind.THROTTLE: 0.5, FaultKind.SERVER_ERROR: 0.5}, seed=7)],
    indirect=True,
)
def test_throttle_and_server_error_faults_are_retried_transparently(
    simulator: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given a seeded plan injecting 503 throttles and 502 pages into a third of calls
    sale_ids = [add_uk_sale(simulator, n) for n in range(1, 21)]
    client = client_for(simulator, clock, retry=RetryConfig(max_attempts=8, base_delay_seconds=1, max_delay_seconds=20))
    # When every sale is fetched
    orders = [client.fetch_order(sale_id) for sale_id in sale_ids]
    # Then all arrived, and each injected fault cost exactly one retry
    assert [o.order_number for o in orders] == [f"SO-{n:05d}" for n in range(1, 21)]
    injected = simulator.faults_injected
    assert injected[FaultKind.THROTTLE] > 0 and injected[FaultKind.SERVER_ERROR] > 0
    assert client.stats.retries == injected[FaultKind.THROTTLE] + injected[FaultKind.SERVER_ERROR]
    assert client.stats.throttled == injected[FaultKind.THROTTLE] == simulator.throttled


def test_sale_list_validates_paging_parameters(simulator: Cin7CoreSimulator) -> None:
    # Given raw HTTP calls with Cin7's headers
    headers = {"api-auth-accountid": ACCOUNT_ID, "api-auth-applicationkey": APPLICATION_KEY}
    base = f"{simulator.url}ExternalApi/v2/"
    with httpx.Client(headers=headers) as http:
        # When limit is outside 1-1000, page is 0, or sale has no ID
        too_big = http.get(base + "saleList", params={"limit": 1001})
        page_zero = http.get(base + "saleList", params={"page": 0})
        no_id = http.get(base + "sale")
        me = http.get(base + "ME")
    # Then each is a 400 with Cin7's error list; paths are case-insensitive
    for response in (too_big, page_zero, no_id):
        assert response.status_code == 400
        assert response.json()[0]["ErrorCode"] == 400
    assert me.status_code == 200 and me.json()["Currency"] == "GBP"


def test_sale_list_search_filter(simulator: Cin7CoreSimulator) -> None:
    # Given two sales with different customer references
    add_uk_sale(simulator, 1)
    wanted = add_uk_sale(simulator, 2)
    headers = {"api-auth-accountid": ACCOUNT_ID, "api-auth-applicationkey": APPLICATION_KEY}
    # When saleList is searched for one reference
    with httpx.Client(headers=headers) as http:
        body = http.get(f"{simulator.url}ExternalApi/v2/saleList", params={"Search": "shop-2"}).json()
    # Then only that sale is listed, with Cin7's row fields
    assert body["Total"] == 1
    row = body["SaleList"][0]
    assert (row["SaleID"], row["OrderNumber"], row["OrderStatus"]) == (wanted, "SO-00002", "AUTHORISED")
    assert row["Updated"].endswith("Z") and not row["OrderDate"].endswith("Z")
