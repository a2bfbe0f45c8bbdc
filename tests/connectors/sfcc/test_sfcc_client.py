"""The SFCC connector against the simulator: token, windowed release poll, load shedding, write-backs, stock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from sandbox.simulators.sfcc import SfccSimulator, sample_order
from shared.clock import VirtualClock
from shared.connectors.sfcc import SfccClient
from shared.connectors.sfcc.mapping import format_sfcc_datetime
from shared.errors import AuthError, EndpointUnavailableError, PermanentError, RateLimitedError
from shared.flows.totals import PostingRules, plan_posting
from shared.models import ReasonCode

PRICE_PATH = "price_books/{price_book_id}/price_tables/{product_id}"


def seed(
    simulator: SfccSimulator,
    clock: VirtualClock,
    count: int,
    *,
    start: int = 0,
    step_seconds: float = 1,
    full: bool = False,
    **fields: Any,
) -> list[str]:
    """`count` orders, `step_seconds` apart in lastModified (0: all at one instant), numbered from `start`.

    Cheap by default (the fields the release filter and the windows read: a backlog of 10,000 stays
    quick); `full` seeds the card's example order instead.
    """
    numbers = []
    for index in range(start, start + count):
        number = f"{index:08d}"
        at = clock.now() - timedelta(days=1) + timedelta(seconds=index * step_seconds)
        if full:
            simulator.add_order(sample_order(number, at, **fields))
        else:
            stamp = format_sfcc_datetime(at)
            simulator.add_order(
                {
                    "orderNo": number,
                    "creationDate": stamp,
                    "lastModified": stamp,
                    "status": "new",
                    "exportStatus": "ready",
                    "confirmationStatus": "confirmed",
                    **{CAMEL[name]: value for name, value in fields.items()},
                }
            )
        numbers.append(number)
    return numbers


CAMEL = {"status": "status", "export_status": "exportStatus", "confirmation_status": "confirmationStatus"}


def test_the_token_is_fetched_once_and_reused_until_it_expires(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given an order to read
    seed(simulator, clock, 1)
    # When it is read three times within the token's life
    for _ in range(3):
        client.get_order("00000000")
    # Then one token served all three
    assert simulator.tokens_issued == 1
    # And once the token is about to expire (1799 s, renewed a minute early) the next call fetches another
    clock.advance(1799 - 60)
    client.get_order("00000000")
    assert simulator.tokens_issued == 2 and client.tokens_fetched == 2


def test_a_refused_token_is_renewed_once_and_the_call_sent_again(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    seed(simulator, clock, 1)
    client.get_order("00000000")
    # Given the instance stops honouring the cached token (secret rotated, session revoked)
    simulator.revoke_tokens()
    # When the connector calls again, then it gets a new token and the call succeeds
    assert client.get_order("00000000")["orderNo"] == "00000000"
    assert simulator.tokens_issued == 2
    assert simulator.requests["GET /checkout/orders/v1/organizations/f_ecom_zzxy_prd/orders/00000000"] == 3


def test_a_token_refused_twice_is_an_auth_error_not_a_loop(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given tokens that are dead on arrival
    seed(simulator, clock, 1)
    simulator.token_lifetime_seconds = 0
    # Then one renewal is tried, and the second 401 is raised
    with pytest.raises(AuthError):
        client.get_order("00000000")
    assert simulator.tokens_issued == 2


def test_an_unknown_tenant_is_refused_at_the_token_endpoint(make_client: Any) -> None:
    client = make_client(organization_id="f_ecom_abcd_stg")
    with pytest.raises(AuthError):
        client.get_order("00000410")


def test_the_release_poll_reads_a_backlog_past_10000_orders_in_windows(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given a backlog of 10,050 ready orders, and orders the release filter must leave out
    ready = seed(simulator, clock, 10_050)
    seed(simulator, clock, 5, start=20_000, export_status="not_exported")
    seed(simulator, clock, 5, start=30_000, status="created")
    seed(simulator, clock, 5, start=40_000, confirmation_status="not_confirmed")
    # When the connector polls from before the first
    polled = list(client.poll_orders(clock.now() - timedelta(days=2)))
    # Then it reads every ready order once, oldest first, and nothing else
    assert [row.order_no for row in polled] == ready
    # And no listing passed SCAPI's cap (the simulator would have refused it) and each page was full but the last
    assert all(int(query["offset"]) + int(query["limit"]) <= 10_000 for query in simulator.listings)
    assert len(simulator.listings) == 51
    # And the windows moved their lower bound instead of the offset
    assert len({query["lastModifiedDateFrom"] for query in simulator.listings}) == 51
    first = simulator.listings[0]
    assert (first["status"], first["exportStatus"], first["confirmationStatus"]) == ("new", "ready", "confirmed")
    assert (first["sortBy"], first["sortOrder"], first["siteId"]) == ("last_modified_date", "asc", "RefArch")


def test_orders_sharing_one_last_modified_are_stepped_over_with_the_offset(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given three runs of orders that share their lastModified (a job touched them in one instant)
    numbers = seed(simulator, clock, 450, step_seconds=0)
    numbers += seed(simulator, clock, 450, start=10_000, step_seconds=0)
    numbers += seed(simulator, clock, 30, start=20_000, step_seconds=0)
    # When polled, then each is read once
    polled = [row.order_no for row in client.poll_orders(None)]
    assert sorted(polled) == sorted(numbers) and len(polled) == len(set(polled))
    assert max(int(query["offset"]) for query in simulator.listings) >= 400


def test_a_run_of_orders_sharing_one_instant_longer_than_the_cap_is_refused(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given 10,050 orders with one lastModified: offset + limit would have to pass 10,000 within one instant
    seed(simulator, clock, 10_050, step_seconds=0)
    # Then the poll says so instead of losing the rest
    with pytest.raises(PermanentError) as refused:
        list(client.poll_orders(None))
    assert "10000" in refused.value.detail
    assert all(int(query["offset"]) + int(query["limit"]) <= 10_000 for query in simulator.listings)


def test_orders_exported_while_the_poll_runs_do_not_hide_the_ones_after_them(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given 450 ready orders
    numbers = seed(simulator, clock, 450)
    seen = []
    # When each is claimed (exported) as soon as the poll yields it, the way the submit step would
    for row in client.poll_orders(None):
        seen.append(row.order_no)
        simulator.orders[row.order_no]["exportStatus"] = "exported"
    # Then none was skipped, though each claim took an order out of the listing
    assert seen == numbers


def test_load_warnings_slow_the_client_down(client: SfccClient, simulator: SfccSimulator, clock: VirtualClock) -> None:
    seed(simulator, clock, 1)
    client.get_order("00000000")
    assert client.backoff_hint == 0.0 and client.load_status is None
    # Given the instance reports 85 % load (WARN)
    simulator.load = 85
    client.get_order("00000000")
    assert (client.load_status, client.load, client.backoff_hint) == ("WARN", 85, 1.0)
    # When the next call goes out, it waits the hint first (on the virtual clock)
    before = clock.slept
    client.get_order("00000000")
    assert clock.slept - before >= 1.0
    # And at 95 % (THROTTLE) the hint is the longer one
    simulator.load = 95
    client.get_order("00000000")
    assert (client.load_status, client.backoff_hint) == ("THROTTLE", 10.0)
    simulator.load = None
    client.get_order("00000000")
    assert client.backoff_hint == 0.0


def test_load_shedding_503_is_retried_and_then_raised_as_throttling(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    seed(simulator, clock, 1)
    simulator.shedding = True
    with pytest.raises(RateLimitedError):
        client.get_order("00000000")
    assert client.stats.throttled == 3 and client.load_status == "THROTTLE"
    simulator.shedding = False
    assert client.get_order("00000000")["orderNo"] == "00000000"


def test_export_shipping_tracking_and_completion_land_on_the_order(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    seed(simulator, clock, 3)
    # When one order is claimed and another quarantined
    client.set_export_status("00000000", "exported")
    client.set_export_status("00000001", "failed")
    # Then both leave the release poll, and the third is still in it
    assert [row.order_no for row in client.poll_orders(None)] == ["00000002"]
    # When the first ships in two parts with tracking, then closes
    client.set_shipping_status("00000000", "part_shipped")
    client.set_tracking("00000000", ["JB123456785GB", "JB123456785GB", "15501234567890"], "Royal Mail")
    client.set_shipping_status("00000000", "shipped")
    client.complete_order("00000000")
    order = simulator.orders["00000000"]
    assert (order["exportStatus"], order["shippingStatus"], order["status"]) == ("exported", "shipped", "completed")
    assert order["c_trackingNumbers"] == "JB123456785GB,15501234567890" and order["c_carrier"] == "Royal Mail"
    assert simulator.orders["00000001"]["exportStatus"] == "failed"
    # And statuses that are not ours to set are refused before any call
    with pytest.raises(ValueError, match="not ours"):
        client.set_export_status("00000002", "ready")  # type: ignore[arg-type]


def test_completing_a_failed_order_is_refused_by_the_platform(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given an order that failed at checkout (the spec lets it move only back to created)
    seed(simulator, clock, 1, status="failed")
    # Then closing it is refused as the platform's decision, not retried
    with pytest.raises(PermanentError) as refused:
        client.complete_order("00000000")
    assert refused.value.reason is ReasonCode.SOURCE_REJECTED and refused.value.status == 400
    assert simulator.orders["00000000"]["status"] == "failed"


def test_allocation_is_written_with_the_snapshot_time_as_reset_date(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given a stock snapshot taken now, an order placed before it and one after it
    snapshot = clock.now()
    simulator.add_order(sample_order("00000001", snapshot - timedelta(minutes=5), product_id="SKU-1", quantity=3))
    simulator.add_order(sample_order("00000002", snapshot + timedelta(minutes=5), product_id="SKU-1", quantity=2))
    # When the allocation from the snapshot is written for a product with no record yet
    client.set_allocation("SKU-1", 10, snapshot)
    # Then the record was created (PATCH 404, then PUT) with the snapshot as reset_date
    record = "/s/-/dw/data/v23_2/inventory_lists/inventory_m/product_inventory_records/sku-1"
    assert (simulator.requests[f"PATCH {record}"], simulator.requests[f"PUT {record}"]) == (1, 1)
    stored = simulator.inventory[("inventory_m", "SKU-1")]["allocation"]
    assert stored == {"amount": 10, "reset_date": format_sfcc_datetime(snapshot)}
    # And SFCC deducts only the order placed after the snapshot: ATS 10 - 2
    document = simulator.inventory_document("inventory_m", "SKU-1")
    assert (document["inventory_turnover"], document["ats"]) == (2, 8)
    # When the next snapshot is written, it is an update (PATCH only) that keeps the record's other fields
    simulator.inventory[("inventory_m", "SKU-1")]["perpetual_flag"] = True
    client.set_allocation("SKU-1", 7, snapshot + timedelta(hours=1))
    assert (simulator.requests[f"PATCH {record}"], simulator.requests[f"PUT {record}"]) == (2, 1)
    assert simulator.inventory[("inventory_m", "SKU-1")]["perpetual_flag"] is True
    assert simulator.inventory_document("inventory_m", "SKU-1")["ats"] == 7
    with pytest.raises(PermanentError):
        client.set_allocation("SKU-1", -1, snapshot)


def test_prices_need_their_setting_and_an_endpoint_the_instance_serves(
    make_client: Any, simulator: SfccSimulator
) -> None:
    books = [{"tier": "retail", "currency": "GBP", "price_book_id": "gbp-list-prices"}]
    # Without the setting, no call is made
    unset = make_client(price_books=books)
    with pytest.raises(PermanentError) as refused:
        unset.set_price("SKU-1", "retail", "GBP", Decimal("19.99"))
    assert refused.value.reason is ReasonCode.ENDPOINT_UNAVAILABLE
    # With it, and the instance serving it, the price lands in the book of that tier and currency
    client = make_client(price_books=books, price_book_endpoint=PRICE_PATH)
    simulator.price_book_endpoint = PRICE_PATH
    client.set_price("SKU-1", "retail", "GBP", Decimal("19.99"))
    assert simulator.prices[("gbp-list-prices", "SKU-1")] == {"amount": Decimal("19.99"), "currency": "GBP"}
    with pytest.raises(PermanentError, match="no SFCC price book"):
        client.set_price("SKU-1", "retail", "EUR", Decimal("21.00"))
    # And an instance without it answers 404: one clear exception naming the setting
    simulator.price_book_endpoint = None
    with pytest.raises(EndpointUnavailableError) as missing:
        client.set_price("SKU-1", "retail", "GBP", Decimal("19.99"))
    assert missing.value.config_field == "price_book_endpoint"


def test_a_read_order_keeps_its_money_exact_and_posts_to_the_minor_unit(
    client: SfccClient, simulator: SfccSimulator, clock: VirtualClock
) -> None:
    # Given the card's example order, in a 3-decimal currency on a multi-currency site
    raw = sample_order("00000410", clock.now(), currency="KWD")
    raw.update({"orderTotal": 94.999, "taxTotal": 15.833, "shippingTotal": 4.999, "shippingTotalTax": 0.833})
    simulator.add_order(raw)
    order, archived = client.read_order("00000410")
    # Then money is Decimal in the order's own currency, lines after SFCC's order-discount proration
    assert order.currency == "KWD" and order.total == Decimal("94.999") and order.tax_inclusive
    assert archived["orderTotal"] == Decimal("94.999")
    line = order.lines[0]
    assert (line.total, line.tax, line.order_discount, line.tax_rate) == (
        Decimal("90.0"),
        Decimal("15.0"),
        Decimal("10.0"),
        Decimal("0.2"),
    )
    # And the posting plan reaches the totals exactly, shipping as a charge with its tax
    plan = plan_posting(order, PostingRules(rounding_product="Rounding")).plan
    assert plan is not None and plan.totals() == (Decimal("94.999"), Decimal("15.833"), Decimal("4.999"))
