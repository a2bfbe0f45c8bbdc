"""Scheduled: lists products changed at the master and enqueues them; flags orders held too long for a SKU."""

from functions.kit import schedule_hop
from shared.steps.catalogue import poll_products

lambda_handler = schedule_hop(
    poll_products,
    metrics={
        "ProductsEnqueued": "enqueued",
        "OrdersHeldTooLong": "held_too_long",
    },
)
