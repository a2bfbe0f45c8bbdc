"""Cancellation task: asks the warehouse to cancel the order; a refusal comes back as an answer."""

from functions.kit import task_hop
from shared.models.messages import CancelState
from shared.steps.cancellation import cancel_at_warehouse

lambda_handler = task_hop(CancelState, cancel_at_warehouse)
