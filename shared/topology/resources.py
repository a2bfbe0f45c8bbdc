"""The stateful resources: queues, tables and buckets, each declared once."""

from __future__ import annotations

from dataclasses import dataclass

# Queues and hops for messages a platform pushes itself: deployed where a subscription channel delivers.
SUBSCRIPTIONS = "subscriptions"


@dataclass(frozen=True)
class Queue:
    """A standard SQS queue; every queue gets a DLQ with a redrive allow policy."""

    name: str
    purpose: str
    pipeline: str
    visibility_timeout_seconds: int = 360


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: on-demand, PITR, encrypted. Key names are part of the stores' contract."""

    name: str
    purpose: str
    partition_key: str = "pk"
    sort_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[tuple[str, str, str], ...] = ()  # (index name, partition key, sort key)


@dataclass(frozen=True)
class Bucket:
    name: str
    purpose: str


QUEUES: tuple[Queue, ...] = (
    Queue(
        "order-intake", "sale references (webhook, poll, replay) waiting to be read and validated", pipeline="orders"
    ),
    Queue("order-submit", "validated canonical orders waiting to be created at the warehouse", pipeline="orders"),
    Queue(
        "shipment-writeback",
        "parcels the warehouse shipped, waiting to be written back to the source order",
        pipeline="shipments",
    ),
    Queue(
        "product-sync",
        "products changed at the master, waiting to be created or updated at the warehouse",
        pipeline="catalogue",
    ),
    Queue(
        "stock-sync",
        "SKUs whose available-to-sell must be recomputed and pushed (schedule, events, drift)",
        pipeline="stock",
    ),
    # Delivered by a platform itself (a commercetools Subscription), deployed only where one delivers.
    Queue(
        "order-messages",
        "order messages a platform pushed (a Subscription), waiting to be de-duplicated and routed",
        pipeline=SUBSCRIPTIONS,
    ),
    Queue(
        "cancel-requests",
        "cancel requests from any source, each waiting to start its cancellation execution",
        pipeline="cancellation",
    ),
    Queue(
        "return-writeback",
        "returns the warehouse booked in, waiting to be recorded on the order they came from",
        pipeline="returns",
    ),
)

TABLES: tuple[Table, ...] = (
    Table("idempotency", "Powertools idempotency records", partition_key="id", ttl_attribute="expiration"),
    Table(
        "ledger",
        "one item per order: source id -> warehouse id, stage, timestamps",
        indexes=(("by-stage", "stage", "stage_at"),),  # the order monitors: "at stage X since before T"
    ),
    Table(
        "exceptions",
        "quarantined records with reason, owner and the message to replay",
        # by-status: the inbox and retries; by-key: every exception of one record (resolve, where); by-flow:
        # one flow's exceptions in one status (the order monitor's own, without reading every open one)
        indexes=(
            ("by-status", "status", "last_seen"),
            ("by-key", "record_key", "flow_reason"),
            ("by-flow", "flow", "status"),
        ),
    ),
    Table("sku-map", "source SKU -> warehouse SKU status"),
    Table("cursors", "poll cursors (high-water marks) per client and feed"),
    Table("stock-levels", "last figure pushed per (target, SKU, location) with its explanation; drift caps"),
    Table(
        "messages",
        "pushed platform messages handled (by id) and the last version handled per resource",
        ttl_attribute="expires_at",
    ),
    Table("rate-budgets", "one token bucket per target account, shared by every hop that calls it"),
)

BUCKETS: tuple[Bucket, ...] = (Bucket("archive", "every inbound and outbound payload, with retention"),)
