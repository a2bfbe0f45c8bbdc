"""The release decision: readiness, location, and every data check, each with its reason code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.config import ClientConfig
from shared.flows.release import (
    Outcome,
    SkuStatus,
    client_reference,
    decide_release,
    sku_format_problem,
)
from shared.models import Address, Order, OrderLine, ReasonCode

GOOD_ADDRESS = Address(name="Jo Smith", line1="1 High Street", city="Leeds", postcode="LS1 1AA", country="GB")


def make_order(**changes: object) -> Order:
    base: dict[str, object] = {
        "source": "cin7_core",
        "source_id": "abc",
        "order_number": "SO-1",
        "status": "ORDERED",
        "authorised": True,
        "location": "Scend UK",
        "delivery_service": "Royal Mail Tracked 48",
        "lines": (OrderLine(sku="TEE-BLK-M", quantity=Decimal(2)),),
        "shipping_address": GOOD_ADDRESS,
    }
    base.update(changes)
    return Order.model_validate(base)


LIVE = {"TEE-BLK-M": SkuStatus.LIVE}


def test_valid_authorised_order_is_released_with_mapped_courier(example_config: ClientConfig) -> None:
    # Given an authorised, allocated order with good data
    # When deciding
    decision = decide_release(make_order(), example_config.orders, LIVE)
    # Then it is released with the warehouse's courier code
    assert decision.outcome == Outcome.RELEASE
    assert decision.courier_service == "RM-TRACKED-48"


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"status": "BACKORDERED"}, Outcome.HOLD),
        ({"authorised": False, "status": "ORDERING"}, Outcome.NOT_READY),
        ({"status": "DRAFT", "authorised": False}, Outcome.NOT_READY),
        ({"status": "INVOICED"}, Outcome.NOT_READY),
        ({"location": "Retail Store"}, Outcome.SKIP),
    ],
)
def test_readiness_and_location_rules(
    example_config: ClientConfig, changes: dict[str, object], outcome: Outcome
) -> None:
    decision = decide_release(make_order(**changes), example_config.orders, LIVE)
    assert decision.outcome == outcome
    assert decision.problems == ()


@pytest.mark.parametrize(
    ("changes", "skus", "reason"),
    [
        ({"lines": (OrderLine(sku="TEE BLK M", quantity=Decimal(1)),)}, {}, ReasonCode.SKU_INVALID),
        ({"lines": (OrderLine(sku="X" * 51, quantity=Decimal(1)),)}, {}, ReasonCode.SKU_INVALID),
        ({"lines": (OrderLine(sku="TEE-BLK-M", quantity=Decimal("1.5")),)}, LIVE, ReasonCode.QUANTITY_INVALID),
        ({"lines": ()}, LIVE, ReasonCode.NO_LINES),
        ({"shipping_address": GOOD_ADDRESS.model_copy(update={"line1": ""})}, LIVE, ReasonCode.ADDRESS_INCOMPLETE),
        ({"shipping_address": GOOD_ADDRESS.model_copy(update={"postcode": "LS1"})}, LIVE, ReasonCode.POSTCODE_INVALID),
        (
            {"shipping_address": GOOD_ADDRESS.model_copy(update={"country": "US", "postcode": "10001"})},
            LIVE,
            ReasonCode.COUNTRY_UNSUPPORTED,
        ),
        ({"delivery_service": "Pigeon Post"}, LIVE, ReasonCode.DELIVERY_SERVICE_UNMAPPED),
    ],
)
def test_each_bad_order_is_quarantined_with_its_reason(
    example_config: ClientConfig, changes: dict[str, object], skus: dict[str, SkuStatus], reason: ReasonCode
) -> None:
    decision = decide_release(make_order(**changes), example_config.orders, skus)
    assert decision.outcome == Outcome.QUARANTINE
    assert decision.primary_reason == reason


def test_every_problem_is_reported_at_once(example_config: ClientConfig) -> None:
    # Given an order with an unknown SKU, a bad postcode and an unmapped carrier
    order = make_order(
        shipping_address=GOOD_ADDRESS.model_copy(update={"postcode": "nope"}), delivery_service="Pigeon Post"
    )
    # When deciding
    decision = decide_release(order, example_config.orders, {})
    # Then all three reasons are listed so the owner fixes them in one pass
    assert {p.reason for p in decision.problems} == {
        ReasonCode.SKU_UNKNOWN,
        ReasonCode.POSTCODE_INVALID,
        ReasonCode.DELIVERY_SERVICE_UNMAPPED,
    }


def test_irish_eircode_is_accepted_for_ireland(example_config: ClientConfig) -> None:
    address = GOOD_ADDRESS.model_copy(update={"country": "IE", "postcode": "D02 X285", "city": "Dublin"})
    decision = decide_release(
        make_order(shipping_address=address, delivery_service="An Post"), example_config.orders, LIVE
    )
    assert decision.outcome == Outcome.RELEASE


def test_sku_format_rules() -> None:
    assert sku_format_problem("TEE-BLK-M") is None
    assert sku_format_problem("tee/blk_m.1") is None
    assert sku_format_problem(" TEE") is not None
    assert sku_format_problem("TEE\tBLK") is not None
    assert sku_format_problem("") is not None


def test_client_reference_is_stable_and_prefixed(example_config: ClientConfig) -> None:
    assert client_reference(example_config.orders, make_order()) == "EXA-SO-1"
    assert client_reference(example_config.orders, make_order()) == client_reference(
        example_config.orders, make_order()
    )


def test_order_missing_only_skus_is_held_for_them_not_quarantined(example_config: ClientConfig) -> None:
    # Given a good order whose SKU is not yet at the warehouse
    decision = decide_release(make_order(), example_config.orders, {})
    # Then it is held with reason sku_pending, naming the SKUs it waits for
    assert decision.outcome == Outcome.HOLD
    assert decision.primary_reason == ReasonCode.SKU_PENDING
    assert decision.pending_skus == ("TEE-BLK-M",)


def test_missing_sku_plus_another_problem_is_quarantined(example_config: ClientConfig) -> None:
    decision = decide_release(make_order(delivery_service="Pigeon Post"), example_config.orders, {})
    assert decision.outcome == Outcome.QUARANTINE
    assert {p.reason for p in decision.problems} == {ReasonCode.SKU_UNKNOWN, ReasonCode.DELIVERY_SERVICE_UNMAPPED}


def test_a_custom_line_without_a_mapping_is_quarantined_naming_it() -> None:
    from decimal import Decimal

    from shared.config import OrdersPipeline
    from shared.flows.release import SkuStatus, validate_order
    from shared.models import Address, Order, OrderLine

    rules = OrdersPipeline.model_validate(
        {"from": "shop", "to": "scend", "reference_prefix": "EXC", "delivery_services": {"Tracked 48": "RM48"}}
    )
    order = Order(
        source="commercetools",
        source_id="o-1",
        order_number="A-1",
        status="Open",
        authorised=True,
        delivery_service="Tracked 48",
        lines=(
            OrderLine(sku="TEE", quantity=Decimal(1), unit_price=Decimal(10)),
            OrderLine(sku="", name="Gift wrap", quantity=Decimal(1), unit_price=Decimal(2), custom=True),
        ),
        shipping_address=Address(name="Jo", line1="1 High St", city="Leeds", postcode="LS1 1AA", country="GB"),
        total=Decimal(12),
    )
    [problem] = validate_order(order, rules, {"TEE": SkuStatus.LIVE})
    assert problem.reason.value == "sku_invalid" and "Gift wrap" in problem.detail
