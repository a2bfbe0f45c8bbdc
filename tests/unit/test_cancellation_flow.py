"""The cancellation decision table: (where the order is, the warehouse's own status, its cancel table) -> decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared import topology
from shared.config import CancellationPipeline, ClientConfig
from shared.connectors import warehouses
from shared.connectors.scend.statuses import DEFAULT_CANCEL_RULES, STATUS_NAMES, cancel_rules, status_read
from shared.connectors.spec import Role
from shared.flows.cancellation import (
    EXECUTION_NAME_MAX,
    Decision,
    Outcome,
    Place,
    decide,
    effective_status,
    execution_name,
    locate,
    outcome_of,
)
from shared.models import CancelRule

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = cancel_rules({})

# The card's rule (Scend card 3.4), spelled out status by status: the table the state machine renders.
CARD = {
    **dict.fromkeys((1, 7, 9, 10, 11, 12, 15, 21), Decision.CANCEL_AT_WAREHOUSE),
    **dict.fromkeys((14, 16, 17, 20), Decision.TOO_LATE),
    **dict.fromkeys((4, 5), Decision.REFUSE_AND_RETURN),
    3: Decision.ALREADY_CANCELLED,
    **dict.fromkeys((2, 6, 8, 13, 18, 19, 22, 23), Decision.TOO_LATE),  # no rule on the card: a person checks
}


@pytest.mark.parametrize("status_id", sorted(STATUS_NAMES))
def test_every_scend_status_decides_as_the_card_says(status_id: int) -> None:
    assert decide(Place.AT_WAREHOUSE, status_read(status_id), RULES).decision == CARD[status_id]


def test_the_card_table_has_exactly_the_cards_sets() -> None:
    by_rule = {rule: sorted(i for i, r in DEFAULT_CANCEL_RULES.items() if r == rule) for rule in CancelRule}
    assert by_rule == {
        CancelRule.CANCEL: [1, 7, 9, 10, 11, 12, 15, 21],
        CancelRule.RAISE_WITH_WAREHOUSE: [14, 16, 17, 20],
        CancelRule.REFUSE_AND_RETURN: [4, 5],
    }


def test_statuses_the_neutral_vocabulary_cannot_tell_apart_are_decided_by_their_own_code() -> None:
    # 2 Printed and 15 Awaiting picking are both before picking; 19 Picking skipped and 16 Picking started
    # are both "picking": the card cancels only at 15, and raises 16 with the 3PL
    assert status_read(2).status == "new" and status_read(15).status == "awaiting_picking"
    assert decide(Place.AT_WAREHOUSE, status_read(2), RULES).decision == Decision.TOO_LATE
    assert decide(Place.AT_WAREHOUSE, status_read(15), RULES).decision == Decision.CANCEL_AT_WAREHOUSE
    assert status_read(19).status == status_read(16).status == "picking"
    assert "no cancel rule" in decide(Place.AT_WAREHOUSE, status_read(19), RULES).reason
    assert "raise it with the 3PL" in decide(Place.AT_WAREHOUSE, status_read(16), RULES).reason


def test_reasons_name_the_status_and_what_to_expect() -> None:
    raised = decide(Place.AT_WAREHOUSE, status_read(20), RULES)
    assert "20 Packed (packed)" in raised.reason and "return" in raised.reason
    returned = decide(Place.AT_WAREHOUSE, status_read(4), RULES)
    assert "4 Despatched" in returned.reason and "a return is started" in returned.reason


def test_a_client_overrides_one_status_and_the_rendered_choice_follows(example_config: ClientConfig) -> None:
    # Given a 3PL that still cancels once picking has started, in one client's config
    config = example_config.with_role_platform(
        Role.CANCEL_TARGET, cancel_rules={16: CancelRule.CANCEL, 1: CancelRule.RAISE_WITH_WAREHOUSE}
    )
    choice = topology.state_machine("cancellation").state("WarehouseAllowsCancel")
    assert isinstance(choice, topology.ChoiceState)
    default, overridden = choice.routes(example_config), choice.routes(config)
    # Then the deployed routing changes exactly there, as the pure decision does
    assert {code for code in default if default[code] != overridden[code]} == {"1", "16"}
    assert overridden["16"] == "CancelAtWarehouse" and overridden["1"] == "RecordOutcome"
    for code, target in overridden.items():
        decision = decide(
            Place.AT_WAREHOUSE,
            warehouses.status_read(config, code),
            warehouses.cancel_rules(config),
        ).decision
        assert (target == "CancelAtWarehouse") == (decision == Decision.CANCEL_AT_WAREHOUSE)


def test_the_choice_lists_every_status_code_and_routes_only_cancellable_ones_to_the_cancel(
    example_config: ClientConfig,
) -> None:
    choice = topology.state_machine("cancellation").state("WarehouseAllowsCancel")
    assert isinstance(choice, topology.ChoiceState)
    assert choice.field == "$.warehouse.code"
    routes = choice.routes(example_config)
    # every registered cancel target's codes (the one machine serves them all), the example's Scend ones among them
    assert set(routes) == set(warehouses.status_codes()) >= {str(i) for i in STATUS_NAMES}
    assert {code for code, target in routes.items() if target == "CancelAtWarehouse"} == {
        "1",
        "7",
        "9",
        "10",
        "11",
        "12",
        "15",
        "21",
    }


def test_an_unknown_status_id_is_refused_in_config_and_the_old_cutoff_is_explained() -> None:
    with pytest.raises(ValueError, match="not Scend status ids"):
        cancel_rules({99: CancelRule.CANCEL})
    with pytest.raises(ValidationError, match=r"cancellation\.cutoff is gone"):
        CancellationPipeline.model_validate({"from": "cin7", "to": "scend", "cutoff": "picked"})
    assert CancellationPipeline.model_validate({"from": "cin7", "to": "scend"}).notify_source is True


@pytest.mark.parametrize("status_id", [None, *sorted(STATUS_NAMES)])
def test_place_decides_before_the_status(status_id: int | None) -> None:
    status = status_read(status_id) if status_id is not None else None
    assert decide(Place.NOT_SUBMITTED, status, RULES).decision == Decision.CANCEL_BEFORE_SUBMIT
    assert decide(Place.CANCELLED, status, RULES).decision == Decision.ALREADY_CANCELLED
    assert decide(Place.SUBMIT_IN_FLIGHT, status, RULES).decision == Decision.WAIT_FOR_SUBMIT
    assert decide(Place.SUBMIT_UNCERTAIN, status, RULES).decision == Decision.WAIT_FOR_SUBMIT


def test_at_the_warehouse_without_a_status_is_a_bug_not_a_guess() -> None:
    with pytest.raises(ValueError, match="live status"):
        decide(Place.AT_WAREHOUSE, None, RULES)


def test_an_unknown_status_is_left_to_a_person() -> None:
    assert decide(Place.AT_WAREHOUSE, status_read(None), RULES).decision == Decision.TOO_LATE
    assert decide(Place.AT_WAREHOUSE, status_read(99), RULES).decision == Decision.TOO_LATE


@pytest.mark.parametrize(
    ("recorded", "started_ago", "expected_place"),
    [
        (True, None, Place.AT_WAREHOUSE),
        (False, None, Place.NOT_SUBMITTED),
        (False, 5, Place.SUBMIT_IN_FLIGHT),
        (False, 119, Place.SUBMIT_IN_FLIGHT),
        (False, 120, Place.SUBMIT_UNCERTAIN),
    ],
)
def test_locate_by_submit_lease(recorded: bool, started_ago: int | None, expected_place: Place) -> None:
    started = NOW - timedelta(seconds=started_ago) if started_ago is not None else None
    place = locate(
        cancelled=False,
        warehouse_order_id="50001" if recorded else None,
        submit_started_at=started,
        now=NOW,
        submit_lease_seconds=120,
    )
    assert place == expected_place


def test_locate_prefers_the_warehouse_id_to_a_cancelled_stage() -> None:
    # A cancelled order we had sent is re-read at the warehouse (idempotent re-run), not assumed.
    assert (
        locate(cancelled=True, warehouse_order_id="1", submit_started_at=None, now=NOW, submit_lease_seconds=1)
        == Place.AT_WAREHOUSE
    )
    assert (
        locate(cancelled=True, warehouse_order_id=None, submit_started_at=NOW, now=NOW, submit_lease_seconds=1)
        == Place.CANCELLED
    )


def test_a_recorded_parcel_outranks_a_status_that_hides_it() -> None:
    assert effective_status(status_read(15), "part_shipped", status_read(4)) == status_read(4)
    assert effective_status(status_read(15), "submitted", status_read(4)) == status_read(15)


@pytest.mark.parametrize(
    ("route", "status_id", "accepted", "outcome"),
    [
        ("not_submitted", None, None, Outcome.CANCELLED_BEFORE_SUBMIT),
        ("cancelled", None, None, Outcome.ALREADY_CANCELLED),
        ("at_warehouse", 3, None, Outcome.ALREADY_CANCELLED),
        ("at_warehouse", 17, None, Outcome.REFUSED_TOO_LATE),
        ("at_warehouse", 22, None, Outcome.REFUSED_TOO_LATE),
        ("at_warehouse", 5, None, Outcome.REFUSED_RETURN_STARTED),
        ("at_warehouse", 1, True, Outcome.CANCELLED_AT_WAREHOUSE),
        ("at_warehouse", 15, False, Outcome.REFUSED_BY_WAREHOUSE),
    ],
)
def test_outcome_of_an_execution(route: str, status_id: int | None, accepted: bool | None, outcome: Outcome) -> None:
    status = status_read(status_id) if status_id is not None else None
    assert outcome_of(route=route, status=status, rules=RULES, warehouse_accepted=accepted) == outcome


def test_outcome_refuses_a_cancellable_status_the_warehouse_was_never_asked_about() -> None:
    with pytest.raises(ValueError, match="not asked"):
        outcome_of(route="at_warehouse", status=status_read(1), rules=RULES, warehouse_accepted=None)


def test_execution_names_are_safe_unique_and_at_most_80_characters() -> None:
    name = execution_name("example-cin7-scend", "cin7_core#7924db79-3d5d-474e-aa97-cbc1cc4241dd")
    assert name == "cancel-example-cin7-scend-cin7_core-7924db79-3d5d-474e-aa97-cbc1cc4241dd"
    assert execution_name("a-client", "shop#order 1/2") == "cancel-a-client-shop-order-1-2"
    long_a = execution_name("a-very-long-client-name-for-testing", "storefront#" + "x" * 80 + "a")
    long_b = execution_name("a-very-long-client-name-for-testing", "storefront#" + "x" * 80 + "b")
    assert len(long_a) == len(long_b) == EXECUTION_NAME_MAX
    assert long_a != long_b
