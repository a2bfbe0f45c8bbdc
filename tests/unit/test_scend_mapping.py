"""Scend mapping: canonical order -> PUT /api/Order body, status table, exact money."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.connectors.scend.mapping import (
    STATUS_BY_ID,
    country_code,
    is_duplicate_message,
    is_unknown_sku_message,
    json_number,
    neutral_status,
    split_name,
    to_order_request,
)
from shared.errors import PermanentError
from shared.models import Address, Order, OrderLine, ReasonCode, WarehouseStatus

ADDRESS = Address(
    name="Jo Smith",
    company="Smith & Daughters",
    line1="1 High St",
    line2="Flat 2",
    city="Leeds",
    region="West Yorkshire",
    postcode="LS1 1AA",
    country="GB",
    email="jo@example.com",
    phone="07700 900123",
)


def order(*lines: OrderLine, **changes: object) -> Order:
    base = Order(
        source="cin7_core",
        source_id="6f1c2d7e-0000-4000-8000-000000000045",
        order_number="SO-01822",
        status="ORDERED",
        authorised=True,
        lines=lines
        or (OrderLine(sku="TSHIRT-BLK-M", quantity=Decimal("2"), unit_price=Decimal("12.50"), tax=Decimal("5.00")),),
        shipping_address=ADDRESS,
        shipping_total=Decimal("3.29"),
        tax_total=Decimal("5.66"),
        total=Decimal("33.95"),
    )
    return base.model_copy(update=changes)


def request_for(value: Order, warehouse_id: int | None = 3) -> dict[str, object]:
    return to_order_request(
        value, "BRANDA-100045", "Royal Mail Tracked 48", client_id=0, warehouse_id=warehouse_id, channel="API"
    )


def test_order_request_matches_the_card_example() -> None:
    # Given the reference card's example order
    # When mapped
    body = request_for(order())
    # Then the body carries Mintsoft's field names and the exact amounts
    assert body == {
        "OrderNumber": "BRANDA-100045",
        "ExternalOrderReference": "SO-01822",
        "ClientId": 0,
        "WarehouseId": 3,
        "Channel": "API",
        "CourierService": "Royal Mail Tracked 48",
        "FirstName": "Jo",
        "LastName": "Smith",
        "CompanyName": "Smith & Daughters",
        "Address1": "1 High St",
        "Address2": "Flat 2",
        "Town": "Leeds",
        "County": "West Yorkshire",
        "PostCode": "LS1 1AA",
        "Country": "GB",
        "Email": "jo@example.com",
        "Phone": "07700 900123",
        "Currency": "GBP",
        "OrderValue": 33.95,
        "TotalVat": 5.66,
        "ShippingTotalExVat": 3.29,
        "ShippingTotalVat": 0.66,
        "OrderItems": [{"SKU": "TSHIRT-BLK-M", "Quantity": 2, "UnitPrice": 12.5, "UnitPriceVat": 2.5}],
    }


def test_empty_optional_fields_and_missing_warehouse_are_omitted() -> None:
    # Given no warehouse id and an address without the optional parts
    bare = ADDRESS.model_copy(update={"company": "", "line2": "", "region": "", "email": "", "phone": ""})
    # When mapped
    body = request_for(order(shipping_address=bare), warehouse_id=None)
    # Then those keys are absent rather than sent empty
    for key in ("WarehouseId", "CompanyName", "Address2", "County", "Email", "Phone"):
        assert key not in body


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Jo Smith", ("Jo", "Smith")),
        ("Cher", ("Cher", None)),
        ("  Jan   van der Berg ", ("Jan", "van der Berg")),
        ("", ("", None)),
    ],
)
def test_split_name(name: str, expected: tuple[str, str | None]) -> None:
    # Given a recipient name / When split / Then the first word is FirstName and the rest LastName
    assert split_name(name) == expected


def test_single_word_name_sends_first_name_only() -> None:
    # Given a one-word recipient / When mapped / Then there is no LastName key
    body = request_for(order(shipping_address=ADDRESS.model_copy(update={"name": "Cher"})))
    assert body["FirstName"] == "Cher"
    assert "LastName" not in body


@pytest.mark.parametrize(("given_country", "expected"), [("GB", "GB"), ("gb", "GB"), (" ie ", "IE"), ("UK", "GB")])
def test_country_is_iso2(given_country: str, expected: str) -> None:
    # Given a country as the source spelled it / When mapped / Then it is an ISO 3166-1 alpha-2 code
    assert country_code(given_country) == expected


@pytest.mark.parametrize("bad", ["United Kingdom", "GBR", "G1"])
def test_country_that_is_not_iso2_is_refused(bad: str) -> None:
    # Given a country name or alpha-3 code / When mapped / Then refused as an unsupported country
    with pytest.raises(PermanentError) as caught:
        request_for(order(shipping_address=ADDRESS.model_copy(update={"country": bad})))
    assert caught.value.reason is ReasonCode.COUNTRY_UNSUPPORTED


@pytest.mark.parametrize(("quantity", "expected"), [(Decimal("3"), 3), (Decimal("2.0000"), 2), (Decimal("1E+1"), 10)])
def test_whole_quantities_become_integers(quantity: Decimal, expected: int) -> None:
    # Given a whole quantity written as a Decimal / When mapped / Then an int goes on the wire
    body = request_for(order(OrderLine(sku="MUG-WHT-11OZ", quantity=quantity)))
    [item] = body["OrderItems"]  # type: ignore[misc]
    assert item["Quantity"] == expected and type(item["Quantity"]) is int


@pytest.mark.parametrize("quantity", [Decimal("1.5"), Decimal("0"), Decimal("-1"), Decimal("0.001")])
def test_fractional_or_non_positive_quantities_are_refused(quantity: Decimal) -> None:
    # Given a quantity a warehouse cannot pick / When mapped / Then refused, naming the SKU
    with pytest.raises(PermanentError) as caught:
        request_for(order(OrderLine(sku="MUG-WHT-11OZ", quantity=quantity)))
    assert caught.value.reason is ReasonCode.QUANTITY_INVALID
    assert "MUG-WHT-11OZ" in caught.value.detail


def test_order_without_lines_is_refused() -> None:
    # Given an order with no lines / When mapped / Then NO_LINES
    with pytest.raises(PermanentError) as caught:
        request_for(order().model_copy(update={"lines": ()}))
    assert caught.value.reason is ReasonCode.NO_LINES


def test_incomplete_address_is_refused_naming_the_gaps() -> None:
    # Given an address without a post code or town / When mapped / Then ADDRESS_INCOMPLETE naming both
    gaps = ADDRESS.model_copy(update={"postcode": " ", "city": ""})
    with pytest.raises(PermanentError) as caught:
        request_for(order(shipping_address=gaps))
    assert caught.value.reason is ReasonCode.ADDRESS_INCOMPLETE
    assert "city" in caught.value.detail and "postcode" in caught.value.detail


def test_line_discount_and_tax_become_unit_amounts() -> None:
    # Given 3 units at 9.99 with 10% off and 5.39 VAT for the line
    line = OrderLine(
        sku="CAP-NVY",
        quantity=Decimal("3"),
        unit_price=Decimal("9.99"),
        discount_percent=Decimal("10"),
        tax=Decimal("5.39"),
    )
    # When mapped / Then the unit price is after discount and VAT is per unit, both to the penny
    [item] = request_for(order(line))["OrderItems"]  # type: ignore[misc]
    assert (item["UnitPrice"], item["UnitPriceVat"]) == (8.99, 1.8)


def test_shipping_vat_is_omitted_when_lines_carry_no_vat() -> None:
    # Given lines without VAT but VAT on the order / When mapped / Then shipping VAT is not guessed
    body = request_for(order(OrderLine(sku="MUG-WHT-11OZ", quantity=Decimal("1"), unit_price=Decimal("8"))))
    assert body["ShippingTotalExVat"] == 3.29
    assert "ShippingTotalVat" not in body


@given(
    st.decimals(
        min_value=Decimal("-1000000000"),
        max_value=Decimal("1000000000"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_money_json_text_is_the_decimal_itself(amount: Decimal) -> None:
    # Given any 2-dp amount up to a billion / When written as JSON / Then the text reads back as that Decimal
    text = json.dumps(json_number(amount))
    assert Decimal(text) == amount


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0.1") + Decimal("0.2"), "0.3"),
        (Decimal("33.95"), "33.95"),
        (Decimal("1.005"), "1.01"),
        (Decimal("2.675"), "2.68"),
        (Decimal("1.10") * 3, "3.3"),
    ],
)
def test_money_is_rounded_half_up_to_pennies(amount: Decimal, text: str) -> None:
    # Given amounts floats get wrong / When written as JSON / Then the text is the penny amount, rounded half up
    assert json.dumps(json_number(amount)) == text


def test_status_table_covers_every_mintsoft_status() -> None:
    # Given Mintsoft's status ids 1-23 / When mapped / Then each has a neutral status
    assert sorted(STATUS_BY_ID) == list(range(1, 24))
    assert WarehouseStatus.UNKNOWN not in STATUS_BY_ID.values()


@pytest.mark.parametrize(
    ("status_id", "expected"),
    [
        (1, "new"),
        (22, "new"),
        (15, "awaiting_picking"),
        (16, "picking"),
        (19, "picking"),
        (17, "picked"),
        (23, "picked"),
        (14, "packed"),
        (20, "packed"),
        (4, "despatched"),
        (5, "despatched"),
        (6, "despatched"),
        (3, "cancelled"),
        (7, "on_hold"),
        (18, "on_hold"),
        (9, "backorder"),
        (21, "backorder"),
        (99, "unknown"),
        (None, "unknown"),
    ],
)
def test_neutral_status(status_id: int | None, expected: str) -> None:
    # Given a Mintsoft status id / When mapped / Then the neutral status of card section 3.3
    assert neutral_status(status_id) == expected


@pytest.mark.parametrize(
    ("message", "duplicate", "unknown_sku"),
    [
        ("Order with OrderNumber 'BRANDA-1' already exists", True, False),
        ("Duplicate Order Number", True, False),
        ("Product with SKU 'X-1' not found", False, True),
        ("SKU ABC does not exist", False, True),
        ("Invalid SKU: 'X-1'", False, True),
        ("Courier Service not valid", False, False),
        ("Product 'X-1' has an invalid weight", False, False),
        ("Product already exists", False, False),
    ],
)
def test_refusal_messages_are_recognised(message: str, duplicate: bool, unknown_sku: bool) -> None:
    # Given a Success:false message / When classified / Then duplicates and unknown SKUs are told apart
    assert (is_duplicate_message(message), is_unknown_sku_message(message)) == (duplicate, unknown_sku)
