"""The cancellation decision table: (where the order is, the warehouse status, the cut-off) -> decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.config import CancellationConfig
from shared.connectors.scend.mapping import WarehouseStatus
from shared.flows.cancellation import (
    EXECUTION_NAME_MAX,
    NEUTRAL_STATUSES,
    PROGRESSION,
    Decision,
    Outcome,
    Place,
    decide,
    effective_status,
    execution_name,
    locate,
    outcome_of,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# Every neutral status against every possible cut-off, spelled out: the table the state machine renders.
BEFORE_PICKED = {"new", "awaiting_picking", "picking", "on_hold", "backorder"}


def expected(status: str, cutoff: str) -> Decision:
    if status == "cancelled":
        return Decision.ALREADY_CANCELLED
    if status in ("on_hold", "backorder"):
        return Decision.CANCEL_AT_WAREHOUSE
    if status == "unknown":
        return Decision.TOO_LATE
    before = PROGRESSION.index(status) < PROGRESSION.index(cutoff)
    return Decision.CANCEL_AT_WAREHOUSE if before else Decision.TOO_LATE


@pytest.mark.parametrize("cutoff", PROGRESSION)
@pytest.mark.parametrize("status", NEUTRAL_STATUSES)
def test_decision_table_at_the_warehouse(status: str, cutoff: str) -> None:
    assert decide(Place.AT_WAREHOUSE, status, cutoff).decision == expected(status, cutoff)


def test_default_cutoff_cancels_only_before_picked() -> None:
    # Given the default cut-off 'picked'
    cancelled = {s for s in NEUTRAL_STATUSES
                 if decide(Place.AT_WAREHOUSE, s, "picked").decision == Decision.CANCEL_AT_WAREHOUSE}
    # Then exactly the statuses where nothing has been picked are cancelled automatically
    assert cancelled == BEFORE_PICKED


def test_cancel_after_cutoff_is_refused_with_the_status_and_cutoff_in_the_reason() -> None:
    decision = decide(Place.AT_WAREHOUSE, "packed", "picked")
    assert decision.decision == Decision.TOO_LATE
    assert "packed" in decision.reason and "picked" in decision.reason


@pytest.mark.parametrize("status", [*NEUTRAL_STATUSES, None])
def test_place_decides_before_the_status(status: str | None) -> None:
    assert decide(Place.NOT_SUBMITTED, status, "picked").decision == Decision.CANCEL_BEFORE_SUBMIT
    assert decide(Place.CANCELLED, status, "picked").decision == Decision.ALREADY_CANCELLED
    assert decide(Place.SUBMIT_IN_FLIGHT, status, "picked").decision == Decision.WAIT_FOR_SUBMIT
    assert decide(Place.SUBMIT_UNCERTAIN, status, "picked").decision == Decision.WAIT_FOR_SUBMIT


def test_at_the_warehouse_without_a_status_is_a_bug_not_a_guess() -> None:
    with pytest.raises(ValueError, match="live status"):
        decide(Place.AT_WAREHOUSE, None, "picked")


def test_an_unknown_cutoff_is_refused_in_config_and_in_the_flow() -> None:
    with pytest.raises(ValidationError, match="cut-off must be one of"):
        CancellationConfig(cutoff="shipped")
    with pytest.raises(ValueError, match="cut-off"):
        decide(Place.AT_WAREHOUSE, "new", "on_hold")
    assert CancellationConfig().cutoff == "picked" and CancellationConfig().notify_source is True


def test_neutral_statuses_are_exactly_what_the_warehouse_connector_reports() -> None:
    assert set(NEUTRAL_STATUSES) == {status.value for status in WarehouseStatus}


@pytest.mark.parametrize(("recorded", "started_ago", "expected_place"), [
    (True, None, Place.AT_WAREHOUSE),
    (False, None, Place.NOT_SUBMITTED),
    (False, 5, Place.SUBMIT_IN_FLIGHT),
    (False, 119, Place.SUBMIT_IN_FLIGHT),
    (False, 120, Place.SUBMIT_UNCERTAIN),
])
def test_locate_by_submit_lease(recorded: bool, started_ago: int | None, expected_place: Place) -> None:
    started = NOW - timedelta(seconds=started_ago) if started_ago is not None else None
    place = locate(cancelled=False, warehouse_order_id="50001" if recorded else None, submit_started_at=started,
                   now=NOW, submit_lease_seconds=120)
    assert place == expected_place


def test_locate_prefers_the_warehouse_id_to_a_cancelled_stage() -> None:
    # A cancelled order we had sent is re-read at the warehouse (idempotent re-run), not assumed.
    assert locate(cancelled=True, warehouse_order_id="1", submit_started_at=None, now=NOW,
                  submit_lease_seconds=1) == Place.AT_WAREHOUSE
    assert locate(cancelled=True, warehouse_order_id=None, submit_started_at=NOW, now=NOW,
                  submit_lease_seconds=1) == Place.CANCELLED


def test_a_recorded_parcel_outranks_a_status_that_hides_it() -> None:
    assert effective_status("new", "part_shipped") == "despatched"
    assert effective_status("new", "submitted") == "new"


@pytest.mark.parametrize(("route", "status", "accepted", "outcome"), [
    ("not_submitted", None, None, Outcome.CANCELLED_BEFORE_SUBMIT),
    ("cancelled", None, None, Outcome.ALREADY_CANCELLED),
    ("at_warehouse", "cancelled", None, Outcome.ALREADY_CANCELLED),
    ("at_warehouse", "picked", None, Outcome.REFUSED_TOO_LATE),
    ("at_warehouse", "new", True, Outcome.CANCELLED_AT_WAREHOUSE),
    ("at_warehouse", "new", False, Outcome.REFUSED_BY_WAREHOUSE),
])
def test_outcome_of_an_execution(route: str, status: str | None, accepted: bool | None, outcome: Outcome) -> None:
    assert outcome_of(route=route, status=status, cutoff="picked", warehouse_accepted=accepted) == outcome


def test_outcome_refuses_a_before_cutoff_status_the_warehouse_was_never_asked_about() -> None:
    with pytest.raises(ValueError, match="not asked"):
        outcome_of(route="at_warehouse", status="new", cutoff="picked", warehouse_accepted=None)


def test_execution_names_are_safe_unique_and_at_most_80_characters() -> None:
    name = execution_name("example-cin7-scend", "cin7_core#7924db79-3d5d-474e-aa97-cbc1cc4241dd")
    assert name == "cancel-example-cin7-scend-cin7_core-7924db79-3d5d-474e-aa97-cbc1cc4241dd"
    assert execution_name("a-client", "shop#order 1/2") == "cancel-a-client-shop-order-1-2"
    long_a = execution_name("a-very-long-client-name-for-testing", "storefront#" + "x" * 80 + "a")
    long_b = execution_name("a-very-long-client-name-for-testing", "storefront#" + "x" * 80 + "b")
    assert len(long_a) == len(long_b) == EXECUTION_NAME_MAX
    assert long_a != long_b
