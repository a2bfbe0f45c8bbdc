"""The commercetools -> Scend sandbox day, end to end on the vendor's mock and the Scend simulator: faults
at Scend and repeated messages, and every order accounted for at the platforms, no unit oversold, every
parcel back on its order once."""

from __future__ import annotations

import pytest

from sandbox.scenario import Options, failures, run_day
from sandbox.simulators.commercetools import node_mocks_required, unavailable_reason

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _mock_available() -> None:
    reason = unavailable_reason()
    if reason:
        if node_mocks_required():
            pytest.fail(f"HOPLINE_REQUIRE_NODE_MOCKS=1 but {reason}")
        pytest.skip(reason)


def test_a_faulty_commercetools_day_releases_each_paid_order_once_and_oversells_nothing() -> None:
    # Given a short day (orders over 20 minutes, parcels back within two and a half hours) where a tenth of
    # Scend's calls meet a fault and a fifth of the shop's messages arrive twice
    options = Options(
        client="example-commercetools-scend",
        orders=14,
        fault_rate=0.1,
        duplicate_rate=0.2,
        seed=5,
        day_hours=0.35,
        follow_up_hours=2.3,
        split_rate=0.5,
        late_parcel_hours=0.2,
    )
    summary = run_day(options).summary
    # Then every order is where it should be, judged at Scend and in commercetools
    assert failures(summary) == [], summary["unexpected"]
    assert summary["as_expected"] == summary["orders_placed"] == 14
    assert sum(summary["accounted_for"].values()) == 14 and "not_as_expected" not in summary["accounted_for"]
    assert summary["lost"] == summary["duplicate_scend_orders"] == summary["bad_orders_at_scend"] == 0
    # And no storefront figure was ever above Scend's free units less what the shop accepted and Scend lacks
    assert summary["stock_checks"] > 100 and summary["oversold_checks"] == 0
    assert summary["stock_figures_changed"] > 0
    # And every Scend parcel is a delivery on its order, once
    assert (
        summary["shipments_acknowledged"] + summary["shipments_in_flight_at_end"] == summary["despatches_at_scend"] > 0
    )
    assert summary["duplicate_deliveries"] == summary["lines_over_delivered"] == 0
    # And the day had what it claims: repeats and faults absorbed, bad orders quarantined, a cancel decided
    assert summary["messages"]["duplicates_delivered"] > 0
    assert sum(summary["faults_injected"]["scend"].values()) > 0 and summary["faults_injected"]["commercetools"] == {}
    assert summary["quarantined"] and summary["cancels_requested"] > 0
    # And the figures for the closing note: latency on the virtual clock, calls against the least per order
    latency = summary["message_to_scend_seconds"]
    assert 0 <= latency["p50"] <= latency["p95"] < 600
    calls = summary["api_calls"]
    for platform, least in calls["minimum_per_order"].items():
        assert calls["per_released_order"][platform] >= least
