"""Stock through a sandbox day: seeded levels, master events, receipts, spikes, warehouse damage.

What happens to stock over the day is planned here, and the summary checks the engine against the
simulators' truth: nothing pushed above what the master has available, no spike ever pushed, drift
found where the warehouse was damaged behind the master's back.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from shared.connectors.cin7_core.settings import Cin7CoreSettings
from shared.connectors.scend.settings import ScendSettings
from shared.connectors.spec import Role

WAREHOUSE_LOCATION = "Scend UK"
OTHER_LOCATIONS = ("Retail Store",)
STOCK_CHANNEL = "stock"  # Cin7 Core's stock-level channel, served at /webhooks/<instance>/stock
# In turn, so every kind happens on any day with five incidents or more.
INCIDENTS = ("receipt", "spike", "retail_sale", "damage", "receipt")


@dataclass
class StockDay:
    """Stock incidents planned for the day, and what the summary needs to judge them."""

    rng: random.Random
    skus: list[str]
    warehouse_id: int
    spikes: list[tuple[str, int]] = field(default_factory=list)  # (sku, peak figure) that must never be pushed
    damaged: set[str] = field(default_factory=set)
    incidents: Counter[str] = field(default_factory=Counter)
    events_sent: int = 0


def seed(cin7: Any, scend: Any, skus: list[str], rng: random.Random, warehouse_id: int) -> StockDay:
    """The master and the warehouse agree at the start: what Cin7 holds at Scend UK is what Scend holds.

    `cin7` and `scend` are the stock master's and the stock target's hooks (sandbox.simulators.registry)."""
    for sku in skus:
        units = rng.randint(30, 160)
        cin7.set_stock(sku, WAREHOUSE_LOCATION, units)
        for location in OTHER_LOCATIONS:
            cin7.set_stock(sku, location, rng.randint(0, 25))
        scend.set_stock(sku, units, warehouse_id=warehouse_id)
    return StockDay(rng=rng, skus=skus, warehouse_id=warehouse_id)


def send_event(local: Any, cin7: Any, secret: str, skus: list[str], day: StockDay) -> int:
    """What Cin7 posts when Available changes: a bare array of availability rows."""
    header = cast(Cin7CoreSettings, local.config.settings_for(Role.STOCK_MASTER)).webhook_header
    status, _ = local.call_api(
        "POST",
        local.webhook_path(Role.STOCK_MASTER, STOCK_CHANNEL),
        headers={header: secret, "Content-Type": "application/json"},
        body=json.dumps(cin7.stock_event(skus), default=str),
    )
    day.events_sent += 1
    return int(status)


def incident(local: Any, cin7: Any, scend: Any, secret: str, day: StockDay) -> None:
    """One of the things that happen to stock during a trading day."""
    rng = day.rng
    sku = rng.choice(day.skus)
    kind = INCIDENTS[sum(day.incidents.values()) % len(INCIDENTS)]
    day.incidents[kind] += 1
    if kind == "receipt":  # a delivery booked in both systems
        units = rng.randint(10, 60)
        cin7.move_stock(sku, WAREHOUSE_LOCATION, units)
        level = scend.stock_level(sku, warehouse_id=day.warehouse_id)
        scend.set_stock(
            sku,
            int(level["total"]) + units,
            quarantine=int(level["quarantine"]),
            damaged=int(level["damaged"]),
            warehouse_id=day.warehouse_id,
        )
        send_event(local, cin7, secret, [sku], day)
    elif kind == "spike":  # a receipt keyed as 500 instead of 5, corrected minutes later
        before = cin7.available(sku, WAREHOUSE_LOCATION)
        cin7.move_stock(sku, WAREHOUSE_LOCATION, 495)
        send_event(local, cin7, secret, [sku], day)
        # Read before the correction, as when it comes later than the pusher's batching window: the spike is
        # seen, and only the confirmation of increases keeps it from the target.
        local.drain(flush=True)
        cin7.move_stock(sku, WAREHOUSE_LOCATION, -495)
        send_event(local, cin7, secret, [sku], day)
        day.spikes.append((sku, int(before) + 400))
    elif kind == "damage":  # found damaged at the warehouse; nobody told the master
        level = scend.stock_level(sku, warehouse_id=day.warehouse_id)
        total, quarantined, damaged = int(level["total"]), int(level["quarantine"]), int(level["damaged"])
        # Only units the warehouse holds can be found damaged: a SKU sold down to nothing (a long day) has none.
        found = min(rng.randint(3, 6), total - quarantined - damaged)
        if found > 0:
            scend.set_stock(sku, total, quarantine=quarantined, damaged=damaged + found, warehouse_id=day.warehouse_id)
            day.damaged.add(sku)
    else:  # sold in the shop: Available changes at an excluded location, nothing to push
        cin7.move_stock(sku, OTHER_LOCATIONS[0], -1)
        send_event(local, cin7, secret, [sku], day)


def summary(local: Any, cin7: Any, scend: Any, day: StockDay) -> dict[str, Any]:
    """The stock block of the sandbox summary, judged against the simulators' truth."""
    rt = local.runtime
    tally = rt.tally
    settings = local.config.stock
    location = settings.locations[WAREHOUSE_LOCATION]
    pushed_now = {sku: qty for (sku, loc), qty in scend.figures_received().items() if str(loc) == location}
    above = sorted(
        sku for sku, qty in pushed_now.items() if qty > max(Decimal(0), cin7.available(sku, WAREHOUSE_LOCATION))
    )
    history = scend.figure_history()
    spikes_pushed = sum(
        1 for sku, peak in day.spikes if any(row_sku == sku and qty >= peak for row_sku, _, qty in history)
    )
    flagged = {e.business_key.split("#", 1)[1] for e in rt.exceptions.list() if e.flow == "stock_drift"}
    pushed = int(tally["stock_pushed"])
    target_calls = int(tally["stock_target_calls"])
    target = rt.stock_target
    batch = min(settings.push_batch_size, target.push_batch_size) if target is not None else settings.push_batch_size
    reads = sum(count for route, count in cin7.requests.items() if "productavailability" in route)
    return {
        # Judged at Scend: the figures it received (none when the warehouse takes no stock writes).
        "stock_writes": (
            cast(ScendSettings, local.config.settings_for(Role.STOCK_TARGET)).stock_write_endpoint
            or "none: the warehouse takes no stock figures"
        ),
        "stock_figures_received": scend.figure_rows_applied,
        "stock_endpoint_unavailable": int(tally["stock_endpoint_unavailable"]),
        "stock_reads": int(tally["stock_reads"]),
        "skus_read": int(tally["stock_skus_read"]),
        "stock_events_sent": day.events_sent,
        "stock_incidents": dict(sorted(day.incidents.items())),
        "deltas_pushed": pushed,
        "pushes_skipped_unchanged": int(tally["stock_unchanged"]),
        "increases_awaiting_confirmation": int(tally["stock_awaiting_confirmation"]),
        "stock_push_rejected": int(tally["stock_rejected"]),
        "stock_target_calls": target_calls,
        "stock_target_calls_minimum": -(-pushed // batch) if pushed else 0,
        "stock_calls_per_changed_sku": round(target_calls / pushed, 3) if pushed else None,
        "stock_master_reads": reads,
        "throttled_responses": (
            local.call_stats(local.config.platform_for(Role.STOCK_MASTER)).throttled
            + local.call_stats(local.config.platform_for(Role.STOCK_TARGET)).throttled
        ),
        "drift_skus": int(tally["stock_drift_skus_last"]),
        "drift_flagged": len(flagged),
        "drift_damaged_skus_found": len(day.damaged & flagged),
        "drift_damaged_skus": len(day.damaged),
        "spikes": len(day.spikes),
        "spikes_pushed": spikes_pushed,
        "skus_pushed_above_master_available": len(above),
    }
