"""Cancellation task: writes the outcome back to the order's source (a note on the Cin7 Core sale)."""

from functions.kit import task_hop
from shared.models.messages import CancelState
from shared.steps.cancellation import notify

lambda_handler = task_hop(CancelState, notify)
