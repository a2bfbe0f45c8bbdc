"""Concurrent submitters of the same sales, with no help from the warehouse and no idempotency record.

    python -m benchmarks.run --only submit-race --out submit-race   # 8 threads x 10 sales, 20 rounds

Each round takes `sales` new sales through intake, then starts `threads` submitters together (a barrier),
each calling the order_submit step (below the handler's Powertools idempotency) for every sale in its own
shuffled order, against a Scend simulator that accepts a repeated reference. A submitter that meets a held
claim counts as backed off (in AWS: the record fails and SQS redelivers it). The figures are judged by what
the simulator holds: warehouse orders per round, and sales whose ledger entry is submitted with that order.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

CLIENT = "example-cin7-scend"
ADDRESS = {
    "Line1": "1 High Street",
    "City": "Leeds",
    "Postcode": "LS1 1AA",
    "Country": "United Kingdom",
    "Contact": "Jo Smith",
}


def bench_submit_race(rounds: int = 20, threads: int = 8, sales: int = 10, seed: int = 1) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from sandbox.local import MOTO_CONFIG, LocalHopline
    from sandbox.simulators.base import FaultPlan
    from sandbox.simulators.cin7_core import Cin7CoreSimulator
    from sandbox.simulators.scend import ScendSimulator
    from shared.clock import VirtualClock
    from shared.config import config_for_client
    from shared.connectors.spec import Role
    from shared.models.messages import SubmitMessage
    from shared.steps.order_submit import submit_order

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    base = config_for_client(CLIENT)
    clock = VirtualClock()
    cin7 = Cin7CoreSimulator("acct", "key", clock=clock, faults=FaultPlan())
    scend = ScendSimulator("scend", clock=clock, faults=FaultPlan(), enforce_unique_reference=False)
    cin7.start()
    scend.start()
    scend.add_product("TEE-BLK-M")
    per_round: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        config = base.with_platform("cin7", base_url=f"{cin7.url}ExternalApi/v2/").with_platform(
            "scend", base_url=f"{scend.url}api/"
        )
        with mock_aws(config=MOTO_CONFIG):
            local = LocalHopline(config, clock)
            local.start(
                {
                    "platforms.cin7.credentials_secret": {"account_id": "acct", "application_key": "key"},
                    "platforms.cin7.webhook_secret": {"secret": "s"},
                    "platforms.scend.credentials_secret": {"api_key": "scend"},
                }
            )
            rt = local.runtime
            sqs = boto3.client("sqs")
            for round_ in range(rounds):
                for n in range(sales):
                    sale = cin7.add_sale(
                        order_number=f"SO-R{round_}-{n}",
                        lines=[("TEE-BLK-M", 1, Decimal("10"))],
                        address=dict(ADDRESS),
                        email="jo@example.com",
                    )
                    local.call_api(
                        "POST",
                        local.webhook_path(Role.ORDER_SOURCE, "sales"),
                        headers={"X-Hopline-Webhook-Secret": "s"},
                        body=json.dumps(cin7.webhook_payload(sale)),
                    )
                local.drain_queue("order-intake")
                messages: list[SubmitMessage] = []
                url = local.queue_urls["order-submit"]
                while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                    for message in batch:
                        messages.append(SubmitMessage.model_validate_json(message["Body"]))
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                outcomes = _race(
                    messages,
                    threads,
                    random.Random(seed * 1000 + round_),
                    lambda m: str(submit_order(m, rt)["outcome"]),
                )
                held = scend.orders_by_reference()
                orders = sum(len(held.get(m.client_reference, [])) for m in messages)
                recorded = 0
                for m in messages:
                    entry = rt.ledger.get(m.order_key)
                    ids = {str(o["ID"]) for o in held.get(m.client_reference, [])}
                    recorded += bool(
                        entry and entry.stage.value == "submitted" and len(ids) == 1 and entry.warehouse_order_id in ids
                    )
                per_round.append(
                    {
                        "sales": len(messages),
                        "warehouse_orders": orders,
                        "sales_with_one_order_recorded": recorded,
                        "outcomes": dict(sorted(outcomes.items())),
                    }
                )
    finally:
        cin7.stop()
        scend.stop()
    totals: Counter[str] = Counter()
    for r in per_round:
        totals.update(r["outcomes"])
    return {
        "command": f"python -m benchmarks.run --only submit-race --rounds {rounds} --threads {threads} "
        f"--sales {sales} --out submit-race",
        "warehouse_accepts_repeated_reference": True,
        "idempotency_records": "bypassed (the step is called directly)",
        "rounds": rounds,
        "threads": threads,
        "sales_per_round": sales,
        "warehouse_orders_per_round": [r["warehouse_orders"] for r in per_round],
        "duplicate_warehouse_orders": sum(r["warehouse_orders"] - r["sales"] for r in per_round),
        "sales_recorded_with_their_one_order": sum(r["sales_with_one_order_recorded"] for r in per_round),
        "attempts": dict(sorted(totals.items())),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def _race(messages: list[Any], threads: int, rng: random.Random, submit: Any) -> Counter[str]:
    """`threads` submitters released by one barrier, each over every message in its own order; an error is
    counted by its name (a held claim as backed off), never left to end a submitter early."""
    barrier = threading.Barrier(threads)
    orders = [rng.sample(messages, len(messages)) for _ in range(threads)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def submitter(order: list[Any]) -> None:
        barrier.wait()
        for message in order:
            try:
                outcome = submit(message)
            except Exception as error:  # noqa: BLE001 - counted and reported
                outcome = "backed_off" if type(error).__name__ == "SubmitClaimHeldError" else type(error).__name__
            with lock:
                outcomes[outcome] += 1

    workers = [threading.Thread(target=submitter, args=(order,)) for order in orders]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes
