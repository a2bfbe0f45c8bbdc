"""Scheduled (every minute): flags stalled and mismatched orders; reports the numbers the alarms watch."""

from functions.kit import schedule_hop
from shared.steps.monitors import monitor_orders

# Gauges: the alarms stay in ALARM while any order is stalled or mismatched, and clear when none is.
lambda_handler = schedule_hop(
    monitor_orders,
    metrics={
        "StalledOrders": "stalled",
        "OrderMismatches": "mismatches_open",
        "ExceptionsRaised": "exceptions_raised",
        "MismatchChecks": "mismatch_checked",
        # The backlog behind the target's rate budget at peak: how many released orders wait, and the oldest's age.
        "OrdersWaiting": "orders_waiting",
        "OrdersOldestWaitSeconds": "orders_oldest_wait_seconds",
    },
)
