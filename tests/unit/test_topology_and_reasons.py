"""The declared wiring is consistent, and every reason code has an owner."""

from __future__ import annotations

import dataclasses

import pytest

from shared import topology
from shared.models import OWNER, ReasonCode


def test_every_reason_has_an_owning_team() -> None:
    assert set(OWNER) == set(ReasonCode)


def test_topology_validates_and_every_queue_has_one_consumer() -> None:
    topology.validate()
    consumed = [h.trigger.queue for h in topology.HOPS if isinstance(h.trigger, topology.QueueTrigger)]
    assert sorted(consumed) == sorted(q.name for q in topology.QUEUES)


def test_a_hop_sending_to_an_undeclared_queue_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dataclasses.replace(topology.HOPS[0], sends_to=("nowhere",))
    monkeypatch.setattr(topology, "HOPS", (broken, *topology.HOPS[1:]))
    with pytest.raises(ValueError, match="undeclared queue nowhere"):
        topology.validate()


def test_short_visibility_timeout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    short = tuple(dataclasses.replace(q, visibility_timeout_seconds=30) for q in topology.QUEUES)
    monkeypatch.setattr(topology, "QUEUES", short)
    with pytest.raises(ValueError, match="visibility timeout"):
        topology.validate()


def test_every_hop_has_a_handler_module() -> None:
    import importlib.util

    for hop in topology.HOPS:
        assert importlib.util.find_spec(hop.module) is not None, hop.module
