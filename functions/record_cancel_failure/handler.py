"""Cancellation catch-all: records a failed execution in the exception inbox, for a person and a redrive."""

from functions.kit import task_hop
from shared.models.messages import CancelState
from shared.steps.cancellation import record_failure

lambda_handler = task_hop(CancelState, record_failure)
