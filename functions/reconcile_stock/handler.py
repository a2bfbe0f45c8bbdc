"""Scheduled: compares the master's stock at the warehouse location with the warehouse's; dated drift report."""

from functions.kit import schedule_hop
from shared.steps.stock import reconcile_stock

lambda_handler = schedule_hop(reconcile_stock, metrics={"DriftSkus": "drift_skus", "DriftSkusFlagged": "flagged"})
