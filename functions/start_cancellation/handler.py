"""Consumes cancel requests (any source) and starts one cancellation execution per (client, order)."""

from functions.kit import queue_hop
from shared.models.messages import CancelRequest
from shared.steps.cancellation import start

lambda_handler = queue_hop(CancelRequest, flow="cancellation", step=start, metric="Cancel", count_records=False)
