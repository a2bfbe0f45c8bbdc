"""Consumes returns from return-writeback and records each on the order it came from, once."""

from functions.kit import queue_hop
from shared.models.messages import ReturnMessage
from shared.steps.returns import FLOW, apply_return

lambda_handler = queue_hop(ReturnMessage, flow=FLOW, step=apply_return, metric="Return")
