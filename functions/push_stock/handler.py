"""Consumes stock-sync: computes available-to-sell for each message's SKUs and pushes only what changed."""

from functions.kit import queue_hop
from shared.models.stock import StockSyncMessage
from shared.steps.stock import FLOW, push_stock

lambda_handler = queue_hop(
    StockSyncMessage,
    flow=FLOW,
    step=push_stock,
    outcome=lambda _: "pushed",
    count_records=False,
    figures={
        "StockPushed": "pushed",
        "StockUnchanged": "unchanged",
        "StockAwaitingConfirmation": "awaiting_confirmation",
        "StockPushRejected": "rejected",
    },
)
