"""Operations figures: `hopline where` latency, SLA breach to alert, alarms per client stack.

python -m benchmarks.run --only where       # hopline where, an order with 10 events, on moto
python -m benchmarks.run --only sla-alert   # sandbox: breach instant -> the monitor run that flags it
python -m benchmarks.run --only alarms      # alarms in one synthesized client stack
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

CLIENT = "example-cin7-scend"


def bench_where(runs: int = 50) -> dict[str, Any]:
    """Median and p95 wall time of `Ops.where` for an order whose timeline has exactly 10 events.

    The order is written through the same stores the hops use: three stages before the warehouse,
    three archived payloads, one parcel despatched, written back, and the two closing stages.
    """
    import boto3
    from moto import mock_aws

    from cli.ops import Ops, resources_by_convention
    from sandbox.local import LocalHopline
    from shared.clock import VirtualClock
    from shared.config import config_for_client
    from shared.stores.ledger import Stage

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    with mock_aws():
        clock = VirtualClock()
        local = LocalHopline(config_for_client(CLIENT), clock)
        local.start()
        rt = local.runtime
        key = "cin7_core#bench-sale-1"
        rt.ledger.record_delivery(key, order_number="SO-9001", trigger="webhook", now=clock.now())
        rt.archive.put(order_key=key, kind="webhook", body={"SaleID": "bench-sale-1"}, now=clock.now())
        clock.advance(2)
        rt.archive.put(order_key=key, kind="source-order", body={"Order": {}}, now=clock.now())
        rt.ledger.set_stage(key, Stage.RELEASED, clock.now())
        clock.advance(3)
        rt.ledger.record_submitted(
            key,
            warehouse_order_id="700001",
            client_reference="EXA-SO-9001",
            created=True,
            now=clock.now(),
            ordered={"TEE-BLK-M": Decimal(1)},
        )
        rt.archive.put(order_key=key, kind="warehouse-order", body={"request": {}}, now=clock.now())
        clock.advance(7200)
        despatched = clock.now()
        rt.ledger.note_despatched("EXA-SO-9001", parcel_id="p1", despatched_at=despatched)
        clock.advance(300)
        rt.ledger.record_shipment(
            key,
            parcel_id="p1",
            closes_order=True,
            now=clock.now(),
            record={
                "lines": {"TEE-BLK-M": Decimal(1)},
                "tracking_numbers": ["JT1"],
                "carrier": "Royal Mail",
                "despatched_at": despatched.isoformat(),
                "applied_at": clock.now().isoformat(),
            },
        )
        ops = Ops(
            resources=resources_by_convention(CLIENT, boto3.client("sqs")),
            dynamodb=rt.dynamodb,
            sqs=rt.sqs,
            s3=rt.s3,
            reference_prefix="EXA",
        )
        events = len(ops.where("SO-9001").timeline)
        timings: dict[str, list[float]] = {"order_number": [], "order_key": []}
        for _ in range(runs):
            for how, ask in (("order_number", "SO-9001"), ("order_key", key)):
                started = time.perf_counter()
                ops.where(ask)
                timings[how].append((time.perf_counter() - started) * 1000)
    return {
        "command": "hopline where SO-9001 (moto in-process, 10-event order)",
        "timeline_events": events,
        "runs": runs,
        **{
            f"by_{how}_ms": {
                "median": round(statistics.median(values), 1),
                "p95": round(sorted(values)[int(0.95 * len(values)) - 1], 1),
            }
            for how, values in timings.items()
        },
    }


def bench_sla_alert(trials: int = 6, step_seconds: int = 5) -> dict[str, Any]:
    """Virtual seconds from an SLA breach (released, not at the warehouse, 15 min) to the monitor run that
    opens the order_stalled exception and reports StalledOrders > 0, for releases at different offsets
    within the monitor's minute. In AWS add the alarm's own delay (a 1-minute period: about 1-2 minutes)."""
    import json
    from datetime import datetime

    import boto3
    from moto import mock_aws

    from sandbox.local import LocalHopline
    from sandbox.scenario import Schedules
    from sandbox.simulators.base import FaultPlan
    from sandbox.simulators.cin7_core import Cin7CoreSimulator
    from sandbox.simulators.scend import ScendSimulator
    from shared.clock import VirtualClock
    from shared.config import config_for_client
    from shared.connectors.spec import Role
    from shared.topology import hop

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    base = config_for_client(CLIENT)
    delays: list[float] = []
    for trial in range(trials):
        clock = VirtualClock()
        cin7 = Cin7CoreSimulator("acct", "key", clock=clock, faults=FaultPlan())
        scend = ScendSimulator("scend", clock=clock, faults=FaultPlan())
        cin7.start()
        scend.start()
        try:
            config = base.with_role_platform(
                Role.ORDER_SOURCE, base_url=f"{cin7.url}ExternalApi/v2/"
            ).with_role_platform(Role.ORDER_TARGET, base_url=f"{scend.url}api/")
            cin7_name, scend_name = config.platform_for(Role.ORDER_SOURCE), config.platform_for(Role.ORDER_TARGET)
            with mock_aws():
                local = LocalHopline(config, clock)
                local.start(
                    {
                        f"platforms.{cin7_name}.credentials_secret": {"account_id": "acct", "application_key": "key"},
                        f"platforms.{cin7_name}.webhook_secret": {"secret": "s"},
                        f"platforms.{scend_name}.credentials_secret": {"api_key": "scend"},
                    }
                )
                scend.add_product("TEE-BLK-M")
                schedules = Schedules(local, clock)
                clock.advance(trial * 60 / trials)  # a different offset within the monitor's minute
                sale = cin7.add_sale(
                    order_number=f"SO-{trial}",
                    lines=[("TEE-BLK-M", 1, Decimal("10"))],
                    address={
                        "Line1": "1 High St",
                        "City": "Leeds",
                        "Postcode": "LS1 1AA",
                        "Country": "United Kingdom",
                        "Contact": "Jo Smith",
                    },
                )
                local.call_api(
                    "POST",
                    local.webhook_path(Role.ORDER_SOURCE, "sales"),
                    headers={"X-Hopline-Webhook-Secret": "s"},
                    body=json.dumps(cin7.webhook_payload(sale)),
                )
                # Intake runs; the submit message is lost (the order-submit consumer is down)
                sqs = boto3.client("sqs")
                [message] = sqs.receive_message(QueueUrl=local.queue_urls["order-intake"])["Messages"]
                local._invoke_batch(hop("order_intake"), [message])
                sqs.delete_message(QueueUrl=local.queue_urls["order-intake"], ReceiptHandle=message["ReceiptHandle"])
                sqs.purge_queue(QueueUrl=local.queue_urls["order-submit"])
                entry = local.runtime.ledger.get(f"cin7_core#{sale.lower()}")
                breach = datetime.fromisoformat(entry.timestamps["released"]) + timedelta(
                    minutes=config.monitoring.sla_minutes.released_to_warehouse
                )
                flagged = None
                while flagged is None and clock.now() < breach + timedelta(minutes=10):
                    clock.advance(step_seconds)
                    schedules.run_due()
                    stalls = [e for e in local.runtime.exceptions.list() if e.reason.value == "order_stalled"]
                    if stalls:
                        flagged = datetime.fromisoformat(stalls[0].first_seen)
                assert flagged is not None, "the monitor never flagged the stalled order"
                delays.append((flagged - breach).total_seconds())
        finally:
            cin7.stop()
            scend.stop()
    return {
        "command": "python -m benchmarks.run --only sla-alert (sandbox, virtual time)",
        "monitor_schedule": base.monitoring.schedule,
        "trials": trials,
        "breach_to_alert_seconds": delays,
        "max_seconds": max(delays),
        "median_seconds": statistics.median(delays),
        "note": "virtual seconds from the SLA breach to the monitor run that opens order_stalled and emits "
        "StalledOrders; in AWS the 1-minute alarm adds about 1-2 minutes",
    }


def bench_alarms() -> dict[str, Any]:
    """Alarms (and the dashboard) in one synthesized client stack, counted from the template."""
    from aws_cdk.assertions import Template

    from app import build_app

    with tempfile.TemporaryDirectory() as outdir:
        app = build_app(CLIENT, context={"aws:cdk:bundling-stacks": []}, outdir=outdir)
        stack = app.node.find_child(f"hopline-{CLIENT}")
        resources = Template.from_stack(stack).to_json()["Resources"]  # type: ignore[arg-type]
    kinds: dict[str, int] = {}
    for value in resources.values():
        kinds[value["Type"]] = kinds.get(value["Type"], 0) + 1
    return {
        "command": "cdk synth -c client=example-cin7-scend (counted from the template)",
        "alarms": kinds.get("AWS::CloudWatch::Alarm", 0),
        "dashboards": kinds.get("AWS::CloudWatch::Dashboard", 0),
        "sns_topics": kinds.get("AWS::SNS::Topic", 0),
    }
