"""The fake platforms' own controls: failures on demand, the call log, and what they refuse as a platform would."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.errors import NotFoundError, PermanentError, TransientError
from shared.models import ReasonCode
from shared.models.stock import StockPush
from tests.contracts.ports.worlds import SERVICE, order_for
from tests.fakes import Call, FakeCommerce, FakeWarehouse


def test_a_failure_is_raised_the_times_asked_then_the_call_works_and_every_call_is_logged() -> None:
    warehouse = FakeWarehouse()
    warehouse.add_product("TEE")
    warehouse.fail("known_skus", TransientError("timed out"), times=2)
    for _ in range(2):
        with pytest.raises(TransientError):
            warehouse.known_skus(["TEE"])
    assert warehouse.known_skus(["TEE"]) == {"TEE"}
    assert warehouse.calls == [Call("known_skus", (["TEE"],))] * 3


def test_a_standing_failure_lasts_until_healed_and_a_feed_fails_when_read() -> None:
    commerce = FakeCommerce()
    commerce.fail("products_changed_since", PermanentError(ReasonCode.SOURCE_REJECTED, "refused"), times=None)
    feed = commerce.products_changed_since(commerce.clock.now())
    with pytest.raises(PermanentError):
        next(feed)
    with pytest.raises(PermanentError):
        list(commerce.products_changed_since(commerce.clock.now()))
    commerce.heal("products_changed_since")
    assert list(commerce.products_changed_since(commerce.clock.now())) == []
    with pytest.raises(AttributeError):
        commerce.fail("no_such_method", TransientError("x"))


def test_the_warehouse_refuses_what_a_warehouse_refuses() -> None:
    warehouse = FakeWarehouse(accepts_stock_writes=False)
    with pytest.raises(PermanentError) as unknown:
        warehouse.create_order(order_for("REF-1", [("GHOST", 1)]), "REF-1", SERVICE)
    assert unknown.value.reason == ReasonCode.SKU_UNKNOWN
    with pytest.raises(PermanentError) as no_writes:
        warehouse.push_stock([StockPush(sku="TEE", location="W1", quantity=1)])
    assert no_writes.value.reason == ReasonCode.ENDPOINT_UNAVAILABLE
    with pytest.raises(NotFoundError):
        warehouse.order_status("404")
    with pytest.raises(ValueError, match="unknown status code"):
        warehouse.set_status("404", "lost")


def test_the_commerce_side_refuses_a_shipment_beyond_what_the_order_holds() -> None:
    commerce = FakeCommerce()
    source_id = commerce.add_order("SO-1", [("TEE", 1)])
    warehouse = FakeWarehouse(clock=commerce.clock)
    warehouse.add_product("TEE")
    ref = warehouse.create_order(order_for("REF-1", [("TEE", 2)]), "REF-1", SERVICE)
    shipment = warehouse.despatch(ref.warehouse_order_id)
    tokens: list[str] = []
    with pytest.raises(PermanentError) as over:
        commerce.write_shipment(source_id, shipment, location="Main", progress={}, remember=tokens.append)
    assert over.value.reason == ReasonCode.SOURCE_REJECTED
    assert commerce.shipped(source_id) == {} and len(tokens) == 1
    assert warehouse.order_status(ref.warehouse_order_id).status == "despatched"
    assert [line.quantity for line in shipment.lines] == [Decimal(2)]
