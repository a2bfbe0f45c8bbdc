"""Reservation-aware figures: accepted orders the warehouse does not hold yet come off its free figure."""

from __future__ import annotations

from shared.flows.reservations import AcceptedLine, net_figure, pending_units


def line(sku: str = "TEE", qty: int = 2, location: str | None = "WH1", **flags: bool) -> AcceptedLine:
    return AcceptedLine(
        sku=sku,
        quantity=qty,
        location=location,
        at_warehouse=flags.get("at_warehouse", False),
        cancelled=flags.get("cancelled", False),
    )


def test_only_open_lines_of_the_sku_at_the_location_not_yet_at_the_warehouse_count() -> None:
    lines = [
        line(qty=2),
        line(qty=3, at_warehouse=True),  # allocated there: already out of the free figure
        line(qty=4, cancelled=True),
        line(sku="CAP", qty=5),
        line(qty=6, location="WH2"),
    ]
    assert pending_units(lines, "TEE", "WH1", sole_location=False) == 2
    assert pending_units(lines, "TEE", "WH2", sole_location=False) == 6


def test_a_line_naming_no_location_counts_only_where_there_is_one_location() -> None:
    lines = [line(qty=3, location=None)]
    assert pending_units(lines, "TEE", "WH1", sole_location=True) == 3
    assert pending_units(lines, "TEE", "WH1", sole_location=False) == 0


def test_the_figure_never_goes_below_zero_and_a_snapshot_does_not_reinflate() -> None:
    assert net_figure(10, 3) == 7
    assert net_figure(2, 5) == 0
    assert net_figure(4, 0) == 4
