"""Cancellation task: writes the cancel on the ledger and says where the order is (SubmitInFlightError: wait)."""

from functions.kit import task_hop
from shared.models.messages import CancelState
from shared.steps.cancellation import look_up

lambda_handler = task_hop(CancelState, look_up)
