"""Consumes order messages a platform pushed into order-messages (a commercetools Subscription); de-duplicates
each and routes it to order-intake or cancel-requests, or drops it."""

from functions.kit import pushed_queue_hop
from shared.steps.subscriptions import take_message

lambda_handler = pushed_queue_hop(step=take_message, metric="OrderMessage")
