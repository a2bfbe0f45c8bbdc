"""Scheduled: re-enqueues failed write-backs whose backoff has elapsed; reports escalated ones as a metric."""

from functions.kit import schedule_hop
from shared.steps.despatch import retry_due_writebacks

lambda_handler = schedule_hop(
    retry_due_writebacks,
    metrics={
        "WritebacksRequeued": "requeued",
        # The alarm on this metric pages operations: these write-backs exhausted their automatic retries.
        "WritebacksEscalated": "escalated_open",
    },
)
