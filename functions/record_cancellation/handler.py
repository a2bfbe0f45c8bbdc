"""Cancellation task: records the outcome in the ledger; a refusal opens an exception owned by operations."""

from functions.kit import task_hop
from shared.models.messages import CancelState
from shared.steps.cancellation import record

lambda_handler = task_hop(CancelState, record, metric="Cancel")
