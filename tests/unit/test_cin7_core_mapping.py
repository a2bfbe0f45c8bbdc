"""Cin7 Core sale -> canonical Order: exact money, country names, mixed date formats, malformed sales."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.connectors.cin7_core.mapping import (
    country_code,
    format_cin7_datetime,
    parse_cin7_datetime,
    parse_sale_list,
    to_change,
    to_decimal,
    to_order,
)
from shared.errors import PermanentError
from shared.models import Address, Order, OrderLine, ReasonCode

EVENTS = Path(__file__).resolve().parent.parent / "events"
SALE_ID = "3f6b2a9c-5d14-4e8b-9a27-c1e0f4d8b317"


def sale(**changes: Any) -> dict[str, Any]:
    data = json.loads((EVENTS / "cin7_sale.json").read_text())
    data.update(changes)
    return data


def with_order(**changes: Any) -> dict[str, Any]:
    data = sale()
    data["Order"] = {**data["Order"], **changes}
    return data


def test_the_example_sale_maps_to_the_canonical_order() -> None:
    # Given the realistic sale from tests/events
    # When it is mapped
    order = to_order(sale())
    # Then every field we read lands where the canonical model expects it
    assert order == Order(
        source="cin7_core",
        source_id=SALE_ID,
        order_number="SO-00417",
        customer_reference="SHOP-100417",
        status="ORDERED",
        authorised=True,
        location="Scend UK",
        delivery_service="Royal Mail Tracked 48",
        currency="GBP",
        lines=(
            OrderLine(
                sku="TSHIRT-BLK-M",
                name="T-shirt black M",
                quantity=Decimal(2),
                unit_price=Decimal("15.00"),
                tax=Decimal("5.00"),
                discount_percent=Decimal(0),
                total=Decimal("30.00"),
            ),
            OrderLine(
                sku="HOODIE-GRY-L",
                name="Hoodie grey L",
                quantity=Decimal(1),
                unit_price=Decimal("40.00"),
                tax=Decimal("6.00"),
                discount_percent=Decimal(10),
                total=Decimal("36.00"),
            ),
        ),
        shipping_address=Address(
            name="Jo Smith",
            line1="Flat 2",
            line2="14 Park Row",
            city="Leeds",
            region="West Yorkshire",
            postcode="LS1 5HD",
            country="GB",
            email="jo.smith@example.com",
            phone="+44 7700 900123",
        ),
        shipping_total=Decimal("3.95"),
        tax_total=Decimal("11.66"),
        total=Decimal("69.95"),
        updated_at=datetime(2026, 11, 23, 8, 14, 5, 370000, tzinfo=UTC),
    )


def test_money_is_exact_decimal_not_float() -> None:
    # Given prices that are not exact in binary floating point
    data = with_order(
        Lines=[{"SKU": "A", "Quantity": 3, "Price": 0.1, "Tax": 0.05, "Total": 0.3}],
        AdditionalCharges=[
            {"Description": "Shipping", "Price": 0.1, "Total": 0.1},
            {"Description": "Gift wrap", "Price": 0.2, "Total": 0.2},
        ],
        Tax=0.05,
        Total=0.6,
    )
    # When mapped
    order = to_order(data)
    # Then the amounts are the decimals Cin7 wrote, and sums are exact
    line = order.lines[0]
    assert (line.unit_price, line.tax, line.total) == (Decimal("0.1"), Decimal("0.05"), Decimal("0.3"))
    assert order.shipping_total == Decimal("0.3")
    assert str(order.total) == "0.6"


def test_numbers_sent_as_strings_are_accepted() -> None:
    # Given Cin7 sending numeric strings (it does so in some POST examples)
    data = with_order(
        Lines=[{"SKU": "A", "Quantity": "2.0000", "Price": "12.5000", "Tax": "4.1700", "Total": "25.0000"}]
    )
    # When mapped / Then they are exact decimals
    assert to_order(data).lines[0].quantity == Decimal(2)


def test_missing_line_and_charge_totals_are_computed_with_the_discount() -> None:
    # Given a line and a charge without Total
    data = with_order(
        Lines=[{"SKU": "A", "Quantity": 3, "Price": 10, "Discount": 15}],
        AdditionalCharges=[{"Description": "Shipping", "Price": 4.5, "Quantity": 2}],
    )
    # When mapped
    order = to_order(data)
    # Then totals are price x quantity less the discount
    assert order.lines[0].total == Decimal("25.5")
    assert order.shipping_total == Decimal(9)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("Great Britain", "GB"),
        ("england", "GB"),
        ("Northern Ireland", "GB"),
        ("GB", "GB"),
        ("gb", "GB"),
        ("Ireland", "IE"),
        ("Republic of Ireland", "IE"),
        ("  Ireland ", "IE"),
        ("IE", "IE"),
        ("United States", "US"),
        ("USA", "US"),
        ("United States of America", "US"),
        ("Australia", "AU"),
        ("New Zealand", "NZ"),
        ("Germany", "DE"),
        ("France", "FR"),
        ("The Netherlands", "NL"),
        ("Spain", "ES"),
        ("Italy", "IT"),
        ("Canada", "CA"),
        ("Jersey", "JE"),
        ("Atlantis", "Atlantis"),
        ("", ""),
    ],
)
def test_country_names_become_iso_codes(given: str, expected: str) -> None:
    # Given a country as Cin7 might send it / When mapped / Then ISO-2, or the name kept as given
    assert country_code(given) == expected


def test_an_unknown_country_name_is_kept_for_validation_to_refuse() -> None:
    # Given a shipping address in a country we do not know
    data = sale(ShippingAddress={**sale()["ShippingAddress"], "Country": "Narnia"})
    # When mapped / Then the name travels on unchanged
    assert to_order(data).shipping_address.country == "Narnia"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-23T08:14:05.37Z", datetime(2026, 11, 23, 8, 14, 5, 370000, tzinfo=UTC)),
        ("2026-11-23T08:14:05.370", datetime(2026, 11, 23, 8, 14, 5, 370000, tzinfo=UTC)),
        ("2026-11-23T08:14:05", datetime(2026, 11, 23, 8, 14, 5, tzinfo=UTC)),
        ("2017-11-22T06:58:21.8882229Z", datetime(2017, 11, 22, 6, 58, 21, 888222, tzinfo=UTC)),
        ("2026-11-23T10:14:05+02:00", datetime(2026, 11, 23, 8, 14, 5, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_dates_with_and_without_zone_are_utc(given: str | None, expected: datetime | None) -> None:
    # Given a Cin7 date in any of the forms its responses mix / When parsed / Then the UTC instant
    assert parse_cin7_datetime(given) == expected


def test_a_zone_less_last_modified_maps_to_utc() -> None:
    # Given LastModifiedOn without 'Z'
    # When mapped / Then it is read as UTC
    assert to_order(sale(LastModifiedOn="2026-11-23T08:14:05.370")).updated_at == datetime(
        2026, 11, 23, 8, 14, 5, 370000, tzinfo=UTC
    )


def test_filter_dates_are_formatted_in_utc_to_the_second() -> None:
    # Given an aware and a naive datetime / When formatted for UpdatedSince / Then UTC, no fraction
    assert format_cin7_datetime(datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2026-01-02T08:04:05"
    )
    assert format_cin7_datetime(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05"


def test_missing_optional_fields_take_defaults() -> None:
    # Given a minimal sale: no address, no charges, no contact details, nulls where Cin7 sends nulls
    data = {
        "ID": SALE_ID,
        "Status": "ORDERED",
        "CustomerCurrency": "EUR",
        "Email": None,
        "Carrier": None,
        "Order": {
            "SaleOrderNumber": "SO-1",
            "Status": "AUTHORISED",
            "AdditionalCharges": None,
            "Lines": [{"SKU": "A", "Quantity": 1, "Price": 5, "Tax": None, "Total": 5}],
            "Total": 5,
        },
    }
    # When mapped
    order = to_order(data)
    # Then the blanks are blank and the amounts zero, not errors
    assert order.shipping_address == Address()
    assert (order.delivery_service, order.location, order.customer_reference) == ("", "", "")
    assert (order.shipping_total, order.tax_total, order.lines[0].tax) == (Decimal(0), Decimal(0), Decimal(0))
    assert order.currency == "EUR"
    assert order.updated_at is None


def test_a_sale_without_an_order_stage_is_not_authorised() -> None:
    # Given a quote-only sale
    data = sale(Order=None, Status="ESTIMATED")
    # When mapped / Then it has no lines and is not authorised
    order = to_order(data)
    assert (order.authorised, order.lines, order.order_number) == (False, (), "")


@pytest.mark.parametrize("order_status", ["DRAFT", "NOT AVAILABLE", "AUTH_NO_ALLOC", "VOIDED"])
def test_only_an_authorised_order_stage_is_authorised(order_status: str) -> None:
    # Given an order stage in another status / When mapped / Then not authorised
    assert to_order(with_order(Status=order_status)).authorised is False


def test_the_sale_id_is_kept_in_the_api_s_lower_case() -> None:
    # Given a sale id in upper case (as webhooks send it)
    # When mapped / Then the id matches what webhooks and saleList rows map to
    assert to_order(sale(ID=SALE_ID.upper())).source_id == SALE_ID


def test_currency_falls_back_to_base_currency() -> None:
    # Given no customer currency / When mapped / Then the base currency is used
    assert to_order(sale(CustomerCurrency=None, BaseCurrency="gbp")).currency == "GBP"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({k: v for k, v in sale().items() if k != "ID"}, "field 'ID': required field is missing"),
        (sale(ID="   "), "field 'ID'"),
        (sale(Status=None), "field 'Status'"),
        (with_order(Lines={"SKU": "A"}), "field 'Order.Lines'"),
        (with_order(Lines="TSHIRT"), "field 'Order.Lines'"),
        (with_order(Lines=[{"SKU": "A", "Quantity": "two"}]), "field 'Order.Lines.0.Quantity'"),
        (with_order(Lines=[{"SKU": "A"}]), "field 'Order.Lines.0.Quantity': required field is missing"),
        (with_order(Lines=[{"SKU": "A", "Quantity": 1, "Price": True}]), "field 'Order.Lines.0.Price'"),
        (with_order(Lines=[{"SKU": "A", "Quantity": 1, "Price": "NaN"}]), "field 'Order.Lines.0.Price'"),
        (with_order(Total=[69.95]), "field 'Order.Total'"),
        (sale(ShippingAddress="1 High St"), "field 'ShippingAddress'"),
        (sale(LastModifiedOn="yesterday"), "field 'LastModifiedOn'"),
        (sale(CustomerCurrency="", BaseCurrency=""), "CustomerCurrency"),
        ([sale()], "expected a JSON object, got an array"),
        (None, "expected a JSON object, got null"),
    ],
)
def test_a_malformed_sale_is_payload_invalid_naming_the_field(data: Any, fragment: str) -> None:
    # Given a sale that does not fit the wire model
    # When mapped
    with pytest.raises(PermanentError) as caught:
        to_order(data)
    # Then it is PAYLOAD_INVALID with a message naming the field, not a pydantic traceback
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID
    assert fragment in caught.value.detail
    assert "pydantic" not in caught.value.detail


def test_sale_list_rows_map_to_changes() -> None:
    # Given a saleList page in the blueprint's shape
    body = {
        "Total": 1,
        "Page": 1,
        "SaleList": [
            {
                "SaleID": SALE_ID.upper(),
                "OrderNumber": "SO-00092",
                "Status": "BACKORDERED",
                "OrderDate": "2017-09-29T00:00:00",
                "Customer": "Rock Star Transport",
                "Updated": "2017-09-29T03:03:13.913Z",
                "OrderStatus": "AUTHORISED",
            }
        ],
    }
    # When parsed
    total, changes = parse_sale_list(body)
    # Then each row is an OrderChange with the API's id form and a UTC stamp
    assert total == 1
    assert changes[0].model_dump() == {
        "source_id": SALE_ID,
        "order_number": "SO-00092",
        "status": "BACKORDERED",
        "updated_at": datetime(2017, 9, 29, 3, 3, 13, 913000, tzinfo=UTC),
    }


def test_a_sale_list_row_without_updated_is_payload_invalid() -> None:
    # Given a row with no Updated stamp / When mapped / Then PAYLOAD_INVALID naming the field
    with pytest.raises(PermanentError, match="Updated") as caught:
        to_change({"SaleID": SALE_ID, "Updated": None})
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID


@pytest.mark.parametrize(("given", "expected"), [(15.95, "15.95"), (3, "3"), ("0.6600", "0.6600"), (1e-4, "0.0001")])
def test_to_decimal_goes_through_str(given: Any, expected: str) -> None:
    # Given a JSON number as json.loads produced it / When converted / Then the digits Cin7 sent
    assert to_decimal(given) == Decimal(expected)


def without_totals(**changes: Any) -> dict[str, Any]:
    data = sale(**changes)
    data["Order"] = {k: v for k, v in data["Order"].items() if k not in ("TotalBeforeTax", "Tax", "Total")}
    return data


def test_a_sale_without_order_totals_takes_its_value_from_the_lines_and_charges() -> None:
    # Given the example sale (tax-inclusive) with Order.Total, Tax and TotalBeforeTax left out, as the card
    # lists only the lines' and charges' amounts
    order = to_order(without_totals())
    # Then total and tax are the lines' and the shipping charge's, never zero
    assert (order.total, order.tax_total) == (Decimal("69.95"), Decimal("11.66"))
    # And a tax-exclusive sale adds the tax to the lines' totals
    exclusive = to_order(without_totals(TaxCalculation="Exclusive"))
    assert (exclusive.total, exclusive.tax_total) == (Decimal("81.61"), Decimal("11.66"))
    # And a sale that sends only TotalBeforeTax adds the tax to it
    data = without_totals()
    data["Order"]["TotalBeforeTax"] = 58.29
    assert to_order(data).total == Decimal("69.95")


def test_an_order_value_that_cannot_be_known_is_refused_not_zero() -> None:
    # Given a sale with no totals and nothing saying whether its lines include tax
    data = without_totals()
    del data["TaxCalculation"]
    # When it is mapped / Then it is refused by name, not sent on with a zero value
    with pytest.raises(PermanentError) as caught:
        to_order(data)
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID
    assert "Order.Total is missing" in caught.value.detail
    # And a sale that states its totals keeps them exactly, zero included (a free order)
    free = with_order(TotalBeforeTax=0, Tax=0, Total=0)
    assert (to_order(free).total, to_order(free).tax_total) == (Decimal(0), Decimal(0))
