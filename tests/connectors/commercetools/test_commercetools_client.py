"""The commercetools client against the vendor's mock: token, orders, write-backs, inventory under
concurrent writers, products, subscription. Every request is held to docs/platforms/commercetools.md."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from sandbox.simulators.commercetools import CommercetoolsMock, Seeder
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.commercetools import (
    CommercetoolsClient,
    CommercetoolsCredentials,
    CommercetoolsSettings,
    StockDecision,
)
from shared.connectors.commercetools.mapping import ReturnLine
from shared.connectors.http import ClientCredentials, Token
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.shipment import Shipment, ShipmentLine
from shared.models.stock import StockPush

_serial = itertools.count(1)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def unique(prefix: str) -> str:
    """Names unique within the session: the mock is shared by every test."""
    return f"{prefix}-{next(_serial):04d}"


def shipment(parcel: str, lines: dict[str, int], tracking: tuple[str, ...] = ()) -> Shipment:
    stamp = datetime(2026, 11, 23, 12, tzinfo=UTC)
    return Shipment(
        warehouse="scend",
        parcel_id=parcel,
        warehouse_order_id="W-1",
        client_reference="ref",
        despatched_at=stamp,
        carrier="DPD",
        tracking_numbers=tracking or (f"TRK-{parcel}",),
        lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(qty)) for sku, qty in lines.items()),
        updated_at=stamp,
    )


@pytest.fixture
def skus(seeder: Seeder) -> list[str]:
    names = [unique("SKU"), unique("SKU")]
    seeder.product(names, name=unique("Tee"))
    return names


def test_the_token_is_fetched_once_renewed_when_it_expires_and_after_a_401(
    ct_client: CommercetoolsClient, seeder: Seeder, skus: list[str]
) -> None:
    order = seeder.order([(skus[0], 1)])
    # Given a fresh client, when it makes three calls, then it asked for one token
    for _ in range(3):
        ct_client.get_order(order["id"])
    assert ct_client.tokens_fetched == 1
    # When the token's life (48 h, less the margin) has passed on the client's clock, a new one is fetched
    clock = ct_client.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(172800)
    ct_client.get_order(order["id"])
    assert ct_client.tokens_fetched == 2
    # When the platform no longer knows the cached token (revoked), the 401 renews it and the call succeeds
    assert isinstance(ct_client.auth, ClientCredentials)
    ct_client.auth.token = Token("revoked", clock.now() + timedelta(hours=1))
    assert ct_client.get_order(order["id"]).id == order["id"]
    assert ct_client.tokens_fetched == 3


def test_an_order_reads_as_the_canonical_order_and_is_released_only_when_paid(
    ct_client: CommercetoolsClient, seeder: Seeder, skus: list[str]
) -> None:
    number = unique("A")
    placed = seeder.order([(skus[0], 2), (skus[1], 1)], order_number=number)
    order, raw = ct_client.read_order(placed["id"])
    assert raw["id"] == placed["id"]
    assert (order.source, order.source_id, order.order_number) == ("commercetools", placed["id"], number)
    assert [(line.sku, line.quantity) for line in order.lines] == [(skus[0], 2), (skus[1], 1)]
    assert all(line.line_id and not line.custom for line in order.lines)
    assert order.currency == "GBP" and order.delivery_service == "Tracked 48"
    # money exactly as the platform's minor units say
    assert order.total == Decimal(placed["taxedPrice"]["totalGross"]["centAmount"]).scaleb(-2)
    # Shipping 4.95 includes UK VAT: it reads ex VAT with its VAT apart, as the lines do
    assert (order.shipping_total, order.shipping_total + order.shipping_tax) == (Decimal("4.12"), Decimal("4.95"))
    assert order.shipping_address.line1 == "12 St James's Square" and order.shipping_address.country == "GB"
    assert order.shipping_address.email == "buyer@example.com"
    assert (order.status, order.authorised) == ("Open", False)
    # When payment is taken, the fresh read releases it
    seeder.update(f"orders/{placed['id']}", [{"action": "changePaymentState", "paymentState": "Paid"}])
    paid = ct_client.fetch_order(placed["id"])
    assert (paid.payment_status, paid.authorised) == ("Paid", True)
    assert ct_client.order_by_number(number).id == placed["id"]


def test_orders_changed_since_walk_every_page_once(
    ct_mock: CommercetoolsMock, ct_settings: CommercetoolsSettings, seeder: Seeder, skus: list[str]
) -> None:
    # Given orders placed after a cursor, read two to a page
    since = datetime.now(UTC) - timedelta(seconds=1)
    placed = {seeder.order([(skus[0], 1)])["id"] for _ in range(5)}
    client = CommercetoolsClient(
        ct_settings.model_copy(update={"page_limit": 2}),
        CommercetoolsCredentials(client_id=ct_mock.client_id, client_secret=ct_mock.client_secret),
        retry=RetryConfig(max_attempts=1),
        clock=VirtualClock(),
    )
    seen = [change.source_id for change in client.orders_changed_since(since)]
    # Then each order is listed exactly once, in modification order
    assert placed <= set(seen) and len(seen) == len(set(seen))
    assert client.stats.calls >= 4  # 3 pages of orders (2+2+1) and the token


def test_the_warehouse_order_id_is_recorded_once(
    ct_client: CommercetoolsClient, seeder: Seeder, skus: list[str]
) -> None:
    placed = seeder.order([(skus[0], 1)])
    first = ct_client.update_sync_info(placed["id"], "SC-1001")
    again = ct_client.update_sync_info(placed["id"], "SC-1001")
    assert [(info.channel.id, info.externalId) for info in again.syncInfo] == [
        (ct_client.settings.sync_channel_id, "SC-1001")
    ]
    assert again.version == first.version  # the second call wrote nothing


def test_a_delivery_written_twice_is_written_once(
    ct_client: CommercetoolsClient, seeder: Seeder, skus: list[str]
) -> None:
    placed = seeder.order([(skus[0], 1), (skus[1], 2)])
    whole = shipment(unique("D"), {skus[0]: 1, skus[1]: 2})
    first = ct_client.add_delivery(placed["id"], whole)
    again = ct_client.add_delivery(placed["id"], whole)
    assert len(again.deliveries) == 1 and again.version == first.version
    delivery = again.deliveries[0]
    assert delivery.tracking_ids == frozenset(whole.tracking_numbers)
    assert delivery.parcels[0].trackingData is not None and delivery.parcels[0].trackingData.carrier == "DPD"
    assert sorted(item.quantity for item in delivery.items) == [1, 2]
    assert again.shipmentState == "Shipped"


def test_partial_shipments_split_a_line_and_close_the_order_on_the_last(
    ct_client: CommercetoolsClient, seeder: Seeder, skus: list[str]
) -> None:
    placed = seeder.order([(skus[0], 3), (skus[1], 1)])
    a_line = next(line["id"] for line in placed["lineItems"] if line["variant"]["sku"] == skus[0])
    # Two of three of the first line leave: a Partial delivery with only that
    first = ct_client.add_delivery(placed["id"], shipment(unique("D"), {skus[0]: 2}))
    assert first.shipmentState == "Partial"
    assert [(item.id, item.quantity) for item in first.deliveries[0].items] == [(a_line, 2)]
    # The rest leaves in a second despatch, with two parcels: Shipped
    last = ct_client.add_delivery(placed["id"], shipment(unique("D"), {skus[0]: 1, skus[1]: 1}, ("T-1", "T-2")))
    assert last.shipmentState == "Shipped" and len(last.deliveries) == 2
    assert len(last.deliveries[1].parcels) == 2
    # Anything more is over the order: refused, nothing written
    with pytest.raises(PermanentError) as refused:
        ct_client.add_delivery(placed["id"], shipment(unique("D"), {skus[0]: 1}))
    assert refused.value.reason is ReasonCode.SHIPMENT_OVER_QUANTITY
    with pytest.raises(PermanentError) as unknown:
        ct_client.add_delivery(placed["id"], shipment(unique("D"), {"NOT-ON-ORDER": 1}))
    assert unknown.value.reason is ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER


def test_a_delivery_written_meanwhile_by_another_process_is_found_after_the_409(
    ct_mock: CommercetoolsMock, ct_settings: CommercetoolsSettings, seeder: Seeder, skus: list[str]
) -> None:
    placed = seeder.order([(skus[0], 1)])
    whole = shipment(unique("D"), {skus[0]: 1})
    other = CommercetoolsClient(
        ct_settings,
        CommercetoolsCredentials(client_id="other", client_secret="x"),
        retry=RetryConfig(max_attempts=1),
        clock=VirtualClock(),
    )
    raced = False

    def the_other_writes_first(request: httpx.Request) -> None:
        nonlocal raced
        if request.method == "POST" and "/orders/" in request.url.path and not raced:
            raced = True
            other.add_delivery(placed["id"], whole)  # a redelivered message, handled elsewhere

    client = CommercetoolsClient(
        ct_settings,
        CommercetoolsCredentials(client_id=ct_mock.client_id, client_secret=ct_mock.client_secret),
        retry=RetryConfig(max_attempts=1),
        clock=VirtualClock(),
        http=httpx.Client(event_hooks={"request": [the_other_writes_first]}),
    )
    result = client.add_delivery(placed["id"], whole)
    assert raced and len(result.deliveries) == 1 and result.shipmentState == "Shipped"


def test_stock_is_set_absolutely_and_re_decided_from_the_fresh_entry_after_a_409(
    ct_client: CommercetoolsClient, seeder: Seeder, channels: dict[str, str]
) -> None:
    sku = unique("INV")
    entry = seeder.inventory(sku, channels["WH1"], 10)
    seen: list[int | None] = []

    def warehouse_figure_less_what_sold_meanwhile(decision: StockDecision) -> int:
        """The caller's rule: the warehouse says 8; whatever the shop took off since the snapshot stays off."""
        current = decision.entry.quantityOnStock if decision.entry else None
        seen.append(current)
        if len(seen) == 1:
            # another writer (an order placed) moves the entry after our read, before our write
            seeder.post(
                f"inventory/{entry['id']}",
                {"version": entry["version"], "actions": [{"action": "removeQuantity", "quantity": 3}]},
            )
        return 8 - (10 - current) if current is not None else 8

    result = ct_client.set_stock(sku, "WH1", warehouse_figure_less_what_sold_meanwhile)
    assert seen == [10, 7]  # asked again, with the figure after the other write
    assert result is not None and result.quantityOnStock == 5
    assert seeder.get(f"inventory/{entry['id']}")["quantityOnStock"] == 5


def test_a_missing_entry_is_created_and_an_unknown_location_is_refused(
    ct_client: CommercetoolsClient, channels: dict[str, str]
) -> None:
    sku = unique("NEW")
    rejected = ct_client.push_stock(
        [StockPush(sku=sku, location="WH2", quantity=4), StockPush(sku=sku, location="NOWHERE", quantity=1)]
    )
    assert [push.location for push in rejected] == ["NOWHERE"]
    entry = ct_client.inventory_entry(sku, "WH2")
    assert entry is not None and entry.quantityOnStock == 4
    assert entry.supplyChannel is not None and entry.supplyChannel.id == channels["WH2"]
    # the same figure again writes nothing
    ct_client.push_stock([StockPush(sku=sku, location="WH2", quantity=4)])
    again = ct_client.inventory_entry(sku, "WH2")
    assert again is not None and again.version == entry.version
    rows = list(ct_client.stock_levels([sku]))
    assert [(row.sku, row.location, row.on_hand) for row in rows] == [(sku, "WH2", 4)]


def test_returned_lines_are_recorded_once(ct_client: CommercetoolsClient, seeder: Seeder, skus: list[str]) -> None:
    placed = seeder.order([(skus[0], 2)])
    ct_client.add_delivery(placed["id"], shipment(unique("D"), {skus[0]: 2}))
    lines = [ReturnLine(sku=skus[0], quantity=1)]
    first = ct_client.add_return_info(placed["id"], lines, tracking_id="RET-1")
    again = ct_client.add_return_info(placed["id"], lines, tracking_id="RET-1")
    assert again.version == first.version and len(again.returnInfo) == 1
    item = again.returnInfo[0].items[0]
    assert (item.lineItemId, item.quantity, item.shipmentState) == (placed["lineItems"][0]["id"], 1, "Returned")


def test_variants_of_changed_products_are_listed_by_sku(ct_client: CommercetoolsClient, seeder: Seeder) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    names = [unique("VAR"), unique("VAR"), unique("VAR")]
    seeder.product(names, name=unique("Hoodie"))
    found = {product.sku: product for product in ct_client.products_changed_since(since)}
    assert set(names) <= set(found)
    assert found[names[1]].source == "commercetools" and found[names[1]].active


def test_the_order_subscription_is_created_once_and_reports_its_status(ct_client: CommercetoolsClient) -> None:
    key = unique("hopline-orders")
    queue = "https://sqs.eu-west-2.amazonaws.com/123456789012/hopline-ct-orders"
    created = ct_client.ensure_subscription(key, queue, "eu-west-2")
    again = ct_client.ensure_subscription(key, queue, "eu-west-2")
    assert again.id == created.id and again.status == "Healthy"
    assert created.destination["authenticationMode"] == "IAM"
    with pytest.raises(PermanentError):
        ct_client.ensure_subscription(key, queue + "-other", "eu-west-2")
    assert ct_client.subscription(unique("absent")) is None
