"""Scheduled: the shop's SKUs against the warehouse's catalogue, both ways, as a dated report."""

from functions.kit import schedule_hop
from shared.steps.sku_audit import audit_skus

lambda_handler = schedule_hop(audit_skus, metrics={"SkuAuditGaps": "gaps"})
