"""The order monitors as pure functions over ledger snapshots, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.config import MismatchConfig, StageSlaConfig
from shared.flows.monitors import (
    MismatchKind,
    MonitorStage,
    due_for_check,
    listing_since,
    mismatch,
    stalled,
)
from shared.models import WarehouseOrderRef
from shared.stores.ledger import LedgerEntry, Stage

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SLA = StageSlaConfig(
    received_to_released=30, released_to_warehouse=15, warehouse_to_shipped=2880, shipped_to_written_back=60
)
CHECKS = MismatchConfig(min_age_minutes=60, recheck_minutes=120, max_per_run=2, despatched_grace_minutes=90)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(stage: Stage, key: str = "cin7_core#s1", **fields: Any) -> LedgerEntry:
    times = {name: at(m).isoformat() for name, m in fields.pop("times", {}).items()}
    return LedgerEntry(client="c", order_key=key, stage=stage, timestamps=times, **fields)


def test_released_order_not_at_the_warehouse_after_the_sla_is_stalled() -> None:
    # Given an order released at T0 and the first rule's 15-minute SLA
    order = entry(Stage.RELEASED, times={"received": 0, "released": 0})
    # When the monitor looks at 15 minutes, then at 16
    on_time = stalled(order, SLA, at(15))
    late = stalled(order, SLA, at(16))
    # Then it is on time exactly at the SLA, and one minute over after it
    assert on_time == []
    [breach] = late
    assert breach.stage == MonitorStage.RELEASED
    assert breach.since == at(0)
    assert breach.minutes_over == pytest.approx(1.0)
    assert "not at the warehouse" in breach.detail


def test_received_order_that_intake_never_decided_on_is_stalled() -> None:
    order = entry(Stage.RECEIVED, times={"received": 0})
    assert stalled(order, SLA, at(30)) == []
    assert [b.stage for b in stalled(order, SLA, at(31))] == [MonitorStage.RECEIVED]


@pytest.mark.parametrize("stage", [Stage.HELD, Stage.SKIPPED, Stage.QUARANTINED, Stage.NOT_READY])
def test_orders_waiting_for_a_known_reason_are_not_stalled(stage: Stage) -> None:
    # Given an order that intake held, skipped or quarantined days ago
    order = entry(stage, times={"received": 0, stage.value: 1})
    # Then the stall monitor leaves it to its own alert or exception
    assert stalled(order, SLA, at(60 * 24 * 5)) == []


def test_order_at_the_warehouse_with_nothing_despatched_after_two_days_is_stalled() -> None:
    order = entry(Stage.SUBMITTED, times={"released": 0, "submitted": 1})
    assert stalled(order, SLA, at(1 + 2880)) == []
    [breach] = stalled(order, SLA, at(1 + 2881))
    assert breach.stage == MonitorStage.AT_WAREHOUSE


def test_despatched_parcel_not_written_back_in_time_is_stalled_per_parcel() -> None:
    # Given an order with two parcels despatched, one already written back
    order = entry(
        Stage.PART_SHIPPED,
        times={"submitted": 0},
        despatched={"p1": at(100).isoformat(), "p2": at(130).isoformat()},
        shipments={"p1": {"applied_at": at(105).isoformat(), "despatched_at": at(100).isoformat()}},
    )
    # When 61 minutes have passed since the second despatch
    breaches = stalled(order, SLA, at(191))
    # Then only the parcel still waiting is reported, and the at-warehouse rule no longer applies
    assert [(b.stage, b.since) for b in breaches] == [(MonitorStage.SHIPPED, at(130))]
    assert "p2" in breaches[0].detail
    assert stalled(order, SLA, at(190)) == []


def test_closed_order_is_never_stalled() -> None:
    order = entry(Stage.SHIPPED, times={"submitted": 0}, closed=True, despatched={"p1": at(1).isoformat()})
    assert stalled(order, SLA, at(10_000)) == []


def test_mismatch_checks_pick_old_enough_orders_least_recently_read_first_up_to_the_cap() -> None:
    # Given four open orders at the warehouse: too young, read recently, never read, read long ago
    young = entry(Stage.SUBMITTED, "k-young", warehouse_order_id="1", times={"submitted": 200})
    fresh = entry(
        Stage.SUBMITTED, "k-fresh", warehouse_order_id="2", times={"submitted": 0}, checked_at=at(200).isoformat()
    )
    never = entry(Stage.SUBMITTED, "k-never", warehouse_order_id="3", times={"submitted": 10})
    stale = entry(
        Stage.PART_SHIPPED, "k-stale", warehouse_order_id="4", times={"submitted": 0}, checked_at=at(5).isoformat()
    )
    released = entry(Stage.RELEASED, "k-released", times={"released": 0})
    # When the monitor chooses at minute 240 with a cap of two reads
    chosen = due_for_check([young, fresh, never, stale, released], CHECKS, at(240))
    # Then the one read longest ago goes first, then the never-read one; the rest wait for later runs
    assert [e.order_key for e in chosen] == ["k-stale", "k-never"]
    # When a listing answers them, the cap is the listing's / Then every due order, still least recently read first
    listed = due_for_check([young, fresh, never, stale, released], CHECKS, at(240), limit=100)
    assert [e.order_key for e in listed] == ["k-stale", "k-never"]
    assert (
        len(
            due_for_check(
                [entry(Stage.SUBMITTED, f"k{n}", warehouse_order_id=str(n), times={"submitted": n}) for n in range(5)],
                CHECKS,
                at(240),
                limit=4,
            )
        )
        == 4
    )


def test_the_listing_starts_before_the_earliest_submission_of_the_due_orders() -> None:
    # Given two due orders submitted at minutes 10 and 30
    due = [
        entry(Stage.SUBMITTED, "k1", warehouse_order_id="1", times={"submitted": 30}),
        entry(Stage.SUBMITTED, "k2", warehouse_order_id="2", times={"submitted": 10}),
    ]
    # When the listing's start is chosen with a 5-minute overlap / Then it shows both; nothing due, no listing
    assert listing_since(due, timedelta(minutes=5)) == at(5)
    assert listing_since([], timedelta(minutes=5)) is None


def test_order_missing_or_cancelled_at_the_warehouse_is_a_mismatch() -> None:
    order = entry(Stage.SUBMITTED, warehouse_order_id="42", times={"submitted": 0})
    missing = mismatch(order, None, CHECKS, at(120))
    cancelled = mismatch(
        order, WarehouseOrderRef(warehouse_order_id="42", client_reference="R", status="cancelled"), CHECKS, at(120)
    )
    assert missing is not None and missing.kind == MismatchKind.MISSING_AT_WAREHOUSE
    assert cancelled is not None and cancelled.kind == MismatchKind.CANCELLED_AT_WAREHOUSE


def test_despatched_long_ago_with_nothing_written_back_is_a_mismatch_but_a_recent_despatch_is_not() -> None:
    order = entry(Stage.SUBMITTED, warehouse_order_id="42", times={"submitted": 0})
    observed = WarehouseOrderRef(warehouse_order_id="42", client_reference="R", status="despatched", updated_at=at(120))
    assert mismatch(order, observed, CHECKS, at(120 + 90)) is None
    found = mismatch(order, observed, CHECKS, at(120 + 91))
    assert found is not None and found.kind == MismatchKind.DESPATCHED_NOT_WRITTEN_BACK


@pytest.mark.parametrize("status", ["new", "awaiting_picking", "picking", "packed", "on_hold"])
def test_warehouse_working_on_an_open_order_agrees_with_the_ledger(status: str) -> None:
    order = entry(Stage.SUBMITTED, warehouse_order_id="42", times={"submitted": 0})
    observed = WarehouseOrderRef(warehouse_order_id="42", client_reference="R", status=status, updated_at=at(1))
    assert mismatch(order, observed, CHECKS, at(10_000)) is None
