"""What every sandbox day must show, judged from the platforms' truth."""

from __future__ import annotations

from sandbox.scenario import failures


def assert_healthy(summary: dict) -> None:
    # Judged from the platforms: every sale where it should be, as the source has it
    assert failures(summary) == [], summary["unexpected"]
    assert summary["lost"] == 0 and summary["in_dlq"] == 0, summary["unexpected"]
    assert summary["duplicate_warehouse_orders"] == 0
    assert summary["wrong_outcome"] == 0 and summary["wrong_at_warehouse"] == 0, summary["unexpected"]
    assert summary["bad_orders_reached_warehouse"] == 0
    assert summary["as_expected"] == summary["orders_sent"]
    # Despatch: every despatch's tracking numbers on the Cin7 sale (a voided sale's refusal parked for
    # operations), none twice
    assert summary["duplicate_shipments_applied"] == 0
    assert summary["despatches_not_written_back"] == 0, summary["despatches_missing"]
    assert (
        summary["despatches_written_back"]
        + summary["despatches_refused_after_void"]
        + summary["despatches_after_last_poll"]
        == summary["shipments_seen"]
    )
    assert summary["orders_closed"] == summary["orders_shipped_in_full"]
