"""The SFCC -> Cin7 Core sandbox day, end to end: faults and repeated listings, and every order accounted for
at the platforms, with Cin7 totals equal to SFCC's to the minor unit."""

from __future__ import annotations

import pytest

from sandbox.scenario import Options, failures, run_day

pytestmark = pytest.mark.e2e


def test_a_faulty_sfcc_day_posts_each_order_once_with_the_shops_totals() -> None:
    # Given a one-hour day where a tenth of platform calls meet a fault and a fifth of claims are refused
    options = Options(
        client="example-sfcc-cin7",
        orders=16,
        fault_rate=0.1,
        duplicate_rate=0.2,
        seed=4,
        day_hours=0.5,
        follow_up_hours=0.3,
    )
    summary = run_day(options).summary
    # Then every order is where it should be, judged at Cin7 and at the site
    assert failures(summary) == [], summary["unexpected"]
    assert summary["as_expected"] == summary["orders_placed"] == 16
    assert sum(summary["accounted_for"].values()) == 16 and "not_as_expected" not in summary["accounted_for"]
    assert summary["lost"] == summary["duplicate_sales"] == summary["sales_totals_differ"] == 0
    assert summary["export_status_wrong"] == 0 and summary["in_dlq"] == 0
    # And the day had what it claims: several currencies and both taxations, invalid orders, a cancel
    assert len(summary["orders_by_currency"]) >= 3 and set(summary["orders_by_taxation"]) == {"gross", "net"}
    assert summary["quarantined"] and summary["cancels_requested"] > 0
    # And the faults and refused claims really happened and were absorbed
    assert sum(summary["faults_injected"]["cin7_core"].values()) > 0 and summary["retries"]["http"] > 0
    assert summary["export_claims_refused"] > 0
    # And the figures for the closing note are there: latency on the virtual clock, the Cin7 budget
    assert 0 < summary["placed_to_sale_seconds"]["p50"] <= summary["placed_to_sale_seconds"]["p95"] < 600
    assert summary["cin7_budget"]["orders_per_hour_one_key"] == pytest.approx(
        3600 / summary["cin7_budget"]["per_released_order"], rel=0.01
    )
