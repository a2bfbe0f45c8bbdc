"""A commercetools order's money reaches Scend at the currency's own minor unit: a 3-decimal currency (KWD)
is carried at 3 decimals from `fractionDigits`, never rounded to pennies, and an amount finer than the
order's stated minor unit is refused rather than rounded."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from shared.connectors.commercetools.mapping import CtOrder, parse, to_order
from shared.connectors.commercetools.settings import CommercetoolsSettings
from shared.connectors.scend.mapping import to_order_request
from shared.errors import PermanentError
from shared.models import ReasonCode

SETTINGS = CommercetoolsSettings(project_key="gulf", credentials_secret="ct/gulf", supply_channels={"3": "ch-3"})


def kwd(fils: int) -> dict[str, Any]:
    return {"type": "centPrecision", "currencyCode": "KWD", "centAmount": fils, "fractionDigits": 3}


def kwd_order() -> dict[str, Any]:
    """Two mugs at 12.345 KWD ex tax (1.235 tax each), 1.505 KWD delivery with 0.075 tax."""
    line = {
        "id": "li-1",
        "productId": "p-1",
        "name": {"en": "Mug"},
        "variant": {"id": 1, "sku": "MUG-WHT"},
        "price": {"id": "pr-1", "value": kwd(12345)},
        "quantity": 2,
        "totalPrice": kwd(24690),
        "taxedPrice": {"totalNet": kwd(24690), "totalGross": kwd(27160), "totalTax": kwd(2470)},
        "state": [],
    }
    shipping = {"totalNet": kwd(1505), "totalGross": kwd(1580), "totalTax": kwd(75)}
    return {
        "id": "o-kw-1",
        "version": 3,
        "orderNumber": "KW-1001",
        "createdAt": "2026-03-01T10:00:00.000Z",
        "lastModifiedAt": "2026-03-01T10:00:00.000Z",
        "orderState": "Open",
        "paymentState": "Paid",
        "totalPrice": kwd(28740),
        "taxedPrice": {"totalNet": kwd(26195), "totalGross": kwd(28740), "totalTax": kwd(2545)},
        "taxedShippingPrice": shipping,
        "shippingInfo": {"shippingMethodName": "Tracked 48", "price": kwd(1505), "taxedPrice": shipping},
        "lineItems": [line],
        "customLineItems": [],
        "shippingAddress": {
            "firstName": "Noor",
            "lastName": "Saleh",
            "streetName": "Gulf Road",
            "streetNumber": "12",
            "postalCode": "13001",
            "city": "Kuwait City",
            "country": "KW",
        },
    }


def scend_body(payload: dict[str, Any]) -> dict[str, Any]:
    order = to_order(parse(CtOrder, payload, "order"), SETTINGS)
    body = to_order_request(order, "EXC-KW-1001", "RM-TRACKED-48", client_id=1, warehouse_id=3, channel="API")
    wire: dict[str, Any] = json.loads(json.dumps(body))  # as the client sends it
    return wire


def test_a_three_decimal_order_reaches_scend_in_fils_not_rounded_to_pennies() -> None:
    # Given a paid KWD order (fractionDigits 3) / When mapped for Scend and written as JSON
    body = scend_body(kwd_order())
    # Then every amount keeps its third decimal, exactly as the order states it
    assert body["Currency"] == "KWD"
    assert Decimal(str(body["OrderValue"])) == Decimal("28.740")
    assert Decimal(str(body["TotalVat"])) == Decimal("2.545")
    assert Decimal(str(body["ShippingTotalExVat"])) == Decimal("1.505")
    assert Decimal(str(body["ShippingTotalVat"])) == Decimal("0.075")
    [item] = body["OrderItems"]
    assert (Decimal(str(item["UnitPrice"])), Decimal(str(item["UnitPriceVat"]))) == (
        Decimal("12.345"),
        Decimal("1.235"),
    )


def test_the_minor_unit_travels_with_the_canonical_order() -> None:
    order = to_order(parse(CtOrder, kwd_order(), "order"), SETTINGS)
    assert order.minor_unit == 3


def test_an_order_amount_finer_than_its_minor_unit_is_refused_not_rounded() -> None:
    # Given an order whose shipping is stated at 4 decimals while the order's money has 3
    payload = kwd_order()
    precise = {"type": "highPrecision", "currencyCode": "KWD", "centAmount": 1505, "fractionDigits": 4}
    payload["taxedShippingPrice"] = {
        "totalNet": {**precise, "preciseAmount": 15051},
        "totalGross": {**precise, "preciseAmount": 15801},
        "totalTax": kwd(75),
    }
    # When mapped for Scend / Then it is refused with the amount named, for quarantine
    with pytest.raises(PermanentError) as refused:
        scend_body(payload)
    assert refused.value.reason == ReasonCode.PAYLOAD_INVALID
    assert "1.5051 KWD" in refused.value.detail and "3 decimals" in refused.value.detail
