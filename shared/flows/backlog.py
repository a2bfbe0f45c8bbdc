"""Peak backlog: how much work waits, and for how long, per flow, when a shared rate budget is the bottleneck.

Cin7 Core takes 60 calls a minute per key, for every flow at once; at peak, orders queue behind it (orders
first, stock and catalogue stand aside). Nothing here measures anew: the figures come from what the stack
already keeps. Orders: the ledger's released orders not yet at the target (the by-stage index gives the
oldest first). Every other flow: its work queue's depth (waiting and in flight, a consumer holding a
message while it waits for a token) and SQS's own age of the oldest message. The budget: the bucket's
item says whether order calls are waiting for tokens right now, and whether the platform throttled us.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.models.base import Model


class FlowBacklog(Model):
    """One flow's waiting work: how many, and the age of the oldest (None when unknown)."""

    flow: str
    measured_by: str  # where the figure was read: "ledger released" or "queue <name>"
    waiting: int
    in_flight: int = 0
    oldest_seconds: float | None = None
    over_alarm: bool = False


class BudgetState(Model):
    """One shared rate budget as its DynamoDB item holds it, judged at `now`."""

    key: str
    tokens: float
    orders_waiting_seconds: float  # > 0: an order call is waiting for a token right now
    blocked_seconds: float  # > 0: the platform throttled us; nobody calls until then


def orders_backlog(released_at: Sequence[datetime], now: datetime, alarm_seconds: float) -> FlowBacklog:
    """Released orders not yet at the target: their count and the oldest one's wait."""
    oldest = max(((now - moment).total_seconds() for moment in released_at), default=None)
    return FlowBacklog(
        flow="orders",
        measured_by="ledger released",
        waiting=len(released_at),
        oldest_seconds=max(0.0, oldest) if oldest is not None else None,
        over_alarm=oldest is not None and oldest > alarm_seconds,
    )


def queue_backlog(
    flow: str, queue: str, attributes: Mapping[str, Any], oldest_seconds: float | None, alarm_seconds: float
) -> FlowBacklog:
    """A work queue's depth (SQS GetQueueAttributes) and its oldest message's age (SQS's metric)."""
    waiting = int(attributes.get("ApproximateNumberOfMessages", 0))
    in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    return FlowBacklog(
        flow=flow,
        measured_by=f"queue {queue}",
        waiting=waiting,
        in_flight=in_flight,
        oldest_seconds=oldest_seconds if waiting + in_flight else None,
        over_alarm=bool(waiting + in_flight) and oldest_seconds is not None and oldest_seconds > alarm_seconds,
    )


def budget_state(item: Mapping[str, Any], now: datetime) -> BudgetState:
    """The bucket's tokens (refilled to `now` is the bucket's own business: this is what it last wrote)."""
    moment = now.timestamp()
    return BudgetState(
        key=str(item.get("pk", "")),
        tokens=float(item.get("tokens", 0)),
        orders_waiting_seconds=max(0.0, float(item.get("orders_waiting_until", 0)) - moment),
        blocked_seconds=max(0.0, float(item.get("blocked_until", 0)) - moment),
    )
