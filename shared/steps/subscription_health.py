"""The health of the subscription that pushes order messages to us, read on a schedule.

Apart from the consumer (shared/steps/subscriptions.py), so the check's cold start loads none of the
consumer's routing, message models or order models.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from shared import topology
from shared.runtime import Runtime

logger = Logger(child=True)

# The queue the subscription delivers into, whose consumer is shared/steps/subscriptions.py.
QUEUE = "order-messages"


def check_subscription(rt: Runtime) -> dict[str, int | str]:
    """The subscription's health as the platform reports it: `unhealthy` 1 (alarmed) when it is missing or
    its status is not Healthy, since then no message arrives and only the poll finds orders."""
    sub = topology.subscription_for_queue(rt.config, QUEUE)
    if sub is None:
        return {"skipped": f"no subscription delivers into {QUEUE}", "unhealthy": 0}
    health = rt.subscription_keeper.subscription_health()
    status = health.status if health.exists else "missing"
    if not health.healthy:
        logger.warning(
            "subscription not healthy: messages are not arriving",
            extra={"platform": sub.platform, "key": health.key, "status": status},
        )
    return {
        "outcome": "healthy" if health.healthy else "unhealthy",
        "status": status,
        "unhealthy": int(not health.healthy),
    }
