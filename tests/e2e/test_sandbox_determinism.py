"""A seeded sandbox day is reproducible, and its order counts add up."""

from __future__ import annotations

import pytest

from sandbox.scenario import Options, run_day

pytestmark = pytest.mark.e2e


def test_one_seed_gives_the_same_summary_twice_and_the_orders_add_up() -> None:
    # Given a small faulty day with duplicates, run twice with one seed
    options = Options(
        orders=15, fault_rate=0.2, duplicate_rate=0.1, seed=3, day_hours=1, follow_up_hours=1, late_parcel_hours=0.8
    )
    first, second = run_day(options).summary, run_day(options).summary
    # Then the summaries are identical, key for key
    assert first == second
    # And every order received is counted once: released + held + skipped + quarantined + cancelled
    orders = first["orders"]
    assert orders["received"] == first["orders_received"] == 15
    assert orders["received"] == sum(orders[k] for k in orders if k != "received")
    assert sum(first["quarantined"].values()) == orders["quarantined"] == first["quarantined_total"]


def test_one_seed_gives_the_same_sfcc_day_twice() -> None:
    # Given a small faulty SFCC -> Cin7 Core day with refused claims, run twice with one seed
    options = Options(
        client="example-sfcc-cin7",
        orders=8,
        fault_rate=0.2,
        duplicate_rate=0.2,
        seed=6,
        day_hours=0.25,
        follow_up_hours=0.25,
    )
    first, second = run_day(options).summary, run_day(options).summary
    # Then the summaries are identical, key for key, and the ledger counts every order once
    assert first == second
    assert first["orders"]["received"] == sum(v for k, v in first["orders"].items() if k != "received") == 8


def test_one_seed_gives_the_same_commercetools_day_twice() -> None:
    from sandbox.simulators.commercetools import node_mocks_required, unavailable_reason

    reason = unavailable_reason()
    if reason:
        if node_mocks_required():
            pytest.fail(f"HOPLINE_REQUIRE_NODE_MOCKS=1 but {reason}")
        pytest.skip(reason)
    # Given a small faulty commercetools -> Scend day with repeated messages, run twice with one seed
    options = Options(
        client="example-commercetools-scend",
        orders=6,
        fault_rate=0.2,
        duplicate_rate=0.3,
        seed=6,
        day_hours=0.2,
        follow_up_hours=0.3,
    )
    first, second = run_day(options).summary, run_day(options).summary
    # Then the summaries are identical, key for key (the mock's ids are sequential, its clock the day's)
    assert first == second
    assert first["orders_placed"] == sum(first["accounted_for"].values()) == 6
    assert sum(first["faults_injected"]["scend"].values()) > 0
