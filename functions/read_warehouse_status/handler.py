"""Cancellation task: reads the order's live status at the warehouse, as a neutral status."""

from functions.kit import task_hop
from shared.models.messages import CancelState
from shared.steps.cancellation import read_status

lambda_handler = task_hop(CancelState, read_status)
