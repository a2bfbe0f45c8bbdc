"""The canonical fulfilment vocabulary: stages in order, and each platform's structures mapped onto it."""

from __future__ import annotations

import pytest

from shared.connectors.cin7_core.mapping import FulfilmentTask
from shared.connectors.scend.mapping import STATUS_BY_ID
from shared.models import FulfilmentStage, WarehouseStatus, stage_of_status


def test_a_stage_reaches_itself_and_every_earlier_one_but_cancelled_reaches_none() -> None:
    assert FulfilmentStage.PACKED.reached(FulfilmentStage.PICKED)
    assert FulfilmentStage.DESPATCHED.reached(FulfilmentStage.PART_DESPATCHED)
    assert not FulfilmentStage.PICKED.reached(FulfilmentStage.PACKED)
    assert not FulfilmentStage.CANCELLED.reached(FulfilmentStage.ORDERED)
    assert FulfilmentStage.CANCELLED.reached(FulfilmentStage.CANCELLED)
    assert not FulfilmentStage.UNKNOWN.reached(FulfilmentStage.ORDERED)


def test_every_neutral_warehouse_status_has_a_stage_and_an_unknown_one_is_unknown() -> None:
    for status in WarehouseStatus:
        expected_unknown = status is WarehouseStatus.UNKNOWN
        assert (stage_of_status(status) is FulfilmentStage.UNKNOWN) == expected_unknown
    assert stage_of_status("teleported") is FulfilmentStage.UNKNOWN
    # Scend's table lands on the stages the flows decide on
    assert stage_of_status(STATUS_BY_ID[3]) is FulfilmentStage.CANCELLED
    assert stage_of_status(STATUS_BY_ID[4]) is FulfilmentStage.DESPATCHED
    assert stage_of_status(STATUS_BY_ID[16]) is FulfilmentStage.PICKING


@pytest.mark.parametrize(
    ("pick", "pack", "ship", "stage"),
    [
        ("NOT AVAILABLE", "", "", FulfilmentStage.ORDERED),
        ("DRAFT", "", "", FulfilmentStage.ORDERED),
        ("AUTHORISED", "DRAFT", "", FulfilmentStage.PICKED),
        ("AUTHORISED", "AUTHORISED", "NOT AVAILABLE", FulfilmentStage.PACKED),
        ("AUTHORISED", "AUTHORISED", "PARTIALLY AUTHORISED", FulfilmentStage.PART_DESPATCHED),
        ("AUTHORISED", "AUTHORISED", "AUTHORISED", FulfilmentStage.DESPATCHED),
        ("VOIDED", "", "", FulfilmentStage.CANCELLED),
    ],
)
def test_a_cin7_task_s_pick_pack_and_ship_map_to_one_stage(
    pick: str, pack: str, ship: str, stage: FulfilmentStage
) -> None:
    task = FulfilmentTask(task_id="t", pick_status=pick, pack_status=pack, ship_status=ship)
    assert task.stage is stage
