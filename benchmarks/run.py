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
import resource
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


def hop_environments(region: str = "eu-west-2") -> dict[str, dict[str, str]]:
    """Each hop's environment as Lambda starts it: the variables infra/ sets (shared.wiring, physical names as
    the stack names them) plus the ones the Lambda runtime sets before the init phase. A hop is measured as the
    first example client that deploys it configures it, so every hop of every pairing is covered."""
    from shared import topology, wiring
    from shared.config import load_client_config

    account = "123456789012"
    environments: dict[str, dict[str, str]] = {}
    for path in sorted((ROOT / "infra" / "clients").glob("example-*.yaml")):
        config = load_client_config(path)
        deployed = topology.for_config(config)

        def physical(name: str, client: str = config.client) -> str:
            return f"hopline-{client}-{name}"

        names = wiring.ResourceNames(
            tables={t.name: physical(t.name) for t in deployed.tables},
            queues={
                q.name: f"https://sqs.{region}.amazonaws.com/{account}/{physical(q.name)}" for q in deployed.queues
            },
            buckets={b.name: physical(b.name) for b in deployed.buckets},
            state_machines={
                m.name: f"arn:aws:states:{region}:{account}:stateMachine:{physical(m.name)}"
                for m in deployed.state_machines
            },
        )
        for hop in deployed.hops:
            if hop.name in environments:
                continue
            environments[hop.name] = {
                **wiring.hop_environment(config, hop, names),
                # What Lambda itself sets: LAMBDA_TASK_ROOT is how Powertools knows it runs in Lambda (tracing
                # on, as the deployed functions have active tracing).
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "AWS_LAMBDA_FUNCTION_NAME": physical(hop.name),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(hop.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "LAMBDA_TASK_ROOT": "/var/task",
                "LAMBDA_RUNTIME_DIR": "/var/runtime",
                "_HANDLER": hop.handler,
            }
    return environments


def _cold_import_ms(python: str, module: str, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """One fresh interpreter importing `module`: its cumulative `-X importtime` figure (wall) and the CPU time
    of the whole interpreter (less sensitive to other work on a busy machine), in ms.

    Runs in `cwd`, the code bundle, as Lambda runs in its task root: `-c` puts the working directory first on
    sys.path, so run from the checkout it would import the sources there (compiled afresh on every run, no
    .pyc being written) instead of the bundle's precompiled modules."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    line = next(x for x in reversed(done.stderr.splitlines()) if x.rstrip().endswith(f"| {module}"))
    return int(re.split(r"\s*\|\s*", line.split(":", 1)[1])[1]) / 1000, cpu


def bench_imports(runs: int = 5, hops: list[str] | None = None, code: Path = BUILD / "code") -> dict[str, Any]:
    """Cold import of every hop's handler from the Lambda bundle, `python -X importtime`, median and max of N.

    Runs the bundle as Lambda would: Python 3.12, code + layer on the path (boto3 from the dev venv,
    as the Lambda runtime provides it), precompiled .pyc, each hop's deployed environment variables.
    """
    from infra.bundling import LayerBundler

    python = _python312()
    code = code.resolve()
    if python is None or not code.is_dir():
        return {"skipped": f"needs python3.12 and `make bundle` ({code})"}
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
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(code), str(layer / "python"), str(provided)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    environments = hop_environments()
    per_hop: dict[str, Any] = {}
    for name, environment in environments.items():
        if hops and name not in hops:
            continue
        module = f"functions.{name}.handler"
        measured = [_cold_import_ms(python, module, {**base, **environment}, code) for _ in range(runs)]
        totals = [wall for wall, _ in measured]
        per_hop[name] = {
            "median_ms": round(statistics.median(totals), 1),
            "max_ms": round(max(totals), 1),
            "runs_ms": [round(t, 1) for t in totals],
            "cpu_median_ms": round(statistics.median(cpu for _, cpu in measured), 1),
        }
    return {
        "python": python,
        "code": str(code),
        "runs": runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "worst_median_ms": max(h["median_ms"] for h in per_hop.values()),
        "worst_max_ms": max(h["max_ms"] for h in per_hop.values()),
        "hops": per_hop,
    }


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_assets() -> dict[str, Any]:
    if not (BUILD / "code").is_dir():
        return {"skipped": "run `make bundle` first"}
    return {"code_unzipped_bytes": _size(BUILD / "code"), "layer_unzipped_bytes": _size(BUILD / "layer")}


def main() -> int:
    from benchmarks.budget import DAYS

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
        "--budget-days",
        choices=["both", *DAYS],
        default="both",
        help="cin7-budget: which day to run (a pairing's 60-order day; the 300-order day at fault rate 0.2; "
        "the 2,000-order peak day)",
    )
    parser.add_argument("--backlog-minutes", type=float, default=3.0)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--duplicate-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=20, help="submit-race: rounds of new sales")
    parser.add_argument("--threads", type=int, default=8, help="submit-race: concurrent submitters")
    parser.add_argument("--sales", type=int, default=10, help="submit-race: sales per round")
    parser.add_argument("--runs", type=int, default=5, help="imports: fresh interpreters per hop")
    parser.add_argument("--code", default=str(BUILD / "code"), help="imports: the code bundle to import from")
    parser.add_argument("--hop", dest="hops", action="append", help="imports: only this hop (repeatable)")
    parser.add_argument("--out", default="latest", help="results file name under benchmarks/results/ (no .json)")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if args.only in (None, "assets"):
        report["assets"] = bench_assets()
    if args.only in (None, "imports"):
        report["cold_imports"] = bench_imports(runs=args.runs, hops=args.hops, code=Path(args.code))
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

        pairings = ("cin7-scend", "sfcc-cin7") if args.budget_days == "both" else (args.budget_days,)
        report["cin7_budget"] = bench_cin7_budget(pairings)
    if args.only in (None, "day"):
        report["day"] = bench_day(args.orders, args.fault_rate, args.duplicate_rate, args.seed)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.out}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
