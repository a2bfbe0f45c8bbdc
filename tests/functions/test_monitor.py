"""The order monitor hop on moto: stalled orders open and close their own exceptions; mismatches are found."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.stores.exceptions import ExceptionStatus
from shared.stores.ledger import Stage
from tests.functions.conftest import Harness


def emitted(harness: Harness) -> dict[str, Any]:
    """Metric values from the EMF lines the last invocation printed (what CloudWatch would receive)."""
    values: dict[str, Any] = {}
    for line in harness.local.log.getvalue().splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                key = metric["Name"] if "stage" not in record else f"{metric['Name']}[{record['stage']}]"
                value = record[metric["Name"]]
                values[key] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return values


def monitor(harness: Harness) -> dict[str, Any]:
    result = harness.local.run_schedule("monitor_orders")
    assert result is not None
    return result


def released_not_submitted(harness: Harness, number: str = "SO-1") -> str:
    """A sale taken in and released; its submit message waits in the queue (the warehouse never sees it)."""
    sale_id = harness.add_sale(number)
    assert harness.webhook(sale_id)[0] == 202
    [intake] = harness.queue_bodies("order-intake")
    harness.invoke("order_intake", harness.sqs_event(intake))
    return f"cin7_core#{sale_id.lower()}"


def test_an_order_ready_but_not_at_the_warehouse_after_its_sla_is_flagged_then_cleared_when_it_arrives(
    harness: Harness,
) -> None:
    # Given an order released whose submit has not happened
    key = released_not_submitted(harness)
    # When the monitor runs within the 15-minute SLA / Then nothing is flagged
    harness.clock.advance(15 * 60)
    assert monitor(harness)["stalled"] == 0
    assert emitted(harness)["StalledOrders"] == 0.0
    # When a minute more passes
    harness.clock.advance(61)
    result = monitor(harness)
    # Then one stalled order, one exception owned by operations with the order as business key, and the gauge
    assert (result["stalled"], result["stalled_opened"]) == (1, 1)
    assert emitted(harness)["StalledOrders"] == 1.0
    [record] = [e for e in harness.rt.exceptions.list() if e.reason == "order_stalled"]
    assert (record.team.value, record.business_key, record.attempts) == ("operations", key, 1)
    assert "released" in record.detail
    # When it runs again while the order is still stuck / Then the same exception, not a new attempt
    monitor(harness)
    assert harness.rt.exceptions.get(record.id).attempts == 1
    # When the order reaches the warehouse and the monitor runs
    harness.local.drain()
    assert harness.rt.ledger.get(key).stage == Stage.SUBMITTED
    result = monitor(harness)
    # Then the exception resolves by itself and the gauge drops to zero
    assert (result["stalled"], result["stalled_resolved"]) == (0, 1)
    resolved = harness.rt.exceptions.get(record.id)
    assert resolved.status == ExceptionStatus.RESOLVED
    assert resolved.resolved_by == "stall_monitor:moved_on"
    assert emitted(harness)["StalledOrders"] == 0.0


def test_a_despatch_never_written_back_is_flagged_from_the_noted_despatch(harness: Harness) -> None:
    # Given an order at the warehouse that ships, whose parcel is polled but never applied (write-back queue stuck)
    sale_id = harness.add_sale("SO-2")
    harness.webhook(sale_id)
    harness.local.drain()
    key = f"cin7_core#{sale_id.lower()}"
    [parcel] = harness.scend.ship_now(int(harness.rt.ledger.get(key).warehouse_order_id))
    harness.local.run_schedule("poll_despatches")
    assert list(harness.rt.ledger.get(key).despatched) == [str(parcel["DespatchId"])]
    # When the write-back SLA (60 min) passes
    harness.clock.advance(61 * 60)
    monitor(harness)
    # Then the order is stalled at "shipped"
    [record] = [e for e in harness.rt.exceptions.list() if e.reason == "order_stalled"]
    assert record.detail.startswith("shipped:") and str(parcel["DespatchId"]) in record.detail
    # When the write-back happens / Then the order is closed and the exception resolved
    harness.local.drain()
    result = monitor(harness)
    assert result["stalled_resolved"] == 1


def scend_reads(harness: Harness) -> dict[str, int]:
    """Scend calls so far: the listing of changed orders, and reads of one order."""
    requests = harness.scend.requests.items()
    return {
        "listings": sum(c for route, c in requests if route == "GET /api/order/list"),
        "one_order": sum(c for route, c in requests if re.fullmatch(r"GET /api/order/\d+", route)),
    }


def at_warehouse(harness: Harness, *numbers: str) -> list[str]:
    """Sales taken in and submitted to Scend; their order keys."""
    keys = []
    for number in numbers:
        sale_id = harness.add_sale(number)
        harness.webhook(sale_id)
        keys.append(f"cin7_core#{sale_id.lower()}")
    harness.local.drain()
    return keys


def test_an_order_cancelled_at_the_warehouse_is_a_mismatch_and_reads_are_bounded(harness: Harness) -> None:
    # Given three orders at the warehouse for over an hour, one of them cancelled there by hand
    keys = at_warehouse(harness, "SO-3", "SO-4", "SO-5")
    cancelled = harness.rt.ledger.get(keys[1])
    harness.scend.set_status(int(cancelled.warehouse_order_id), 3)
    harness.clock.advance(61 * 60)
    before = scend_reads(harness)
    # When the monitor runs
    result = monitor(harness)
    # Then each open order was checked from one listing of changed orders (no read of one order), and only the
    # cancelled one is a mismatch, owned by operations
    assert (result["mismatch_checked"], result["mismatch_reads"]) == (3, 1)
    assert scend_reads(harness) == {"listings": before["listings"] + 1, "one_order": before["one_order"]}
    [record] = [e for e in harness.rt.exceptions.list() if e.reason == "order_mismatch"]
    assert record.business_key == keys[1]
    assert record.detail.startswith("cancelled_at_warehouse")
    assert emitted(harness)["OrderMismatches"] == 1.0
    # When it runs again fifteen minutes later / Then no order is due before the recheck interval: no call at all
    harness.clock.advance(15 * 60)
    result = monitor(harness)
    assert (result["mismatch_checked"], result["mismatch_reads"]) == (0, 0)
    assert scend_reads(harness) == {"listings": before["listings"] + 1, "one_order": before["one_order"]}
    assert emitted(harness)["OrderMismatches"] == 1.0


@pytest.mark.parametrize("open_orders", [2, 12])
def test_the_mismatch_check_costs_one_warehouse_call_per_run_however_many_orders_are_open(
    harness: Harness, open_orders: int
) -> None:
    # Given N orders at the warehouse for over an hour, one of them despatched there with nothing written back
    keys = at_warehouse(harness, *(f"SO-{20 + n}" for n in range(open_orders)))
    harness.scend.set_status(int(harness.rt.ledger.get(keys[-1]).warehouse_order_id), 4)
    harness.clock.advance(121 * 60)
    before = sum(harness.scend.requests.values())
    # When the monitor runs
    result = monitor(harness)
    # Then every open order is checked with one call, whatever N is, and the despatched one is flagged
    assert (result["mismatch_checked"], result["mismatch_reads"]) == (open_orders, 1)
    assert sum(harness.scend.requests.values()) - before == 1
    [record] = [e for e in harness.rt.exceptions.list() if e.reason == "order_mismatch"]
    assert (record.business_key, record.detail.split(":")[0]) == (keys[-1], "despatched_not_written_back")
    # When the recheck interval has passed / Then again one call for all of them
    harness.clock.advance(121 * 60)
    before = sum(harness.scend.requests.values())
    assert (monitor(harness)["mismatch_checked"], sum(harness.scend.requests.values()) - before) == (open_orders, 1)


def test_an_order_the_listing_does_not_show_is_read_alone_and_flagged_missing(harness: Harness) -> None:
    # Given two orders at the warehouse, the ledger holding one under an id the warehouse does not know
    keys = at_warehouse(harness, "SO-40", "SO-41")
    harness.rt.ledger.table.update_item(
        Key=harness.rt.ledger._key(keys[0]),
        UpdateExpression="SET warehouse_order_id = :id",
        ExpressionAttributeValues={":id": "999999"},
    )
    harness.clock.advance(61 * 60)
    before = scend_reads(harness)
    # When the monitor runs
    result = monitor(harness)
    # Then the listing answers the known order; the unknown one is read alone, and flagged missing
    assert (result["mismatch_checked"], result["mismatch_reads"]) == (2, 2)
    assert scend_reads(harness) == {"listings": before["listings"] + 1, "one_order": before["one_order"] + 1}
    [record] = [e for e in harness.rt.exceptions.list() if e.reason == "order_mismatch"]
    assert (record.business_key, record.detail.split(":")[0]) == (keys[0], "missing_at_warehouse")


def test_exceptions_raised_since_the_last_run_are_counted_once(harness: Harness) -> None:
    # Given a sale with a postcode that does not exist, quarantined by intake
    sale_id = harness.add_sale(
        "SO-6",
        address={
            "Line1": "1 High St",
            "City": "Leeds",
            "Postcode": "ZZ99 9ZZZ",
            "Country": "United Kingdom",
            "Contact": "Jo Smith",
        },
    )
    harness.webhook(sale_id)
    harness.local.drain()
    # When the monitor runs, and again fifteen minutes later
    first = monitor(harness)
    harness.clock.advance(15 * 60)
    second = monitor(harness)
    # Then the quarantine is counted in the first run only (the quarantine-rate alarm sums these)
    assert (first["exceptions_raised"], second["exceptions_raised"]) == (1, 0)
    assert emitted(harness)["ExceptionsRaised"] == 0.0


def test_hops_that_complete_a_stage_report_its_latency(harness: Harness) -> None:
    # Given an order taken in, released and created at the warehouse, then shipped 2 hours later
    sale_id = harness.add_sale("SO-7")
    harness.webhook(sale_id)
    [intake] = harness.queue_bodies("order-intake")
    harness.clock.advance(30)
    harness.invoke("order_intake", harness.sqs_event(intake))
    release = emitted(harness)["StageLatencySeconds[release]"]
    harness.clock.advance(45)
    [submit] = harness.queue_bodies("order-submit")
    harness.invoke("order_submit", harness.sqs_event(submit))
    submitted = emitted(harness)["StageLatencySeconds[submit]"]
    key = f"cin7_core#{sale_id.lower()}"
    harness.clock.advance(2 * 3600)
    harness.scend.ship_now(int(harness.rt.ledger.get(key).warehouse_order_id))
    harness.local.run_schedule("poll_despatches")
    harness.clock.advance(600)
    [parcel] = harness.queue_bodies("shipment-writeback")
    harness.invoke("apply_shipment", harness.sqs_event(parcel))
    shipped = emitted(harness)
    # Then each hop printed its own stage's seconds, with the stage as a dimension
    assert release == 0.0  # received by intake -> released: intake's own read and decision (no virtual time)
    assert submitted == 45.0
    assert shipped["StageLatencySeconds[ship]"] == pytest.approx(2 * 3600, abs=5)
    assert shipped["StageLatencySeconds[writeback]"] == pytest.approx(600, abs=5)


def test_orders_waiting_for_the_target_are_counted_with_the_oldest_wait_and_the_gauge_falls_when_they_go(
    harness: Harness,
) -> None:
    # Given two orders released whose submits wait (as behind an exhausted budget), four minutes apart
    released_not_submitted(harness, "SO-1")
    harness.clock.advance(240)
    released_not_submitted(harness, "SO-2")
    harness.clock.advance(60)
    # When the monitor runs
    result = monitor(harness)
    # Then both are counted and the oldest has waited five minutes, as the gauges the backlog alarm watches
    assert (result["orders_waiting"], result["orders_oldest_wait_seconds"]) == (2, 300)
    assert (emitted(harness)["OrdersWaiting"], emitted(harness)["OrdersOldestWaitSeconds"]) == (2.0, 300.0)
    # When the submits run / Then nothing waits
    harness.local.drain()
    result = monitor(harness)
    assert (result["orders_waiting"], result["orders_oldest_wait_seconds"]) == (0, 0)
