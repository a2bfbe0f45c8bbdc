"""Latency by stage: each hop that completes a stage reports how long it took, as its own metric line.

StageLatencySeconds with a `stage` dimension (and the hop's `service`), so the dashboard can draw p50 and
p95 per stage. A separate EMF line per observation: the stage dimension must not leak onto the hop's
other metrics, and printing a line costs no AWS call.
"""

from __future__ import annotations

import os
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

METRIC = "StageLatencySeconds"
# stage -> the hop that completes it (its Powertools service is hopline-<hop>).
LATENCY_STAGES: dict[str, str] = {
    "release": "order_intake",  # received from the source -> released to the warehouse queue
    "submit": "order_submit",  # released -> created at the warehouse
    "ship": "apply_shipment",  # at the warehouse -> first parcel despatched
    "writeback": "apply_shipment",  # parcel despatched -> tracking written back to the source
}


def record_stage_latency(stage: str, started: datetime | str | None, ended: datetime) -> float | None:
    """Print one StageLatencySeconds observation; None (nothing printed) when the start is unknown."""
    if stage not in LATENCY_STAGES:
        raise ValueError(f"unknown latency stage {stage!r}; known: {', '.join(LATENCY_STAGES)}")
    if started is None or started == "":
        return None
    begin = datetime.fromisoformat(started) if isinstance(started, str) else started
    seconds = max(0.0, (ended - begin).total_seconds())
    emf = AmazonCloudWatchEMFProvider(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Hopline"))
    emf.add_metric(name=METRIC, unit=MetricUnit.Seconds, value=seconds)
    emf.add_dimension(name="stage", value=stage)
    emf.flush_metrics()
    return seconds
