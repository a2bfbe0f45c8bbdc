"""WarehouseStateFeed (the mismatch monitor's listing): in one call, the orders changed since a moment with the
live state a read of each one gives, and not the orders that did not change."""

from __future__ import annotations

import pytest

from shared.connectors.spec import Role
from shared.ports import WarehouseStateFeed
from tests.contracts.ports.worlds import Subject, WarehouseWorld

ROLES = {Role.CANCEL_TARGET}


def _feed(subject: Subject) -> WarehouseStateFeed:
    port = subject.port
    if not isinstance(port, WarehouseStateFeed):
        pytest.skip(f"{type(port).__name__} lists no changed orders: the monitor reads each order alone")
    return port


def test_lists_the_orders_changed_since_with_their_live_state(subject: Subject, unique: str) -> None:
    feed = _feed(subject)
    world: WarehouseWorld = subject.world
    quiet = world.place_order(f"EXA-Q-{unique}", [(f"TEE-{unique}", 1)])
    subject.clock.advance(600)
    since = subject.clock.now()
    subject.clock.advance(5)
    new = world.place_order(f"EXA-N-{unique}", [(f"TEE-{unique}", 1)])
    cancelled = world.place_order(f"EXA-C-{unique}", [(f"TEE-{unique}", 2)])
    assert subject.port.cancel_order(cancelled)[0]
    listed = {ref.warehouse_order_id: ref for ref in feed.order_states_since(since)}
    assert quiet not in listed
    assert {new, cancelled} <= set(listed)
    for order_id in (new, cancelled):
        alone = subject.port.order_state(order_id)
        assert alone is not None
        assert (listed[order_id].status, listed[order_id].client_reference) == (alone.status, alone.client_reference)
    assert (listed[new].status, listed[cancelled].status) == ("new", "cancelled")
