"""Stock sync figures: the ATS + delta computation at scale, and a shared-budget backlog in real time.

python -m benchmarks.run --only stock-diff     # 100,000 SKUs x 3 locations
python -m benchmarks.run --only stock-backlog  # callers sharing one 60 calls/min budget, real clock
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def bench_diff(skus: int = 100_000, locations: int = 3, changed_share: float = 0.1, seed: int = 5) -> dict[str, Any]:
    """Map raw rows, compute ATS for every SKU, and decide the delta against last pushed figures.

    The last-pushed snapshot is what push_stock reads from DynamoDB; here it is a dict, so the figure is
    the engine's own cost (the store's reads are measured by the backlog run and the sandbox).
    """
    from shared.config import StockBuffer, StockPipeline
    from shared.flows.stock import DeltaAction, PushedState, available_to_sell, decide_delta
    from shared.models.stock import StockRow

    rng = random.Random(seed)
    names = ["Scend UK", "Retail Store", "Showroom"][:locations]
    config = StockPipeline(
        from_="cin7",
        to="scend",
        locations={"Scend UK": "3", "Showroom": "3"},
        drift_location="Scend UK",
        buffer=StockBuffer(units=1, percent=5),
        sku_buffers={f"SKU-{i:06d}": StockBuffer(units=3) for i in range(0, skus, 50)},
    )
    raw = [
        {
            "SKU": f"SKU-{i:06d}",
            "Location": name,
            "Available": rng.randint(-2, 400),
            "OnHand": 0,
            "Allocated": rng.randint(0, 5),
        }
        for i in range(skus)
        for name in names
    ]
    started = time.perf_counter()
    rows = [
        StockRow(
            sku=r["SKU"],
            location=r["Location"],
            available=Decimal(r["Available"]),
            on_hand=Decimal(r["OnHand"]),
            allocated=Decimal(r["Allocated"]),
        )
        for r in raw
    ]
    mapped = time.perf_counter()
    figures = available_to_sell(rows, config)
    computed = time.perf_counter()
    last = {}
    for figure in figures:
        quantity = figure.quantity if rng.random() >= changed_share else max(0, figure.quantity + rng.choice((-3, 4)))
        last[(figure.sku, figure.location)] = PushedState(quantity)
    snapshot = time.perf_counter()
    actions: dict[str, int] = {}
    observed = datetime.now(UTC)
    for figure in figures:
        delta = decide_delta(
            figure.quantity,
            last[(figure.sku, figure.location)],
            confirm_increases=True,
            observed_at=observed,
            confirm_after_seconds=300,
        )
        actions[delta.action.value] = actions.get(delta.action.value, 0) + 1
    decided = time.perf_counter()
    return {
        "skus": skus,
        "locations": locations,
        "rows": len(rows),
        "figures": len(figures),
        "changed_share_of_snapshot": changed_share,
        "map_rows_seconds": round(mapped - started, 2),
        "ats_seconds": round(computed - mapped, 2),
        "delta_seconds": round(decided - snapshot, 2),
        "ats_plus_delta_seconds": round((computed - mapped) + (decided - snapshot), 2),
        "actions": actions,
        "pushes": actions.get(DeltaAction.PUSH.value, 0),
    }


def bench_backlog(
    minutes: float = 3.0, limit: int = 60, background_workers: int = 3, order_every: float = 6.0, seed: int = 11
) -> dict[str, Any]:
    """Concurrent callers (threads standing in for Lambdas) drain a backlog through one DynamoDB budget.

    Real clock, the Cin7 Core simulator enforcing `limit` calls in any rolling 60 s with 503s. Background
    workers (stock reads) always have work; an order worker arrives every `order_every` seconds on
    average. Measures achieved calls/min against the limit, the throttled share, and how long order
    calls waited compared with background calls.
    """
    import boto3
    from moto import mock_aws

    from sandbox.local import _aws_environment, create_table
    from sandbox.simulators.cin7_core import Cin7CoreSimulator
    from shared import topology
    from shared.clock import SystemClock
    from shared.config import RetryConfig
    from shared.connectors.cin7_core.client import Cin7CoreClient
    from shared.stores.rate_budget import DynamoTokenBucket, budget_shape

    _aws_environment()
    clock = SystemClock()
    rng = random.Random(seed)
    with mock_aws():
        spec = next(t for t in topology.TABLES if t.name == topology.BUDGET_TABLE)
        create_table(boto3.client("dynamodb"), "bench-budgets", spec)
        simulator = Cin7CoreSimulator("acct-bench", "key-bench", clock=clock, calls_per_minute=limit)
        sale_ids = [
            simulator.add_sale(
                order_number=f"SO-{i}",
                lines=[("TEE-BLK-M", 1, Decimal("9.99"))],
                address={
                    "Line1": "1 High St",
                    "City": "Leeds",
                    "Postcode": "LS1 1AA",
                    "Country": "United Kingdom",
                    "Contact": "Jo",
                },
            )
            for i in range(50)
        ]
        simulator.start()
        rate, burst = budget_shape(limit)
        stop = time.monotonic() + minutes * 60
        waits: dict[str, list[float]] = {"orders": [], "background": []}
        failures = {"orders": 0, "background": 0}
        lock = threading.Lock()

        def client(priority: str) -> Cin7CoreClient:
            budget = DynamoTokenBucket(
                boto3.resource("dynamodb").Table("bench-budgets"),
                "cin7_core:acct-bench",
                rate=rate,
                per_seconds=60,
                capacity=burst,
                clock=clock,
                priority=lambda: priority,
            )  # type: ignore[arg-type,return-value]
            return Cin7CoreClient(
                simulator.url + "ExternalApi/v2/",
                "acct-bench",
                "key-bench",
                clock=clock,
                budget=budget,
                retry=RetryConfig(max_attempts=5, base_delay_seconds=1),
            )

        def work(priority: str) -> None:
            api = client(priority)
            local = random.Random(rng.random())
            while time.monotonic() < stop:
                if priority == "orders":
                    time.sleep(local.expovariate(1 / order_every))
                    if time.monotonic() >= stop:
                        return
                began = time.monotonic()
                try:
                    api.get_sale(local.choice(sale_ids))
                except Exception:  # noqa: BLE001 - the simulator counts it; the backlog goes on
                    with lock:
                        failures[priority] += 1
                    continue
                with lock:
                    waits[priority].append(time.monotonic() - began)

        threads = [threading.Thread(target=work, args=("background",)) for _ in range(background_workers)]
        threads.append(threading.Thread(target=work, args=("orders",)))
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        simulator.stop()
        served = sum(simulator.requests.values())
        throttled = simulator.throttled
    ok = served - throttled
    return {
        "limit_per_minute": limit,
        "minutes": round(elapsed / 60, 2),
        "callers": background_workers + 1,
        "calls_answered": ok,
        "throttled_responses": throttled,
        "achieved_per_minute": round(ok / (elapsed / 60), 1),
        "utilisation": round(ok / (limit * elapsed / 60), 3),
        "throttled_share": round(throttled / served, 4) if served else None,
        "calls_failed_after_retries": failures,
        "order_call_seconds": {
            "p50": _q(waits["orders"], 0.5),
            "p95": _q(waits["orders"], 0.95),
            "count": len(waits["orders"]),
        },
        "background_call_seconds": {
            "p50": _q(waits["background"], 0.5),
            "p95": _q(waits["background"], 0.95),
            "count": len(waits["background"]),
        },
    }


def _q(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)
