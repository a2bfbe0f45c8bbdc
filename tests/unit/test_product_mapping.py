"""Product mapping: Cin7 product rows -> canonical Product (kg, cm), canonical -> Scend product bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.connectors.cin7_core.mapping import parse_product_page, to_product
from shared.connectors.scend.mapping import (
    PRODUCT_FIELD_NAMES,
    ProductRow,
    is_product_exists_message,
    product_fields,
    product_refusal_reason,
    product_request,
)
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.product import PRODUCT_FIELDS, Product

EVENTS = Path(__file__).resolve().parent.parent / "events"
WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def page() -> dict[str, Any]:
    return json.loads((EVENTS / "cin7_product_page.json").read_text())


def product(**changes: object) -> Product:
    base: dict[str, object] = {
        "source": "cin7_core",
        "source_id": "p1",
        "sku": "HOODIE-BLK-M",
        "name": "Hoodie",
        "barcode": "5012345678900",
        "weight_kg": Decimal("0.650"),
        "length_cm": Decimal("30.0"),
        "commodity_code": "6110209100",
        "updated_at": WHEN,
    }
    base.update(changes)
    return Product.model_validate(base)


def test_cin7_product_row_maps_to_canonical_units_and_fields() -> None:
    # Given the first row of a realistic GET product page (grams and millimetres, upper-case GUID)
    total, rows = parse_product_page(page())
    # When it is mapped
    mapped = to_product(rows[0])
    # Then units are kg and cm, the GUID is lower case, and customs fields come through
    assert total == 3
    assert mapped.source == "cin7_core"
    assert mapped.source_id == "8e2b4f1a-3c5d-4e6f-9a0b-1c2d3e4f5a6b"
    assert mapped.sku == "HOODIE-BLK-M"
    assert mapped.barcode == "5012345678900"
    assert mapped.weight_kg == Decimal("0.65")
    assert (mapped.length_cm, mapped.width_cm, mapped.height_cm) == (Decimal(30), Decimal(25), Decimal(4))
    assert (mapped.commodity_code, mapped.country_of_origin) == ("6110209100", "PT")
    assert mapped.customs_description == "Cotton hoodie"
    assert mapped.active is True
    assert mapped.updated_at == datetime(2026, 11, 23, 9, 15, 30, 123000, tzinfo=UTC)


def test_deprecated_product_is_inactive_and_zero_measures_are_unset() -> None:
    # Given a deprecated row whose weight and sizes are 0 (Cin7's "not filled in")
    _, rows = parse_product_page(page())
    # When it is mapped
    mapped = to_product(rows[1])
    # Then it is inactive and carries no weight or sizes rather than zeros
    assert mapped.active is False
    assert (mapped.weight_kg, mapped.length_cm, mapped.width_cm, mapped.height_cm) == (None, None, None, None)
    assert mapped.updated_at == datetime(2026, 11, 23, 9, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"SKU": ""}, "SKU"),
        ({"ID": None}, "ID"),
        ({"LastModifiedOn": None}, "date"),
        ({"WeightUnits": "stone", "Weight": 2}, "weight unit"),
        ({"DimensionsUnits": "furlong", "Length": 1}, "dimension unit"),
        ({"Weight": "heavy"}, "number"),
    ],
)
def test_malformed_product_row_is_payload_invalid(changes: dict[str, Any], field: str) -> None:
    # Given an otherwise good row with one broken field
    row = {**page()["Products"][0], **changes}
    # When it is mapped, Then it is refused as PAYLOAD_INVALID naming the problem
    with pytest.raises(PermanentError) as error:
        to_product(row)
    assert error.value.reason == ReasonCode.PAYLOAD_INVALID
    assert field.lower() in error.value.detail.lower()


@pytest.mark.parametrize("body", [[], {"Products": "x", "Total": 1}, {"Products": [], "Total": "many"}])
def test_unreadable_product_page_is_payload_invalid(body: Any) -> None:
    with pytest.raises(PermanentError) as error:
        parse_product_page(body)
    assert error.value.reason == ReasonCode.PAYLOAD_INVALID


def test_field_table_covers_every_canonical_field_with_the_scend_names() -> None:
    # The table is INFERRED from the Mintsoft product model; this pins it so a change is deliberate
    assert set(PRODUCT_FIELD_NAMES) == set(PRODUCT_FIELDS)
    assert PRODUCT_FIELD_NAMES == {
        "name": "Name",
        "barcode": "EAN",
        "weight_kg": "Weight",
        "length_cm": "Depth",
        "width_cm": "Width",
        "height_cm": "Height",
        "commodity_code": "CommodityCode",
        "country_of_origin": "CountryOfManufacture",
        "customs_description": "CustomsDescription",
    }


def test_request_carries_only_the_listed_fields() -> None:
    # Given a product with name, barcode, weight, length and a commodity code
    # When a body is built for the name and weight only
    body = product_request(product(), ("name", "weight_kg"), client_id=7)
    # Then only those fields (plus SKU and ClientId) are sent; weight as a JSON number
    assert body == {"SKU": "HOODIE-BLK-M", "ClientId": 7, "Name": "Hoodie", "Weight": 0.65}


def test_request_for_every_field_skips_empty_values_and_keeps_the_sku_as_spelled() -> None:
    body = product_request(product(sku="Hoodie-blk-m"), PRODUCT_FIELDS, client_id=0)
    assert body["SKU"] == "Hoodie-blk-m"
    assert body["EAN"] == "5012345678900"
    assert body["Depth"] == 30.0
    assert "Width" not in body  # None is not sent
    assert "CountryOfManufacture" not in body  # "" is not sent


def test_product_fields_reads_a_search_row_as_strings() -> None:
    row = ProductRow.model_validate(
        {"ID": 801, "SKU": "HOODIE-BLK-M", "Name": "Hoodie", "EAN": "5012345678900", "Weight": 0.65, "Depth": 30}
    )
    held = product_fields(row)
    assert held["name"] == "Hoodie"
    assert held["weight_kg"] == "0.65"
    assert Decimal(held["length_cm"]) == 30  # a number as held; the flow compares normalised values
    assert held["width_cm"] == ""
    assert set(held) == set(PRODUCT_FIELDS)


@pytest.mark.parametrize(
    ("message", "sku", "reason"),
    [
        ("Invalid SKU 'BAD SKU': 1-50 characters, no spaces or control characters", "BAD SKU", ReasonCode.SKU_INVALID),
        ("SKU is too long", "X" * 60, ReasonCode.SKU_INVALID),
        ("Invalid EAN '12AB' for product 'SKU-1'", "SKU-1", ReasonCode.WAREHOUSE_REJECTED),
        ("Product 'MY-SKU-2': Name is required", "MY-SKU-2", ReasonCode.WAREHOUSE_REJECTED),
        ("Something went wrong", "A", ReasonCode.WAREHOUSE_REJECTED),
    ],
)
def test_refusal_reason_looks_at_the_message_not_the_sku_text(message: str, sku: str, reason: ReasonCode) -> None:
    assert product_refusal_reason(message, sku) == reason


def test_already_exists_is_recognised() -> None:
    assert is_product_exists_message("Product with SKU 'X' already exists")
    assert not is_product_exists_message("Invalid SKU 'X Y'")


def test_cin7_tier_prices_come_through_by_tier_and_an_unfilled_tier_has_none() -> None:
    _, rows = parse_product_page(page())
    row = {**rows[0], "PriceTier1": 45.0, "PriceTier2": "52.9500", "PriceTier3": 0, "PriceTier4": None}
    assert to_product(row).prices == {"Tier 1": Decimal("45.0"), "Tier 2": Decimal("52.9500")}
    assert to_product(rows[0]).prices == {}
