"""Benchmarks behind the figures quoted in docs and release notes (not timed assertions in the suite).

    python -m benchmarks.run                 # everything
    python -m benchmarks.run --only imports  # one of: day, imports, assets, stock-diff, stock-backlog,
    #                                          where, sla-alert, alarms, endpoints, card-day, submit-race,
    #                                          cin7-budget

Writes a JSON report to benchmarks/results/latest.json (or `--out NAME`: NAME.json) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"


def bench_day(orders: int, fault_rate: float, duplicate_rate: float, seed: int) -> dict[str, Any]:
    """The issue's e2e figure: a day of `orders` under faults and duplicates."""
    from sandbox.scenario import Options, run_day

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    result = run_day(Options(orders=orders, fault_rate=fault_rate, duplicate_rate=duplicate_rate, seed=seed))
    summary = result.summary
    keep = (
        "orders_sent",
        "unique_valid_orders",
        "warehouse_orders",
        "duplicate_warehouse_orders",
        "lost",
        "in_dlq",
        "wrong_outcome",
        "bad_orders_reached_warehouse",
        "quarantined",
        "quarantined_total",
        "released",
        "held",
        "skipped_excluded_location",
        "duplicates_suppressed",
        "retries",
        "throttled_responses",
        "faults_injected",
        "api_calls",
        "webhooks_duplicated",
        "webhooks_missed_recovered_by_poll",
        "shipments_seen",
        "shipments_applied",
        "duplicate_shipments_applied",
        "orders_closed",
        "orders_shipped_in_full",
        "orders_shipped_in_part",
        "writeback_exceptions",
        "writeback_latency_seconds",
        "cin7_calls_per_shipment_applied",
        "schedule_runs_failed",
        "schedule_events_dead_lettered",
        "sales_by_kind",
        "skus_synced",
        "skus_rejected",
        "orders_held_for_sku",
        "orders_released_after_sku",
        "product_to_release_seconds",
        "warehouse_product_writes",
        "monitor",
    )
    return {
        "command": f"hopline sandbox run --orders {orders} --fault-rate {fault_rate} "
        f"--duplicate-rate {duplicate_rate} --seed {seed} --json",
        "wall_seconds": round(result.wall_seconds, 1),
        **{k: summary[k] for k in keep},
    }


def _python312() -> str | None:
    from infra.bundling import find_python312

    return find_python312()


def bench_imports(runs: int = 5) -> dict[str, Any]:
    """Cold import of the order_submit handler from the Lambda bundle, `python -X importtime`, median of N.

    Runs the bundle as Lambda would: Python 3.12, code + layer on the path (boto3 from the dev venv,
    as the Lambda runtime provides it), precompiled .pyc, the function's environment variables.
    """
    from infra.bundling import LayerBundler

    python = _python312()
    if python is None or not (BUILD / "code").is_dir():
        return {"skipped": "needs python3.12 and `make bundle` (.build/code)"}
    # The deployed layer holds arm64 wheels; this host may be x86_64, so measure an x86_64 twin built
    # by the same bundler (same packages, same trimming, same precompilation).
    layer = BUILD / "bench-layer-x86_64"
    if not layer.is_dir():
        layer.mkdir(parents=True)
        LayerBundler(platform="manylinux2014_x86_64").try_bundle(str(layer))
    # What the Lambda runtime provides (boto3 and its dependencies), precompiled for 3.12 as it is there.
    provided = BUILD / "bench-runtime-x86_64"
    if not provided.is_dir():
        import boto3

        from infra.bundling import precompile

        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"boto3=={boto3.__version__}",
                "--target",
                str(provided),
                "--no-compile",
            ],
            check=True,
        )
        precompile(provided)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(BUILD / "code"), str(layer / "python"), str(provided)]),
        "AWS_DEFAULT_REGION": "eu-west-2",
        "TABLE_IDEMPOTENCY": "t",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    totals = []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-X", "importtime", "-c", "import functions.order_submit.handler"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        module = "functions.order_submit.handler"
        line = next(x for x in reversed(done.stderr.splitlines()) if x.rstrip().endswith(module))
        totals.append(int(re.split(r"\s*\|\s*", line.split(":", 1)[1])[1]) / 1000)
    return {"python": python, "runs_ms": totals, "median_ms": round(statistics.median(totals), 1)}


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_assets() -> dict[str, Any]:
    if not (BUILD / "code").is_dir():
        return {"skipped": "run `make bundle` first"}
    return {"code_unzipped_bytes": _size(BUILD / "code"), "layer_unzipped_bytes": _size(BUILD / "layer")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--only",
        choices=[
            "day",
            "imports",
            "assets",
            "stock-diff",
            "stock-backlog",
            "where",
            "sla-alert",
            "alarms",
            "endpoints",
            "card-day",
            "submit-race",
            "cin7-budget",
        ],
    )
    parser.add_argument(
        "--budget-days", choices=["both", "300", "peak"], default="both", help="cin7-budget: which days to run"
    )
    parser.add_argument("--backlog-minutes", type=float, default=3.0)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--duplicate-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=20, help="submit-race: rounds of new sales")
    parser.add_argument("--threads", type=int, default=8, help="submit-race: concurrent submitters")
    parser.add_argument("--sales", type=int, default=10, help="submit-race: sales per round")
    parser.add_argument("--out", default="latest", help="results file name under benchmarks/results/ (no .json)")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if args.only in (None, "assets"):
        report["assets"] = bench_assets()
    if args.only in (None, "imports"):
        report["order_submit_cold_import"] = bench_imports()
    if args.only in (None, "stock-diff"):
        from benchmarks.stock import bench_diff

        report["stock_diff"] = bench_diff()
    if args.only in (None, "stock-backlog"):
        from benchmarks.stock import bench_backlog

        report["stock_backlog"] = bench_backlog(minutes=args.backlog_minutes)
    if args.only in (None, "where"):
        from benchmarks.ops import bench_where

        report["hopline_where"] = bench_where()
    if args.only in (None, "sla-alert"):
        from benchmarks.ops import bench_sla_alert

        report["sla_breach_to_alert"] = bench_sla_alert()
    if args.only in (None, "alarms"):
        from benchmarks.ops import bench_alarms

        report["alarms_per_stack"] = bench_alarms()
    if args.only in (None, "endpoints"):
        from benchmarks.platforms import bench_endpoints

        report["platform_endpoints"] = bench_endpoints()
    if args.only == "card-day" or args.only is None:
        from benchmarks.platforms import bench_card_day

        report["card_day"] = bench_card_day()
    if args.only in (None, "submit-race"):
        from benchmarks.submit_race import bench_submit_race

        report["submit_race"] = bench_submit_race(rounds=args.rounds, threads=args.threads, sales=args.sales)
    if args.only in (None, "cin7-budget"):
        from benchmarks.budget import bench_cin7_budget

        days = ("300", "peak") if args.budget_days == "both" else (args.budget_days,)
        report["cin7_budget"] = bench_cin7_budget(days)
    if args.only in (None, "day"):
        report["day"] = bench_day(args.orders, args.fault_rate, args.duplicate_rate, args.seed)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.out}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
