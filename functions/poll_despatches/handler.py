"""Scheduled: lists parcels the warehouse shipped since the cursor and enqueues them for write-back."""

from functions.kit import schedule_hop
from shared.steps.despatch import poll_despatches

lambda_handler = schedule_hop(poll_despatches, metrics={"ParcelsEnqueued": "enqueued"})
