"""Every hop's handler is built by the kit, so no handler skeleton (decorators, batch, metrics) is written twice."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from functions import kit
from shared import topology

KIT_HOPS = list(topology.HOPS)
SHAPE_OF = {
    topology.QueueTrigger: "queue",
    topology.ScheduleTrigger: "schedule",
    topology.StateMachineTrigger: "task",
    topology.ApiTrigger: "webhook",
}


@pytest.mark.parametrize("hop", KIT_HOPS, ids=lambda hop: hop.name)
def test_every_hop_handler_is_built_by_the_kit(hop: topology.Hop, fresh_handler_modules: None) -> None:
    module = importlib.import_module(hop.module)
    shape = getattr(module.lambda_handler, "hop", None)
    assert isinstance(shape, kit.HopShape), f"{hop.module}.lambda_handler is hand-written, not from functions.kit"
    assert module.__doc__, hop.module
    # And the shape is the one for how the topology triggers the hop
    assert shape.kind == SHAPE_OF[type(hop.trigger)], hop.name


def test_one_receiver_serves_every_webhook() -> None:
    assert [h.name for h in KIT_HOPS if isinstance(h.trigger, topology.ApiTrigger)] == [topology.WEBHOOK_RECEIVER]


def test_a_hand_written_handler_is_told_apart() -> None:
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {}

    assert not isinstance(getattr(lambda_handler, "hop", None), kit.HopShape)


class _Outcome:
    outcome = "refused"


@pytest.mark.parametrize(
    ("result", "label"),
    [({"outcome": "created"}, "created"), ("started", "started"), (_Outcome(), "refused")],
)
def test_results_are_counted_under_their_outcome(result: Any, label: str) -> None:
    assert kit.outcome_of(result) == label


def test_a_skipped_run_counts_zero_for_a_figure_it_left_out() -> None:
    assert kit.figure({"skipped": "no stock pipeline"}, "skus_read") == 0
    assert kit.figure({"enqueued": 3}, "enqueued") == 3
    with pytest.raises(AttributeError):
        kit.figure(_Outcome(), "pushed")
