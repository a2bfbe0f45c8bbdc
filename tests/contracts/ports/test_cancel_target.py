"""CancelTarget: a live status in the neutral vocabulary, a cancel accepted while the order is cancellable
(and harmless to repeat), refused once it has left."""

from __future__ import annotations

from shared.connectors.spec import Role
from shared.models import WarehouseStatus
from shared.ports import CancelTarget
from tests.contracts.ports.worlds import Subject, WarehouseWorld

ROLES = {Role.CANCEL_TARGET}
NEUTRAL = {status.value for status in WarehouseStatus}


def test_a_new_order_reads_as_new_and_is_cancelled_on_request(subject: Subject, unique: str) -> None:
    port: CancelTarget = subject.port
    world: WarehouseWorld = subject.world
    reference = f"EXA-SO-{unique}"
    order_id = world.place_order(reference, [(f"TEE-{unique}", 1)])
    found = port.find_order(reference)
    assert found is not None and found.warehouse_order_id == order_id
    status = port.order_status(order_id)
    assert status.status == "new" and status.status in NEUTRAL
    assert status.code
    accepted, _ = port.cancel_order(order_id)
    assert accepted
    assert port.order_status(order_id).status == "cancelled"
    # A repeat (a retry after a lost answer) is accepted again, and the order stays cancelled
    assert port.cancel_order(order_id)[0]
    state = port.order_state(order_id)
    assert state is not None and state.status == "cancelled"


def test_a_despatched_order_refuses_the_cancel_naming_why(subject: Subject, unique: str) -> None:
    port: CancelTarget = subject.port
    world: WarehouseWorld = subject.world
    order_id = world.place_order(f"EXA-SO-{unique}", [(f"TEE-{unique}", 1)])
    world.despatch(order_id)
    assert port.order_status(order_id).status == "despatched"
    accepted, message = port.cancel_order(order_id)
    assert not accepted and message
    assert port.order_status(order_id).status == "despatched"


def test_an_order_the_warehouse_does_not_hold(subject: Subject, unique: str) -> None:
    port: CancelTarget = subject.port
    assert port.find_order(f"EXA-NONE-{unique}") is None
    assert port.order_state("99999999") is None
