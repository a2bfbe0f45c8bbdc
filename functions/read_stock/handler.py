"""Scheduled: reads every stock figure at the master and enqueues them for the pusher, a page of SKUs at a time."""

from functions.kit import schedule_hop
from shared.steps.stock import read_stock

lambda_handler = schedule_hop(read_stock, metrics={"StockSkusRead": "skus_read"})
