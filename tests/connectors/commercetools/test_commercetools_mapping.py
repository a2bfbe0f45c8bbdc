"""commercetools order -> canonical order, and the write-back decisions, on payloads shaped like the API
reference's examples (commercetools-api-reference `api-specs/api/examples/order.example.json`,
`examples/Order/OrderAddDeliveryAction.json`): no server, no sockets."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.connectors.commercetools.mapping import (
    CtOrder,
    Money,
    ReturnLine,
    delivery_actions,
    delivery_key,
    format_datetime,
    is_released,
    parse,
    return_actions,
    to_order,
)
from shared.connectors.commercetools.settings import CommercetoolsSettings, ReleaseTrigger
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.shipment import Shipment, ShipmentLine

SETTINGS = CommercetoolsSettings(
    project_key="acme-prod", credentials_secret="ct/acme", supply_channels={"WH1": "ch-1", "WH2": "ch-2"}
)


def money(cents: int, currency: str = "EUR", digits: int = 2) -> dict[str, Any]:
    return {"type": "centPrecision", "fractionDigits": digits, "currencyCode": currency, "centAmount": cents}


def line(line_id: str, sku: str | None, quantity: int, cents: int, *, channel: str | None = None) -> dict[str, Any]:
    """A line item as the reference example has it (variant with sku, price, totalPrice, taxedPrice)."""
    item: dict[str, Any] = {
        "id": line_id,
        "productId": "c5c75935-595a-4cc3-a80e-24e9a9c55094",
        "name": {"en": "MyProduct", "de": "Produkt"},
        "variant": {"id": 1, **({"sku": sku} if sku else {})},
        "price": {"id": "p-1", "value": money(cents)},
        "quantity": quantity,
        "totalPrice": money(cents * quantity),
        "taxedPrice": {"totalNet": money(cents * quantity), "totalGross": money(cents * quantity * 11 // 10)},
        "state": [],
        "priceMode": "Platform",
        "lineItemMode": "Standard",
    }
    if channel:
        item["supplyChannel"] = {"typeId": "channel", "id": channel}
    return item


def example_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "type": "Order",
        "id": "92f5a867-bf19-47ab-982c-6720a03a3921",
        "version": 1,
        "createdAt": "2017-01-04T19:54:49.797Z",
        "lastModifiedAt": "2017-01-04T19:54:49.797Z",
        "totalPrice": money(1000),
        "orderState": "Open",
        "syncInfo": [],
        "returnInfo": [],
        "refusedGifts": [],
        "taxMode": "External",
        "inventoryMode": "None",
        "taxRoundingMode": "HalfEven",
        "lineItems": [line("7297c742-d8b0-484b-aadc-1d0ba1869dc9", "some-sku-123", 1, 1000)],
        "customLineItems": [],
        "discountCodes": [],
        "origin": "Customer",
        "shipping": [],
        "shippingMode": "Single",
    }
    order.update(changes)
    return order


ADDRESS = {  # the reference example's address (OrderAddDeliveryAction.json)
    "firstName": "Example",
    "lastName": "Person",
    "streetName": "Examplary Street",
    "streetNumber": "4711",
    "additionalStreetInfo": "Backhouse",
    "postalCode": "80933",
    "city": "Exemplary City",
    "region": "Exemplary Region",
    "state": "Exemplary State",
    "country": "DE",
    "company": "My Company Name",
    "building": "Hightower 1",
    "apartment": "247",
    "phone": "+49 89 12345678",
    "mobile": "+49 171 2345678",
    "email": "email@example.com",
}


def ct(payload: dict[str, Any]) -> CtOrder:
    order: CtOrder = parse(CtOrder, payload, "order")
    return order


@pytest.mark.parametrize(
    ("cents", "digits", "expected"),
    [(1000, 2, "10.00"), (1, 2, "0.01"), (1234, 0, "1234"), (12345, 3, "12.345"), (0, 3, "0.000"), (-250, 2, "-2.50")],
)
def test_money_is_exact_minor_units_at_the_currency_s_fraction_digits(cents: int, digits: int, expected: str) -> None:
    amount = Money.model_validate(money(cents, digits=digits)).amount
    assert isinstance(amount, Decimal) and str(amount) == expected


def test_high_precision_money_uses_the_precise_amount() -> None:
    precise = Money.model_validate(
        {"type": "highPrecision", "currencyCode": "EUR", "centAmount": 1, "fractionDigits": 5, "preciseAmount": 1234}
    )
    assert precise.amount == Decimal("0.01234")


def test_the_reference_example_order_maps_to_the_canonical_order() -> None:
    order = to_order(ct(example_order()), SETTINGS)
    # orderNumber is absent in the example (it is optional): the id is the reference
    assert order.order_number == order.source_id == "92f5a867-bf19-47ab-982c-6720a03a3921"
    assert (order.source, order.status, order.currency) == ("commercetools", "Open", "EUR")
    [only] = order.lines
    assert (only.sku, only.name, only.quantity) == ("some-sku-123", "MyProduct", 1)
    assert (only.line_id, only.custom) == ("7297c742-d8b0-484b-aadc-1d0ba1869dc9", False)
    assert (only.unit_price, only.tax, only.total) == (Decimal("10.00"), Decimal("1.00"), Decimal("11.00"))
    # no order-level taxedPrice: the total is totalPrice, no tax is invented
    assert (order.total, order.tax_total, order.shipping_total) == (Decimal("10.00"), 0, 0)
    assert order.updated_at == datetime(2017, 1, 4, 19, 54, 49, 797000, tzinfo=UTC)


def test_order_totals_shipping_and_address_come_from_taxed_prices_and_the_shipping_address() -> None:
    payload = example_order(
        orderNumber="A-10042",
        customerEmail="buyer@example.com",
        purchaseOrderNumber="PO-7",
        totalPrice=money(1495),
        taxedPrice={"totalNet": money(1495), "totalGross": money(1794), "totalTax": money(299)},
        shippingInfo={
            "shippingMethodName": "DHL Express",
            "price": money(495),
            "taxedPrice": {"totalNet": money(495), "totalGross": money(594)},
        },
        shippingAddress=ADDRESS,
    )
    order = to_order(ct(payload), SETTINGS)
    assert (order.order_number, order.customer_reference, order.delivery_service) == ("A-10042", "PO-7", "DHL Express")
    assert (order.total, order.tax_total, order.shipping_total) == (Decimal("17.94"), Decimal("2.99"), Decimal("4.95"))
    assert order.shipping_tax == Decimal("0.99")  # shipping ex tax, its tax apart, as the lines
    address = order.shipping_address
    assert (address.name, address.company, address.line1) == (
        "Example Person",
        "My Company Name",
        "4711 Examplary Street",
    )
    assert address.line2 == "247, Hightower 1, Backhouse"
    assert (address.city, address.region, address.postcode, address.country) == (
        "Exemplary City",
        "Exemplary Region",
        "80933",
        "DE",
    )
    assert (address.email, address.phone) == ("email@example.com", "+49 89 12345678")


def test_zero_and_three_fraction_digit_currencies_stay_exact_through_the_order() -> None:
    jpy = example_order(
        totalPrice=money(1980, "JPY", 0),
        lineItems=[
            {
                **line("l-1", "SKU-J", 2, 990),
                "price": {"value": money(990, "JPY", 0)},
                "totalPrice": money(1980, "JPY", 0),
                "taxedPrice": None,
            }
        ],
    )
    order = to_order(ct(jpy), SETTINGS)
    assert (order.total, order.lines[0].unit_price, order.lines[0].total) == (
        Decimal(1980),
        Decimal(990),
        Decimal(1980),
    )
    kwd = example_order(
        totalPrice=money(10125, "KWD", 3),
        taxedPrice=None,
        lineItems=[
            {
                **line("l-1", "SKU-K", 3, 3375),
                "price": {"value": money(3375, "KWD", 3)},
                "totalPrice": money(10125, "KWD", 3),
                "taxedPrice": None,
            }
        ],
    )
    order = to_order(ct(kwd), SETTINGS)
    assert str(order.total) == "10.125" and str(order.lines[0].unit_price) == "3.375"
    assert sum((line.total for line in order.lines), Decimal(0)) == order.total


def test_custom_line_items_are_flagged_and_carry_no_sku() -> None:
    payload = example_order(
        customLineItems=[
            {
                "id": "cli-1",
                "name": {"en": "Gift wrap"},
                "slug": "gift-wrap",
                "quantity": 1,
                "money": money(250),
                "totalPrice": money(250),
                "state": [],
            }
        ]
    )
    order = to_order(ct(payload), SETTINGS)
    custom = [line for line in order.lines if line.custom]
    assert [(line.sku, line.name, line.total, line.line_id) for line in custom] == [
        ("", "Gift wrap", Decimal("2.50"), "cli-1")
    ]
    assert [line.sku for line in order.lines if not line.custom] == ["some-sku-123"]


def test_a_line_whose_variant_has_no_sku_or_another_currency_is_refused() -> None:
    with pytest.raises(PermanentError) as no_sku:
        to_order(ct(example_order(lineItems=[line("l-1", None, 1, 100)])), SETTINGS)
    assert no_sku.value.reason is ReasonCode.SKU_INVALID
    other = line("l-1", "SKU", 1, 100)
    other["totalPrice"] = money(100, "GBP")
    with pytest.raises(PermanentError) as currency:
        to_order(ct(example_order(lineItems=[other])), SETTINGS)
    assert currency.value.reason is ReasonCode.PAYLOAD_INVALID and "GBP" in currency.value.detail


def test_a_malformed_payload_names_the_field() -> None:
    broken = example_order()
    del broken["totalPrice"]
    with pytest.raises(PermanentError) as error:
        ct(broken)
    assert error.value.reason is ReasonCode.PAYLOAD_INVALID and "totalPrice" in error.value.detail


def test_the_location_is_the_warehouse_every_line_s_supply_channel_names() -> None:
    same = example_order(lineItems=[line("a", "S1", 1, 100, channel="ch-2"), line("b", "S2", 1, 100, channel="ch-2")])
    assert to_order(ct(same), SETTINGS).location == "WH2"
    mixed = example_order(lineItems=[line("a", "S1", 1, 100, channel="ch-1"), line("b", "S2", 1, 100, channel="ch-2")])
    assert to_order(ct(mixed), SETTINGS).location == ""


@pytest.mark.parametrize(
    ("trigger", "changes", "released"),
    [
        (ReleaseTrigger.PAYMENT_PAID, {"paymentState": "Paid"}, True),
        (ReleaseTrigger.PAYMENT_PAID, {"paymentState": "Pending"}, False),
        (ReleaseTrigger.PAYMENT_PAID, {"paymentState": "Paid", "orderState": "Cancelled"}, False),
        (ReleaseTrigger.ORDER_CONFIRMED, {"orderState": "Confirmed"}, True),
        (ReleaseTrigger.ORDER_CONFIRMED, {"orderState": "Open", "paymentState": "Paid"}, False),
        (ReleaseTrigger.STATE_TRANSITION, {"state": {"typeId": "state", "id": "st-ready"}}, True),
        (ReleaseTrigger.STATE_TRANSITION, {"state": {"typeId": "state", "id": "st-other"}}, False),
        (ReleaseTrigger.STATE_TRANSITION, {}, False),
    ],
)
def test_release_follows_the_client_s_trigger_on_the_fresh_order(
    trigger: ReleaseTrigger, changes: dict[str, Any], released: bool
) -> None:
    settings = SETTINGS.model_copy(update={"release_trigger": trigger, "release_state_id": "st-ready"})
    order = ct(example_order(**changes))
    assert is_released(order, settings) is released
    assert to_order(order, settings).authorised is released


def test_settings_default_the_hosts_and_scopes_and_refuse_a_trigger_without_its_state() -> None:
    settings = CommercetoolsSettings(project_key="acme-prod", credentials_secret="ct/acme", region="eu-central-1.aws")
    assert settings.api_url == "https://api.eu-central-1.aws.commercetools.com"
    assert settings.auth_url == "https://auth.eu-central-1.aws.commercetools.com"
    assert "manage_orders:acme-prod" in settings.scopes and "manage_products:acme-prod" in settings.scopes
    with pytest.raises(ValidationError, match="release_state_id"):
        CommercetoolsSettings(
            project_key="acme-prod", credentials_secret="ct/acme", release_trigger=ReleaseTrigger.STATE_TRANSITION
        )
    with pytest.raises(ValidationError, match="project_key"):
        CommercetoolsSettings(project_key="Acme Prod", credentials_secret="ct/acme")
    with pytest.raises(ValidationError, match="region"):
        CommercetoolsSettings(project_key="acme-prod", credentials_secret="ct/acme", region="mars-1.aws")


# -- write-back decisions -------------------------------------------------------------------------------

STAMP = datetime(2026, 11, 23, 12, tzinfo=UTC)


def despatch(parcel: str, lines: dict[str, str], tracking: tuple[str, ...] = ("JD0002",)) -> Shipment:
    return Shipment(
        warehouse="scend",
        parcel_id=parcel,
        warehouse_order_id="W-1",
        client_reference="A-1",
        despatched_at=STAMP,
        carrier="DPD",
        tracking_numbers=tracking,
        lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(qty)) for sku, qty in lines.items()),
        updated_at=STAMP,
    )


def test_a_despatch_becomes_the_card_s_delivery_with_tracking_then_partial() -> None:
    order = ct(example_order(lineItems=[line("li-1", "SKU-1", 1, 100), line("li-2", "SKU-2", 1, 100)]))
    actions = delivery_actions(order, despatch("DSP-778", {"SKU-1": "1"}), SETTINGS)
    assert actions == [
        {
            "action": "addDelivery",
            "deliveryKey": "scend-DSP-778",
            "items": [{"id": "li-1", "quantity": 1}],
            "parcels": [
                {
                    "trackingData": {"trackingId": "JD0002", "carrier": "DPD", "isReturn": False},
                    "items": [{"id": "li-1", "quantity": 1}],
                }
            ],
        },
        {"action": "changeShipmentState", "shipmentState": "Partial"},
    ]


def test_a_sku_on_two_lines_fills_them_in_order_and_an_existing_delivery_is_recognised() -> None:
    lines = [line("li-1", "SKU-1", 1, 100), line("li-2", "SKU-1", 2, 100)]
    order = ct(example_order(lineItems=lines, shipmentState="Partial"))
    actions = delivery_actions(order, despatch("D-1", {"SKU-1": "3"}, ("T-1", "T-2")), SETTINGS)
    assert actions[0]["items"] == [{"id": "li-1", "quantity": 1}, {"id": "li-2", "quantity": 2}]
    assert [parcel.get("items") for parcel in actions[0]["parcels"]] == [None, None]  # which box held what is unknown
    assert actions[1] == {"action": "changeShipmentState", "shipmentState": "Shipped"}
    # The same despatch on an order that has it (kept by key, or only by its tracking numbers) writes nothing
    delivered = {
        "id": "d-1",
        "items": actions[0]["items"],
        "parcels": [
            {"id": "p-1", "trackingData": {"trackingId": "T-1"}},
            {"id": "p-2", "trackingData": {"trackingId": "T-2"}},
        ],
    }
    for kept in ({"key": "scend-D-1"}, {}):
        with_it = ct(
            example_order(lineItems=lines, shippingInfo={"deliveries": [{**copy.deepcopy(delivered), **kept}]})
        )
        assert delivery_actions(with_it, despatch("D-1", {"SKU-1": "3"}, ("T-1", "T-2")), SETTINGS) == []


def test_fractional_or_unknown_quantities_are_refused() -> None:
    order = ct(example_order(lineItems=[line("li-1", "SKU-1", 2, 100)]))
    with pytest.raises(PermanentError) as fractional:
        delivery_actions(order, despatch("D", {"SKU-1": "1.5"}), SETTINGS)
    assert fractional.value.reason is ReasonCode.QUANTITY_INVALID


def test_delivery_keys_fit_the_platform_s_key_pattern() -> None:
    assert delivery_key(despatch("ORD 55/2", {"A": "1"})) == "scend-ORD-55-2"


def test_return_actions_address_lines_by_id_and_repeat_as_nothing() -> None:
    order = ct(example_order(lineItems=[line("li-1", "SKU-1", 2, 100)]))
    actions = return_actions(order, [ReturnLine(sku="SKU-1", quantity=2)], tracking_id="RT-1", return_date=STAMP)
    assert actions == [
        {
            "action": "addReturnInfo",
            "returnTrackingId": "RT-1",
            "returnDate": "2026-11-23T12:00:00.000Z",
            "items": [{"lineItemId": "li-1", "quantity": 2, "shipmentState": "Returned"}],
        }
    ]
    returned = ct(
        example_order(
            lineItems=[line("li-1", "SKU-1", 2, 100)],
            returnInfo=[
                {
                    "returnTrackingId": "RT-1",
                    "items": [
                        {
                            "id": "ri-1",
                            "lineItemId": "li-1",
                            "quantity": 2,
                            "shipmentState": "Returned",
                            "type": "LineItemReturnItem",
                        }
                    ],
                }
            ],
        )
    )
    assert return_actions(returned, [ReturnLine(sku="SKU-1", quantity=2)], tracking_id="RT-1", return_date=None) == []


def test_timestamps_are_written_as_the_platform_writes_them() -> None:
    assert format_datetime(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00.000Z"
    assert format_datetime(datetime(2025, 3, 1, 10, 0, 0, 123456)) == "2025-03-01T10:00:00.123Z"


def test_money_to_scend_is_the_taxed_price_passed_through_with_net_unit_prices_from_tax_included_prices() -> None:
    from shared.connectors.scend.mapping import to_order_request

    # Given UK VAT included in the price (12.00 gross a unit, 2 units), a 1.00 line discount, and shipping 4.95
    item = {
        **line("l-1", "TEE-1", 2, 1200),
        "totalPrice": money(2300, "GBP"),
        "price": {"id": "p-1", "value": money(1200, "GBP")},
        "taxedPrice": {"totalNet": money(1917, "GBP"), "totalGross": money(2300, "GBP"), "totalTax": money(383, "GBP")},
    }
    payload = example_order(
        orderNumber="A-1",
        totalPrice=money(2795, "GBP"),
        lineItems=[item],
        taxedPrice={"totalNet": money(2330, "GBP"), "totalGross": money(2795, "GBP"), "totalTax": money(465, "GBP")},
        shippingInfo={
            "shippingMethodName": "Tracked 48",
            "price": money(495, "GBP"),
            "taxedPrice": {"totalNet": money(413, "GBP"), "totalGross": money(495, "GBP")},
        },
        taxedShippingPrice={"totalNet": money(413, "GBP"), "totalGross": money(495, "GBP")},
        shippingAddress={**ADDRESS, "country": "GB", "postalCode": "LS1 1AA"},
    )
    order = to_order(ct(payload), SETTINGS)
    [only] = order.lines
    # Then the line's unit price is net of VAT and of its discount, and its tax is the line's own
    assert (only.unit_price, only.tax, only.total) == (Decimal("9.585"), Decimal("3.83"), Decimal("23.00"))
    # And Scend gets the order's taxedPrice exactly: OrderValue and TotalVat are its minor units, unrounded
    body = to_order_request(order, "EXC-A-1", "RM-TRACKED-48", client_id=0, warehouse_id=3, channel="API")
    assert (body["OrderValue"], body["TotalVat"]) == (27.95, 4.65)
    assert body["OrderItems"] == [{"SKU": "TEE-1", "Quantity": 2, "UnitPrice": 9.59, "UnitPriceVat": 1.92}]
    # And shipping goes ex VAT with the VAT the lines do not carry
    assert (body["ShippingTotalExVat"], body["ShippingTotalVat"]) == (4.13, 0.82)
