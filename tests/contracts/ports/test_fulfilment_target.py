"""FulfilmentTarget: an order is created once per reference and found by exactly that reference; known_skus
reports only SKUs the warehouse holds."""

from __future__ import annotations

import pytest

from shared.connectors.spec import Role
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.ports import FulfilmentTarget
from tests.contracts.ports.worlds import SERVICE, Subject, WarehouseWorld, order_for

ROLES = {Role.ORDER_TARGET}


def test_a_created_order_is_found_by_its_reference_and_not_created_twice(subject: Subject, unique: str) -> None:
    port: FulfilmentTarget = subject.port
    world: WarehouseWorld = subject.world
    sku, reference = f"TEE-{unique}", f"EXA-SO-{unique}"
    world.add_product(sku)
    assert port.find_order(reference) is None
    created = port.create_order(order_for(reference, [(sku, 2)]), reference, SERVICE)
    assert created.created and created.client_reference == reference and created.warehouse_order_id
    found = port.find_order(reference)
    assert found is not None
    assert (found.warehouse_order_id, found.client_reference, found.created) == (
        created.warehouse_order_id,
        reference,
        False,
    )
    # Only the exact reference matches
    assert port.find_order(f"{reference}0") is None
    # A repeat of the reference returns the order held
    again = port.create_order(order_for(reference, [(sku, 2)]), reference, SERVICE)
    assert (again.warehouse_order_id, again.created) == (created.warehouse_order_id, False)


def test_known_skus_returns_only_skus_the_warehouse_holds(subject: Subject, unique: str) -> None:
    port: FulfilmentTarget = subject.port
    world: WarehouseWorld = subject.world
    world.add_product(f"MUG-{unique}")
    world.add_product(f"MUG-{unique}-XL")
    assert port.known_skus([f"MUG-{unique}", f"GHOST-{unique}", f"MUG-{unique[:-1]}"]) == {f"MUG-{unique}"}
    assert port.known_skus([]) == set()


def test_an_order_for_a_sku_the_warehouse_lacks_is_refused_as_unknown(subject: Subject, unique: str) -> None:
    port: FulfilmentTarget = subject.port
    reference = f"EXA-SO-{unique}"
    with pytest.raises(PermanentError) as refused:
        port.create_order(order_for(reference, [(f"GHOST-{unique}", 1)]), reference, SERVICE)
    assert refused.value.reason == ReasonCode.SKU_UNKNOWN
    assert port.find_order(reference) is None
