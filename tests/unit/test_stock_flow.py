"""Available-to-sell, deltas and drift as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import StockBuffer, StockPipeline
from shared.flows.stock import (
    AcceptedOrder,
    DeltaAction,
    PushedState,
    available_to_sell,
    decide_delta,
    demand_by_sku,
    drift,
    in_flight_at,
    pushed_drift,
    sellable,
)
from shared.models.stock import StockRow

CONFIG = StockPipeline(
    from_="cin7", to="scend", locations={"Scend UK": "3", "Overflow": "3"}, drift_location="Scend UK"
)


def row(sku: str = "TEE-BLK-M", location: str = "Scend UK", available: str = "10", **extra: str) -> StockRow:
    return StockRow(
        sku=sku, location=location, available=Decimal(available), **{k: Decimal(v) for k, v in extra.items()}
    )


def test_available_not_on_hand_and_excluded_locations_ignored() -> None:
    rows = [row(available="10", on_hand="14", allocated="4"), row(location="Retail Store", available="50")]
    [figure] = available_to_sell(rows, CONFIG)
    assert (figure.sku, figure.location, figure.quantity) == ("TEE-BLK-M", "3", 10)
    assert "Retail Store excluded (50)" in figure.explanation
    assert figure.explanation.endswith("-> 10")


def test_reserved_quarantined_and_damaged_units_are_not_sold() -> None:
    [figure] = available_to_sell([row(available="20", reserved="1", quarantined="2", damaged="3")], CONFIG)
    assert figure.quantity == 14
    assert "reserved 1 - quarantined 2 - damaged 3" in figure.explanation


def test_mapped_locations_are_summed_into_their_target_location() -> None:
    [figure] = available_to_sell([row(available="4"), row(location="Overflow", available="5")], CONFIG)
    assert figure.quantity == 9


def test_an_oversold_location_does_not_eat_another_locations_stock() -> None:
    [figure] = available_to_sell([row(available="-3"), row(location="Overflow", available="5")], CONFIG)
    assert figure.quantity == 5


def test_buffer_units_and_percent_with_per_sku_override() -> None:
    config = CONFIG.model_copy(
        update={"buffer": StockBuffer(units=1, percent=10), "sku_buffers": {"CAP": StockBuffer(units=5)}}
    )
    by_sku = {f.sku: f for f in available_to_sell([row(available="21"), row(sku="CAP", available="7")], config)}
    assert by_sku["TEE-BLK-M"].quantity == 21 - 1 - 3  # 10% of 21 rounds up to 3
    assert by_sku["CAP"].quantity == 2
    assert "(SKU override)" in by_sku["CAP"].explanation


def test_in_flight_demand_and_never_below_zero() -> None:
    [figure] = available_to_sell([row(available="3")], CONFIG, in_flight={"TEE-BLK-M": Decimal(5)})
    assert figure.quantity == 0
    assert "in flight 5" in figure.explanation


def test_fractional_units_round_down_and_caps_apply() -> None:
    [figure] = available_to_sell([row(available="7.5")], CONFIG)
    assert figure.quantity == 7
    [capped] = available_to_sell([row(available="7")], CONFIG, caps={"TEE-BLK-M": 4})
    assert capped.quantity == 4 and "capped at the warehouse's 4" in capped.explanation


def test_sku_only_at_excluded_locations_gets_no_figure() -> None:
    assert available_to_sell([row(location="Retail Store")], CONFIG) == []


@given(
    rows=st.lists(
        st.builds(
            StockRow,
            sku=st.sampled_from(["A", "B"]),
            location=st.sampled_from(["Scend UK", "Overflow", "Retail Store"]),
            available=st.decimals(-50, 500, places=2),
            quarantined=st.decimals(0, 20, places=0),
            damaged=st.decimals(0, 20, places=0),
        ),
        max_size=12,
    ),
    percent=st.floats(0, 50),
    units=st.integers(0, 10),
)
def test_ats_never_negative_never_above_the_sum_of_included_sellable(
    rows: list[StockRow], percent: float, units: int
) -> None:
    config = CONFIG.model_copy(update={"buffer": StockBuffer(units=units, percent=percent)})
    for figure in available_to_sell(rows, config):
        ceiling = sum((sellable(r) for r in rows if r.sku == figure.sku and r.location != "Retail Store"), Decimal(0))
        assert 0 <= figure.quantity <= ceiling


T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("new", "last", "confirm", "expected"),
    [
        (5, None, True, (DeltaAction.PUSH, 5, None)),  # never pushed: publish
        (5, PushedState(5), True, (DeltaAction.UNCHANGED, 5, None)),
        (3, PushedState(5), True, (DeltaAction.PUSH, 3, None)),  # decreases at once
        (3, PushedState(5, pending_increase=9, pending_since=T0), True, (DeltaAction.PUSH, 3, None)),
        (8, PushedState(5), False, (DeltaAction.PUSH, 8, None)),
        (8, PushedState(5), True, (DeltaAction.AWAIT_CONFIRMATION, 5, 8)),  # first sight of an increase
        (8, PushedState(5, pending_increase=8, pending_since=T0), True, (DeltaAction.PUSH, 8, None)),  # confirmed
        (7, PushedState(5, pending_increase=9, pending_since=T0), True, (DeltaAction.PUSH, 7, None)),  # the lower
        (9, PushedState(5, pending_increase=7, pending_since=T0), True, (DeltaAction.PUSH, 7, 9)),  # 7 now, 9 waits
    ],
)
def test_delta_decisions(
    new: int, last: PushedState | None, confirm: bool, expected: tuple[DeltaAction, int, int | None]
) -> None:
    delta = decide_delta(new, last, confirm_increases=confirm, observed_at=LATER, confirm_after_seconds=300)
    assert (delta.action, delta.quantity, delta.pending_increase) == expected


def test_force_pushes_even_when_unchanged() -> None:
    delta = decide_delta(5, PushedState(5), confirm_increases=True, observed_at=T0, force=True)
    assert delta.action == DeltaAction.PUSH


def test_the_same_reading_seen_twice_never_confirms_itself() -> None:
    """A redelivered message or a repeated webhook carries the same reading: no confirmation."""
    first = decide_delta(500, PushedState(5), confirm_increases=True, observed_at=T0, confirm_after_seconds=300)
    assert first.action == DeltaAction.AWAIT_CONFIRMATION and first.pending_since == T0
    state = PushedState(5, pending_increase=first.pending_increase, pending_since=first.pending_since)
    again = decide_delta(500, state, confirm_increases=True, observed_at=T0, confirm_after_seconds=300)
    assert again.action == DeltaAction.AWAIT_CONFIRMATION
    soon = decide_delta(
        500, state, confirm_increases=True, observed_at=T0 + timedelta(seconds=60), confirm_after_seconds=300
    )
    assert soon.action == DeltaAction.AWAIT_CONFIRMATION and soon.pending_since == T0


def test_a_transient_spike_is_never_pushed() -> None:
    spike = decide_delta(50, PushedState(5), confirm_increases=True, observed_at=T0, confirm_after_seconds=300)
    assert spike.action == DeltaAction.AWAIT_CONFIRMATION
    state = PushedState(5, pending_increase=spike.pending_increase, pending_since=spike.pending_since)
    after = decide_delta(5, state, confirm_increases=True, observed_at=LATER, confirm_after_seconds=300)
    assert after.action == DeltaAction.UNCHANGED


def test_drift_nets_off_orders_not_yet_at_the_warehouse() -> None:
    master = [row(sku="A", available="8"), row(sku="B", available="10"), row(sku="C", available="4")]
    warehouse = [
        row(sku="A", location="3", available="10"),
        row(sku="B", location="3", available="10", damaged="5"),
        row(sku="C", location="3", available="4"),
    ]
    items = {i.sku: i for i in drift(master, warehouse, awaiting_warehouse={"A": Decimal(2)}, threshold=2)}
    assert "A" not in items and "C" not in items  # A: 10 at the warehouse, 2 of them promised to orders on the way
    assert items["B"].difference == -5 and items["B"].flagged


def test_drift_below_threshold_is_reported_not_flagged() -> None:
    [item] = drift([row(available="5")], [row(location="3", available="4")], awaiting_warehouse={}, threshold=2)
    assert item.difference == -1 and not item.flagged


def test_pushed_drift_compares_the_figure_the_push_writes_not_the_raw_free_level() -> None:
    # Given a warehouse master (free 20, 2 quarantined, 1 damaged; B with a 2-unit buffer) and a target
    # holding what the push wrote: A 17, B 8 less the 3 units of an order the warehouse has not allocated
    config = StockPipeline(
        from_="scend", to="shop", locations={"3": "3"}, drift_location="3", sku_buffers={"B": StockBuffer(units=2)}
    )
    master = [row(sku="A", location="3", available="20", quarantined="2", damaged="1"), row(sku="B", location="3")]
    target = [row(sku="A", location="3", available="17"), row(sku="B", location="3", available="5")]
    # Then nothing drifts once the pending units are netted as the target's write nets them
    assert pushed_drift(master, target, config, location="3", threshold=0, pending={"B": 3}) == []
    # And without them B is 3 short of what the push would write
    [item] = pushed_drift(master, target, config, location="3", threshold=2)
    assert (item.sku, item.master, item.warehouse, item.difference, item.flagged) == ("B", 8, 5, -3, True)


def test_demand_by_sku_sums_lines() -> None:
    assert demand_by_sku([{"A": Decimal(1)}, {"A": Decimal(2), "B": Decimal(1)}]) == {"A": 3, "B": 1}


def test_in_flight_at_a_snapshot_counts_orders_the_figure_predates() -> None:
    snapshot = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    orders = [
        AcceptedOrder({"A": Decimal(2)}, None),  # on its way
        AcceptedOrder({"A": Decimal(3)}, snapshot + timedelta(seconds=5)),  # reached the master after the read
        AcceptedOrder({"A": Decimal(7)}, snapshot - timedelta(seconds=5)),  # in the figure already
        AcceptedOrder({"B": Decimal(1)}, snapshot),  # reached it as the read began: in the figure
    ]
    assert in_flight_at(orders, snapshot) == {"A": Decimal(5)}
    # Without a snapshot time only the orders still on their way count
    assert in_flight_at(orders, None) == {"A": Decimal(2)}
