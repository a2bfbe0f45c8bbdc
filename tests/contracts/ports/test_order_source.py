"""OrderSource: an order placed at the platform is read whole, and the changed-since poll finds it once it changed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shared.connectors.spec import Role
from shared.errors import NotFoundError
from shared.ports import OrderSource
from tests.contracts.ports.worlds import CommerceWorld, Subject

ROLES = {Role.ORDER_SOURCE}


def test_an_order_placed_is_read_with_its_lines(subject: Subject, unique: str) -> None:
    port: OrderSource = subject.port
    world: CommerceWorld = subject.world
    source_id = world.add_order(f"SO-{unique}", [(f"TEE-{unique}", 2), (f"CAP-{unique}", 1)])
    order = port.fetch_order(source_id)
    assert order.order_number == f"SO-{unique}"
    assert order.source_id.lower() == source_id.lower()
    assert order.authorised
    assert [(line.sku, line.quantity) for line in order.lines] == [
        (f"TEE-{unique}", Decimal(2)),
        (f"CAP-{unique}", Decimal(1)),
    ]
    # read_order gives the same order with the payload it was mapped from (which the caller archives)
    read, payload = port.read_order(source_id)
    assert read == order
    assert f"SO-{unique}" in json.dumps(payload, default=str)


def test_orders_changed_since_lists_an_order_after_since_and_not_before(subject: Subject, unique: str) -> None:
    port: OrderSource = subject.port
    world: CommerceWorld = subject.world
    before = subject.clock.now()
    subject.clock.advance(60)
    source_id = world.add_order(f"SO-{unique}", [(f"TEE-{unique}", 1)])
    subject.clock.advance(60)
    after = subject.clock.now()
    listed = {change.source_id.lower(): change for change in port.orders_changed_since(before)}
    assert source_id.lower() in listed
    assert listed[source_id.lower()].order_number == f"SO-{unique}"
    assert before < listed[source_id.lower()].updated_at <= after
    assert source_id.lower() not in {change.source_id.lower() for change in port.orders_changed_since(after)}


def test_an_order_the_platform_does_not_hold_is_not_found(subject: Subject) -> None:
    port: OrderSource = subject.port
    with pytest.raises(NotFoundError):
        port.fetch_order("0badc0de-0000-4000-8000-000000000000")
