"""Scheduled: lists sales changed since the cursor and enqueues them for intake (missed-webhook net)."""

from functions.kit import schedule_hop
from shared.steps.poll_sales import poll_sales

lambda_handler = schedule_hop(poll_sales, metrics={"PollEnqueued": "enqueued"})
