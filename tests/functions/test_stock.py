"""Stock sync hops on moto against the simulators: ATS from Available, deltas only, events, drift."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3

from shared.stores.exceptions import ExceptionStatus
from tests.functions.conftest import GOOD_ADDRESS, Harness

WAREHOUSE = 3


def stock_round(harness: Harness) -> None:
    harness.clock.advance(15 * 60)  # the schedule's interval
    harness.local.run_schedule("read_stock")
    harness.local.drain(flush=True)


def channel(harness: Harness, sku: str) -> int | None:
    return harness.scend.channel_stock.get((sku, WAREHOUSE))


def seed(harness: Harness, sku: str = "TEE-WHT-L", units: int = 40, retail: int = 12) -> None:
    harness.cin7.add_product(sku, sku.title())
    harness.cin7.set_stock(sku, "Scend UK", units)
    harness.cin7.set_stock(sku, "Retail Store", retail)
    harness.scend.set_stock(sku, units, warehouse_id=WAREHOUSE)


def stock_event(harness: Harness, skus: list[str], *, secret: str = "hook-secret", body: str | None = None):
    header = harness.local.config.platforms["cin7"].webhook_header  # type: ignore[attr-defined]
    payload = body if body is not None else json.dumps(harness.cin7.stock_webhook_payload(skus), default=str)
    return harness.local.call_api("POST", "/webhooks/cin7/stock", headers={header: secret}, body=payload)


def test_schedule_pushes_available_less_buffer_from_included_locations_only(harness: Harness) -> None:
    # Given 40 available at the warehouse location and 12 in the shop
    seed(harness)
    # When the scheduled read runs
    stock_round(harness)
    # Then the warehouse channel gets 40 less a 5% buffer (2), never the shop's stock
    assert channel(harness, "TEE-WHT-L") == 38
    record = harness.rt.stock_levels.get("scend", "TEE-WHT-L", "3")
    assert record["quantity"] == 38
    assert "Retail Store excluded (12)" in record["explanation"] and "buffer 2" in record["explanation"]


def test_allocated_stock_is_not_sold_and_unchanged_figures_cost_no_call(harness: Harness) -> None:
    seed(harness)
    stock_round(harness)
    writes = harness.scend.channel_writes
    # A second read with nothing changed sends nothing
    stock_round(harness)
    assert harness.scend.channel_writes == writes
    # An authorised sale allocates 5: Available drops, and the decrease goes out at once
    harness.add_sale("SO-9", lines=[("TEE-WHT-L", 5, Decimal("10"))], address=dict(GOOD_ADDRESS))
    stock_round(harness)
    assert channel(harness, "TEE-WHT-L") == 33  # 35 less a 5% buffer rounded up


def test_an_increase_waits_for_the_next_read(harness: Harness) -> None:
    seed(harness)
    stock_round(harness)
    harness.cin7.adjust_stock("TEE-WHT-L", "Scend UK", 20)
    stock_round(harness)
    assert channel(harness, "TEE-WHT-L") == 38  # seen once: not yet
    stock_round(harness)
    assert channel(harness, "TEE-WHT-L") == 57  # seen twice: 60 less 3


def test_a_reversed_spike_is_never_pushed(harness: Harness) -> None:
    seed(harness)
    stock_round(harness)
    harness.cin7.adjust_stock("TEE-WHT-L", "Scend UK", 500)
    assert stock_event(harness, ["TEE-WHT-L"])[0] == 202
    harness.local.drain(flush=True)
    stock_event(harness, ["TEE-WHT-L"])  # Cin7 repeats the webhook: the same reading, no confirmation
    harness.local.drain(flush=True)
    assert channel(harness, "TEE-WHT-L") == 38
    harness.clock.advance(120)
    harness.cin7.adjust_stock("TEE-WHT-L", "Scend UK", -500)
    stock_event(harness, ["TEE-WHT-L"])
    harness.local.drain(flush=True)
    stock_round(harness)
    assert channel(harness, "TEE-WHT-L") == 38
    assert "pending_increase" not in harness.rt.stock_levels.get("scend", "TEE-WHT-L", "3")


def test_stock_webhook_authenticates_and_quarantines_malformed_bodies(harness: Harness) -> None:
    seed(harness)
    assert stock_event(harness, ["TEE-WHT-L"], secret="wrong")[0] == 401
    status, body = stock_event(harness, [], body='{"EventType": "Sale/OrderAuthorised"}')
    assert status == 202 and body["accepted"] is False
    [record] = [e for e in harness.rt.exceptions.list() if e.flow == "stock_sync"]
    assert record.reason.value == "payload_invalid" and record.payload_key
    # A good event re-reads the SKU and pushes it
    status, body = stock_event(harness, ["TEE-WHT-L"])
    assert (status, body["messages"]) == (202, 1)
    harness.local.drain(flush=True)
    assert channel(harness, "TEE-WHT-L") == 38


def test_target_refusal_is_an_exception_with_a_replay_message(harness: Harness) -> None:
    # Given a SKU Cin7 holds that the warehouse has never heard of
    harness.cin7.add_product("GHOST-1", "Ghost")
    harness.cin7.set_stock("GHOST-1", "Scend UK", 9)
    seed(harness)
    stock_round(harness)
    assert channel(harness, "TEE-WHT-L") == 38  # the rest of the batch went through
    [record] = [e for e in harness.rt.exceptions.list() if e.flow == "stock_sync"]
    assert record.reason.value == "stock_push_rejected" and record.team.value == "ecommerce"
    assert record.business_key == "sku#GHOST-1#3"
    assert record.replay_queue == "stock-sync" and record.replay_message["skus"] == ["GHOST-1"]


def test_drift_report_flags_warehouse_damage_caps_the_figure_then_clears(harness: Harness) -> None:
    seed(harness)
    seed(harness, "CAP-NVY-S", units=20, retail=0)
    stock_round(harness)
    # Given 6 units found damaged at the warehouse, which Cin7 does not know about
    harness.scend.set_stock("TEE-WHT-L", 40, damaged=6, warehouse_id=WAREHOUSE)
    # When reconcile runs
    result = harness.local.run_schedule("reconcile_stock")
    harness.local.drain(flush=True)
    # Then a dated report lists the SKU with both figures, an exception is open, and the figure is capped
    assert result["drift_skus"] == 1 and result["flagged"] == 1
    report = json.loads(
        boto3.client("s3")
        .get_object(Bucket=harness.local.runtime.archive.bucket, Key=result["report_key"])["Body"]
        .read()
    )
    [item] = report["drifting"]
    assert (item["sku"], item["master"], item["warehouse"], item["difference"], item["last_push"]) == (
        "TEE-WHT-L",
        "40",
        "34",
        "-6",
        38,
    )
    [record] = [e for e in harness.rt.exceptions.list() if e.flow == "stock_drift"]
    assert record.reason.value == "stock_drift" and record.payload_key == result["report_key"]
    assert channel(harness, "TEE-WHT-L") == 34
    # The cap holds through later scheduled reads
    stock_round(harness)
    stock_round(harness)
    assert channel(harness, "TEE-WHT-L") == 34
    # When Cin7 is corrected (a stock adjustment), the next reconcile resolves it and lifts the cap
    harness.cin7.adjust_stock("TEE-WHT-L", "Scend UK", -6)
    harness.local.run_schedule("reconcile_stock")
    harness.local.drain(flush=True)
    record = harness.rt.exceptions.get(record.id)
    assert record.status == ExceptionStatus.RESOLVED and record.resolved_by == "reconcile_stock"
    assert harness.rt.stock_levels.caps("scend", ["TEE-WHT-L"]) == {}
    assert channel(harness, "TEE-WHT-L") == 32  # 34 less a 5% buffer


def test_orders_not_yet_at_the_warehouse_are_not_drift(harness: Harness) -> None:
    seed(harness)
    stock_round(harness)
    # An authorised order held for a SKU the warehouse lacks: Cin7 allocated it, Scend has not seen it
    sale_id = harness.add_sale("SO-5", lines=[("TEE-WHT-L", 4, Decimal("10")), ("NOPE-1", 1, Decimal("5"))])
    harness.webhook(sale_id)
    harness.local.drain(flush=True)
    result = harness.local.run_schedule("reconcile_stock")
    assert result["drift_skus"] == 0


def test_a_warehouse_without_the_inferred_stock_write_gets_one_exception_and_no_dead_letters(
    harness: Harness,
) -> None:
    # Given a client config naming the inferred stock write, at a warehouse that does not offer it
    harness.scend.stock_write_endpoint = None
    for sku in ("TEE-WHT-L", "CAP-NVY-S"):
        seed(harness, sku)
    # When the stock flow runs through several reads and events
    stock_round(harness)
    stock_event(harness, ["TEE-WHT-L"])
    stock_round(harness)
    harness.local.drain(flush=True)
    # Then there is one exception for operations naming the setting to check, nothing parked in a DLQ,
    # and the endpoint was tried once, not once per message or retry
    [exception] = [e for e in harness.rt.exceptions.list() if e.reason.value == "endpoint_unavailable"]
    assert exception.team.value == "operations"
    assert "the warehouse does not offer this endpoint" in exception.detail
    assert "check `platforms.scend.stock_write_endpoint`" in exception.detail
    assert all(bodies == [] for bodies in harness.local.dlq_messages().values())
    assert harness.scend.requests["POST /api/product/channelstocklevels"] == 1
    assert harness.scend.channel_writes == 0
    # And no figure is recorded as pushed, so each goes out once the endpoint exists and the exception is closed
    assert harness.rt.stock_levels.get("scend", "TEE-WHT-L", "3") is None
    harness.scend.stock_write_endpoint = "Product/ChannelStockLevels"
    harness.rt.exceptions.close(exception.id, status=ExceptionStatus.RESOLVED, by="person:sam", now=harness.clock.now())
    stock_round(harness)
    assert channel(harness, "TEE-WHT-L") == 38 and channel(harness, "CAP-NVY-S") == 38


def test_a_warehouse_that_takes_no_stock_writes_is_compared_for_drift_only(harness: Harness) -> None:
    # Given a client whose warehouse accepts no stock writes (no stock_write_endpoint in its config)
    config = harness.local.config
    harness.local.reconfigure(config.with_platform("scend", stock_write_endpoint=None))
    seed(harness)
    harness.scend.set_stock("TEE-WHT-L", 30, warehouse_id=WAREHOUSE)  # 10 fewer than Cin7 believes
    # When the stock flow and the reconcile run
    stock_round(harness)
    stock_event(harness, ["TEE-WHT-L"])
    harness.local.drain(flush=True)
    harness.local.run_schedule("reconcile_stock")
    # Then no stock write was tried, and the drift is still reported
    assert not [route for route in harness.scend.requests if route.startswith("POST /api/product/channel")]
    assert [e.business_key for e in harness.rt.exceptions.list() if e.flow == "stock_drift"] == ["sku#TEE-WHT-L"]
