"""The SFCC -> Cin7 Core sandbox day, end to end: faults and repeated listings, and every order accounted for
at the platforms, with Cin7 totals equal to SFCC's to the minor unit; Cin7 shipments, stock, products and
prices judged at SFCC; a load-shedding window slowing the release poll."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.scenario import Options, failures, run_day

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """One faulty day for the module (the suite stays fast): half an hour of trading and 20 minutes after,
    a tenth of platform calls meeting a fault and a fifth of claims refused."""
    options = Options(
        client="example-sfcc-cin7",
        orders=16,
        fault_rate=0.1,
        duplicate_rate=0.2,
        seed=4,
        day_hours=0.5,
        follow_up_hours=0.3,
    )
    return run_day(options).summary


def test_a_faulty_sfcc_day_posts_each_order_once_with_the_shops_totals(summary: dict[str, Any]) -> None:
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
    # And every configured pipeline had its part of the day
    assert summary["pipelines_without_a_day_phase"] == []
    per_flow = summary["cin7_calls_per_posted_order_by_flow"]
    assert {"orders", "shipments", "stock", "catalogue", "monitor"} <= set(per_flow)
    assert sum(per_flow.values()) == pytest.approx(summary["cin7_budget"]["per_released_order"], abs=0.01)


def test_the_sfcc_day_ships_moves_stock_and_syncs_products_judged_at_the_site(summary: dict[str, Any]) -> None:
    # Then every box Cin7 shipped is at SFCC once: shipping-status, c_ tracking, completed when whole
    assert summary["sales_shipped"] >= 3 and summary["sales_shipped_in_two_boxes"] >= 1
    assert summary["shipments_lost"] == summary["shipments_applied_twice"] == summary["shipment_orders_wrong"] == 0
    assert summary["shipment_orders_as_expected"] == summary["sales_shipped"]
    # And SFCC never sold more than Cin7 has, less the buffer, at any check point; the figures are there
    assert summary["oversold_units"] == 0 and summary["stock_check_points"] > 30
    assert summary["stock_deltas_pushed"] > 0 and summary["stock_events_sent"] > 0
    assert summary["stock_events_missed"] > 0 and sum(summary["stock_incidents"].values()) >= 3
    assert summary["cin7_calls_per_changed_sku"] > 0 and summary["sfcc_calls_per_changed_sku"] > 0
    # And new SKUs reached SFCC only after Cin7 had them, offline, and sold once their stock was written
    assert summary["new_skus_created_in_cin7"] == summary["new_skus_at_the_site"] == summary["new_skus_sellable"] == 2
    assert summary["new_sku_problems"] == []
    # And fields SFCC owns, edited there mid-day, were never overwritten; the one Cin7 owns was synced
    assert summary["site_owned_fields_edited"] == 2 and summary["site_owned_fields_overwritten"] == 0
    assert summary["cin7_owned_field_synced"] is True
    # And each price tier change reached its book in its currency, and only changes were written
    assert summary["price_tier_changes"] > 0 and summary["price_books_wrong"] == 0
    assert summary["price_writes_not_a_change"] == 0
    assert 0 < summary["price_writes_for_changes"] <= summary["price_tier_changes"]
    # And while the site answered THROTTLE the release poll ran less often than outside the window
    load = summary["sfcc_load_shedding"]
    assert load["release_polls_in_window"] > 0
    assert load["release_polls_per_hour_in_window"] < load["release_polls_per_hour_outside"]
