"""SFCC order to canonical Order, wire bodies, and the settings' derived values (shared/connectors/sfcc/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from shared.connectors.sfcc.mapping import (
    format_sfcc_datetime,
    inventory_record,
    json_number,
    last_modified,
    loads,
    parse_orders_page,
    to_order,
    tracking_patch,
)
from shared.connectors.sfcc.settings import SfccSettings
from shared.errors import PermanentError
from shared.flows.totals import PostingRules, plan_posting
from shared.models import ReasonCode

SPEC = Path(__file__).resolve().parents[1] / "contracts" / "sfcc" / "orders-oas-v1-public.yaml"
SETTINGS = {
    "credentials_secret": "hopline/sfcc/credentials",
    "short_code": "kv7kzm78",
    "organization_id": "f_ecom_zzxy_prd",
    "site_id": "RefArch",
    "instance_host": "zzxy-prd.dx.commercecloud.salesforce.com",
    "inventory_list_id": "inventory_m",
}


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    """The spec's OrdersGet example order, read from its JSON text as the connector reads a response."""
    value = yaml.safe_load(SPEC.read_text())["components"]["examples"]["OrdersGet"]["value"]["data"][0]
    parsed: dict[str, Any] = loads(json.dumps(value).encode())
    return parsed


def test_the_spec_example_maps_with_exact_money_in_its_own_currency(official: dict[str, Any]) -> None:
    order = to_order(official)
    assert (order.source, order.source_id, order.currency, order.tax_inclusive) == ("sfcc", "00000410", "USD", False)
    assert (order.total, order.tax_total, order.shipping_total, order.shipping_tax) == (
        Decimal("110.24"),
        Decimal("5.25"),
        Decimal("5.99"),
        Decimal("0.3"),
    )
    line = order.lines[0]
    assert (line.sku, line.quantity, line.total, line.tax, line.tax_rate, line.order_discount) == (
        "701643632930",
        Decimal(1),
        Decimal(99),
        Decimal("4.95"),
        Decimal("0.05"),
        Decimal(0),
    )
    assert order.shipping_address.name == "Max Mustermann" and order.shipping_address.country == "US"
    assert order.delivery_service == "DefaultShippingMethod" and order.authorised
    assert order.updated_at == datetime(2020, 11, 4, 14, 13, 31, 61000, tzinfo=UTC)
    # And it posts to the minor unit without a rounding line
    plan = plan_posting(order, PostingRules(rounding_product="Rounding")).plan
    assert plan is not None and plan.rounding is None


def test_money_is_read_from_the_json_text_not_through_float() -> None:
    assert loads(b'{"orderTotal": 0.30000000000000004, "n": 2}') == {
        "orderTotal": Decimal("0.30000000000000004"),
        "n": 2,
    }


def test_the_currency_is_the_orders_own_and_must_be_a_code(official: dict[str, Any]) -> None:
    assert to_order({**official, "currency": "jpy"}).currency == "JPY"
    for currency in ("N/A", "", "POUND"):
        with pytest.raises(PermanentError) as refused:
            to_order({**official, "currency": currency})
        assert refused.value.reason is ReasonCode.PAYLOAD_INVALID


def test_gross_taxation_and_sfcc_prorated_order_discounts(official: dict[str, Any]) -> None:
    item = {
        **official["productItems"][0],
        "quantity": 2,
        "priceAfterItemDiscount": Decimal("100.00"),
        "priceAfterOrderDiscount": Decimal("90.00"),
        "adjustedTax": Decimal("15.00"),
        "tax": Decimal("16.67"),
    }
    raw = {
        **official,
        "taxation": "gross",
        "productItems": [item],
        "orderPriceAdjustments": [
            {"promotionId": "ten-off", "grossPrice": Decimal("-10.00"), "netPrice": Decimal("-8.33")}
        ],
    }
    order = to_order(raw)
    line = order.lines[0]
    # The line carries SFCC's proration (after-item minus after-order) and its adjusted tax, not the pre-discount tax
    assert order.tax_inclusive and (line.total, line.order_discount, line.tax) == (
        Decimal("90.00"),
        Decimal("10.00"),
        Decimal("15.00"),
    )
    assert order.order_discount == Decimal("10.00")
    # Net taxation reads the adjustment's net price
    assert to_order({**raw, "taxation": "net"}).order_discount == Decimal("8.33")


def test_a_line_without_its_order_discount_price_falls_back_to_after_item(official: dict[str, Any]) -> None:
    item = {key: value for key, value in official["productItems"][0].items() if key != "priceAfterOrderDiscount"}
    line = to_order({**official, "productItems": [item]}).lines[0]
    assert (line.total, line.order_discount) == (Decimal(99), Decimal(0))
    bare = {key: value for key, value in item.items() if not key.startswith("priceAfter")}
    with pytest.raises(PermanentError, match="no price after discounts"):
        to_order({**official, "productItems": [bare]})


@pytest.mark.parametrize("missing", ["orderTotal", "taxTotal", "shippingTotal", "taxation"])
def test_an_order_without_an_authoritative_total_is_a_payload_error(official: dict[str, Any], missing: str) -> None:
    with pytest.raises(PermanentError) as refused:
        to_order({key: value for key, value in official.items() if key != missing})
    assert refused.value.reason is ReasonCode.PAYLOAD_INVALID and missing in refused.value.detail


def test_listing_rows_are_checked_for_what_the_windows_need() -> None:
    assert parse_orders_page({"data": []}) == []
    with pytest.raises(PermanentError):
        parse_orders_page({"orders": []})
    assert last_modified({"orderNo": "1", "lastModified": "2026-11-23T08:00:00.250Z"}) == datetime(
        2026, 11, 23, 8, 0, 0, 250000, tzinfo=UTC
    )
    for row in ({"orderNo": "1"}, {"lastModified": "2026-11-23T08:00:00.000Z"}, {"orderNo": "1", "lastModified": "x"}):
        with pytest.raises(PermanentError):
            last_modified(row)


def test_wire_bodies() -> None:
    assert format_sfcc_datetime(datetime(2026, 11, 23, 8, 0, 5, 123456, tzinfo=UTC)) == "2026-11-23T08:00:05.123Z"
    assert inventory_record(12, datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) == {
        "allocation": {"amount": 12, "reset_date": "2026-11-23T08:00:00.000Z"}
    }
    assert tracking_patch(("c_trackingNumbers", "c_carrier"), [" A1 ", "B2", "A1", ""], "DPD") == {
        "c_trackingNumbers": "A1,B2",
        "c_carrier": "DPD",
    }
    assert tracking_patch(("c_t", "c_c"), ["A1"], " ") == {"c_t": "A1"}
    assert (json_number(Decimal("19.99")), json_number(Decimal("20.00"))) == (19.99, 20)


def test_settings_derive_hosts_scope_and_price_books() -> None:
    settings = SfccSettings.model_validate(
        {
            **SETTINGS,
            "price_books": [
                {"tier": "retail", "currency": "GBP", "price_book_id": "gbp-list"},
                {"tier": "retail", "currency": "EUR", "price_book_id": "eur-list"},
            ],
        }
    )
    assert settings.scope == "SALESFORCE_COMMERCE_API:zzxy_prd sfcc.orders.rw"
    assert settings.orders_url == (
        "https://kv7kzm78.api.commercecloud.salesforce.com/checkout/orders/v1/organizations/f_ecom_zzxy_prd/orders"
    )
    assert settings.data_url == "https://zzxy-prd.dx.commercecloud.salesforce.com/s/-/dw/data/v23_2/"
    assert settings.price_book_id("retail", "EUR") == "eur-list" and settings.price_book_id("trade", "EUR") is None
    release = settings.release
    assert (release.status, release.export_status, release.confirmation_status, release.payment_status) == (
        ("new",),
        ("ready",),
        "confirmed",
        None,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"organization_id": "zzxy_prd"},
        {"short_code": "TOO-LONG-CODE"},
        {"page_size": 201},
        {"release": {"status": ["new", "completed", "cancelled"]}},
        {"release": {"status": ["created"]}},
        {"tracking": {"carrier": "carrier"}},
        {
            "price_books": [
                {"tier": "r", "currency": "GBP", "price_book_id": "a"},
                {"tier": "r", "currency": "GBP", "price_book_id": "b"},
            ]
        },
        {"products": {"attributes": {"name": "title"}}},  # neither a system nor a custom attribute
        {"products": {"attributes": {"colour": "c_colour"}}},  # not a product field
    ],
)
def test_settings_refuse_what_sfcc_would(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SfccSettings.model_validate({**SETTINGS, **overrides})
