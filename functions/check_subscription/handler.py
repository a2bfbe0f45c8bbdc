"""On a schedule, reads the status of the subscription that pushes order messages to us; publishes
SubscriptionUnhealthy (alarmed) when it is missing or not Healthy."""

from functions.kit import schedule_hop
from shared.steps.subscription_health import check_subscription

lambda_handler = schedule_hop(check_subscription, metrics={"SubscriptionUnhealthy": "unhealthy"})
