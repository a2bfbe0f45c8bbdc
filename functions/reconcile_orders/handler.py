"""Scheduled: the warehouse's despatches and order states against the source's orders, as a dated report."""

from functions.kit import schedule_hop
from shared.steps.reconcile_orders import reconcile_orders

lambda_handler = schedule_hop(reconcile_orders, metrics={"OrdersReconciled": "compared", "ReconciliationGaps": "gaps"})
