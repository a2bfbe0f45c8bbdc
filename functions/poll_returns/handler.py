"""Scheduled: lists returns the warehouse booked in since the cursor and enqueues them for their orders."""

from functions.kit import schedule_hop
from shared.steps.returns import poll_returns

lambda_handler = schedule_hop(poll_returns, metrics={"ReturnsEnqueued": "enqueued"})
