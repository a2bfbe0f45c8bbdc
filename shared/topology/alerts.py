"""Alarms on the business metrics hops emit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricAlert:
    """An alarm on a business metric a hop emits (Powertools EMF: namespace Hopline, dimension service)."""

    name: str
    hop: str
    metric: str
    threshold: float
    team: str
    description: str
    statistic: str = "Maximum"
    period_minutes: int = 5
    threshold_field: str | None = None  # a ClientConfig path whose value replaces `threshold`


ALERTS: tuple[MetricAlert, ...] = (
    MetricAlert(
        name="subscription-unhealthy",
        hop="check_subscription",
        metric="SubscriptionUnhealthy",
        threshold=0,
        team="operations",
        description="The platform's subscription is missing or not Healthy: its order messages are not arriving "
        "and only the poll finds orders. `hopline subscription check`, then the platform's subscription status.",
    ),
    MetricAlert(
        name="orders-held-for-sku",
        hop="poll_products",
        metric="OrdersHeldTooLong",
        threshold=0,
        team="ecommerce",
        description="Orders have waited longer than pipelines.catalogue.hold_alert_minutes for a SKU to reach the "
        "warehouse: see the exception inbox (reason sku_pending) and the product sync exceptions.",
    ),
    MetricAlert(
        name="writebacks-escalated",
        hop="retry_writebacks",
        metric="WritebacksEscalated",
        threshold=0,
        team="operations",
        description="Tracking write-backs to the source failed after every automatic retry and wait for a "
        "person: see the exception inbox (flow shipment_writeback, reason writeback_rejected).",
    ),
    MetricAlert(
        name="stock-drift",
        hop="reconcile_stock",
        metric="DriftSkusFlagged",
        threshold=0,
        team="operations",
        description="Cin7 Core and the warehouse disagree about sellable stock by more than "
        "pipelines.stock.drift_threshold_units: see the dated drift report and the exception inbox "
        "(reason stock_drift).",
    ),
    MetricAlert(
        name="orders-unreconciled",
        hop="reconcile_orders",
        metric="ReconciliationGaps",
        threshold=0,
        team="operations",
        description="The daily reconciliation found orders whose despatches or states differ between the "
        "warehouse and the source: see the dated order-reconciliation report.",
        period_minutes=1440,
    ),
    MetricAlert(
        name="skus-unmatched",
        hop="audit_skus",
        metric="SkuAuditGaps",
        threshold=0,
        team="ecommerce",
        description="The daily SKU audit found SKUs the shop sells that the warehouse lacks, the reverse, or "
        "stock at the shop for an item the warehouse lacks: see the dated sku-audit report.",
        period_minutes=1440,
    ),
    MetricAlert(
        name="stock-push-rejected",
        hop="push_stock",
        metric="StockPushRejected",
        threshold=0,
        team="ecommerce",
        description="The stock target refused figures (e.g. a SKU it does not hold): see the exception inbox "
        "(reason stock_push_rejected).",
    ),
    MetricAlert(
        name="orders-stalled",
        hop="monitor_orders",
        metric="StalledOrders",
        threshold=0,
        team="operations",
        description="Orders have stayed at one stage longer than their SLA (monitoring.sla_minutes), e.g. ready "
        "in the source but not at the warehouse: `hopline exceptions --reason order_stalled`.",
        period_minutes=1,
    ),
    MetricAlert(
        name="orders-mismatched",
        hop="monitor_orders",
        metric="OrderMismatches",
        threshold=0,
        team="operations",
        description="The ledger and the warehouse disagree about open orders (missing or cancelled at the "
        "warehouse, or despatched with nothing written back): `hopline exceptions --reason order_mismatch`.",
        period_minutes=1,
    ),
    MetricAlert(
        name="orders-backlog",
        hop="monitor_orders",
        metric="OrdersOldestWaitSeconds",
        threshold=600,
        team="operations",
        description="The oldest released order has waited longer than monitoring.backlog_alarm_seconds to reach "
        "the target: at peak, orders queue behind its rate budget (Cin7 Core: 60 calls a minute for every flow). "
        "`hopline backlog` shows how many wait per flow and whether the budget is the cause.",
        period_minutes=1,
        threshold_field="monitoring.backlog_alarm_seconds",
    ),
    MetricAlert(
        name="quarantine-rate",
        hop="monitor_orders",
        metric="ExceptionsRaised",
        threshold=10,
        team="operations",
        description="More records than monitoring.quarantine_alarm_threshold were quarantined or refused within "
        "15 minutes: a bad feed, a changed platform or an outage. `hopline exceptions` grouped by reason.",
        statistic="Sum",
        period_minutes=15,
        threshold_field="monitoring.quarantine_alarm_threshold",
    ),
)
