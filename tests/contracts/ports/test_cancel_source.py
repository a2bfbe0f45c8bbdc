"""CancelSource: an order cancelled at the platform is announced since the time it was cancelled, and only then."""

from __future__ import annotations

from shared.connectors.spec import Role
from shared.ports import CancelSource
from tests.contracts.ports.worlds import CommerceWorld, Subject

ROLES = {Role.CANCEL_SOURCE}


def test_a_voided_order_is_announced_after_since_and_a_live_one_is_not(subject: Subject, unique: str) -> None:
    port: CancelSource = subject.port
    world: CommerceWorld = subject.world
    voided = world.add_order(f"SO-{unique}-V", [(f"TEE-{unique}", 1)])
    live = world.add_order(f"SO-{unique}-L", [(f"TEE-{unique}", 1)])
    before = subject.clock.now()
    subject.clock.advance(60)
    world.void_order(voided)
    subject.clock.advance(60)
    announced = {change.source_id.lower() for change in port.cancelled_since(before)}
    assert voided.lower() in announced
    assert live.lower() not in announced
    assert voided.lower() not in {change.source_id.lower() for change in port.cancelled_since(subject.clock.now())}
