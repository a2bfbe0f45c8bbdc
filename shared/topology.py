"""The wiring, declared once: queues, tables, buckets, hops and what triggers them.

infra/ synthesizes exactly this; sandbox/ runs exactly this on moto. Adding a hop means adding one
`Hop` here and one folder under functions/; neither the stack nor the sandbox changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.config import ClientConfig

Access = Literal["read", "write", "read_write"]


@dataclass(frozen=True)
class Queue:
    """A standard SQS queue; every queue gets a DLQ with a redrive allow policy."""

    name: str
    purpose: str
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


@dataclass(frozen=True)
class QueueTrigger:
    queue: str
    batch_size: int = 10
    max_batching_window_seconds: int = 0


@dataclass(frozen=True)
class ApiTrigger:
    method: str
    path: str


@dataclass(frozen=True)
class ScheduleTrigger:
    """`expression_field` names the ClientConfig attribute path holding the schedule expression."""

    expression_field: str


Trigger = QueueTrigger | ApiTrigger | ScheduleTrigger


@dataclass(frozen=True)
class Hop:
    """One Lambda: one kind of input, one kind of effect. Grants are exactly what it touches."""

    name: str
    description: str
    trigger: Trigger
    sends_to: tuple[str, ...] = ()
    tables: dict[str, Access] = field(default_factory=dict)
    buckets: dict[str, Access] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # ClientConfig attribute paths holding secret names
    timeout_seconds: int = 30
    memory_mb: int = 256
    reserved_concurrency: int | None = None

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.handler.lambda_handler"

    @property
    def module(self) -> str:
        return f"functions.{self.name}.handler"


QUEUES: tuple[Queue, ...] = (
    Queue("order-intake", "sale references (webhook, poll, replay) waiting to be read and validated"),
    Queue("order-submit", "validated canonical orders waiting to be created at the warehouse"),
    Queue("shipment-writeback", "parcels the warehouse shipped, waiting to be written back to the source order"),
    Queue("product-sync", "products changed at the master, waiting to be created or updated at the warehouse"),
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
        indexes=(("by-status", "status", "last_seen"),),
    ),
    Table("sku-map", "source SKU -> warehouse SKU status"),
    Table("cursors", "poll cursors (high-water marks) per client and feed"),
)

BUCKETS: tuple[Bucket, ...] = (Bucket("archive", "every inbound and outbound payload, with retention"),)

HOPS: tuple[Hop, ...] = (
    Hop(
        name="webhook_receiver",
        description="Authenticates a Cin7 Core sale webhook, archives it and enqueues the sale reference.",
        trigger=ApiTrigger("POST", "/webhooks/cin7-core"),
        sends_to=("order-intake",),
        tables={"exceptions": "read_write"},  # an unparseable webhook is quarantined
        buckets={"archive": "write"},
        secrets=("source.webhook_secret",),
        timeout_seconds=10,
    ),
    Hop(
        name="poll_sales",
        description="Safety net: lists authorised sales changed since the cursor and enqueues them.",
        trigger=ScheduleTrigger("source.poll_schedule"),
        sends_to=("order-intake",),
        tables={"cursors": "read_write"},
        secrets=("source.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
    ),
    Hop(
        name="order_intake",
        description="Reads the full sale, decides release/hold/skip/quarantine, enqueues released orders.",
        trigger=QueueTrigger("order-intake", batch_size=10),
        sends_to=("order-submit",),
        tables={"ledger": "read_write", "sku-map": "read_write", "exceptions": "read_write"},
        buckets={"archive": "write"},
        secrets=("source.credentials_secret", "warehouse.credentials_secret"),
        timeout_seconds=60,
        reserved_concurrency=2,
    ),
    Hop(
        name="order_submit",
        description="Creates the order at the warehouse exactly once and records it in the ledger.",
        trigger=QueueTrigger("order-submit", batch_size=10),
        tables={"idempotency": "read_write", "ledger": "read_write", "exceptions": "read_write"},
        buckets={"archive": "write"},
        secrets=("warehouse.credentials_secret",),
        timeout_seconds=60,
        reserved_concurrency=2,
    ),
    Hop(
        name="poll_despatches",
        description="Lists parcels the warehouse shipped since the cursor and enqueues each for write-back.",
        trigger=ScheduleTrigger("warehouse.despatch_poll_schedule"),
        sends_to=("shipment-writeback",),
        tables={"cursors": "read_write", "exceptions": "read_write", "ledger": "read_write"},
        buckets={"archive": "write"},
        secrets=("warehouse.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
    ),
    Hop(
        name="apply_shipment",
        description="Writes one parcel (lines, carrier, tracking) back to the source order, once; closes it.",
        trigger=QueueTrigger("shipment-writeback", batch_size=5),
        tables={"ledger": "read_write", "exceptions": "read_write"},
        buckets={"archive": "write"},
        secrets=("source.credentials_secret",),
        timeout_seconds=60,
        reserved_concurrency=1,
    ),
    Hop(
        name="poll_products",
        description="Lists products changed at the master since the cursor; flags orders held too long for a SKU.",
        trigger=ScheduleTrigger("catalogue.poll_schedule"),
        sends_to=("product-sync",),
        tables={"cursors": "read_write", "sku-map": "read_write", "exceptions": "read_write"},
        buckets={"archive": "write"},
        secrets=("source.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
    ),
    Hop(
        name="sync_product",
        description="Creates or updates one product at the warehouse, once per version; releases held orders.",
        trigger=QueueTrigger("product-sync", batch_size=10),
        sends_to=("order-intake",),
        tables={"sku-map": "read_write", "exceptions": "read_write"},
        secrets=("warehouse.credentials_secret",),
        timeout_seconds=60,
        reserved_concurrency=1,
    ),
    Hop(
        name="retry_writebacks",
        description="Re-enqueues failed write-backs whose backoff has elapsed; escalated ones wait for a person.",
        trigger=ScheduleTrigger("writeback.retry_schedule"),
        sends_to=("shipment-writeback",),
        tables={"exceptions": "read_write"},
        timeout_seconds=60,
        reserved_concurrency=1,
    ),
    Hop(
        name="monitor_orders",
        description="Flags stalled orders and source/warehouse disagreements; reports the exception rate.",
        trigger=ScheduleTrigger("monitoring.schedule"),
        tables={"ledger": "read_write", "exceptions": "read_write", "cursors": "read_write"},
        secrets=("warehouse.credentials_secret",),
        timeout_seconds=50,
        reserved_concurrency=1,
    ),
)


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
        name="orders-held-for-sku",
        hop="poll_products",
        metric="OrdersHeldTooLong",
        threshold=0,
        team="ecommerce",
        description="Orders have waited longer than catalogue.hold_alert_minutes for a SKU to reach the "
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


def queue(name: str) -> Queue:
    return next(q for q in QUEUES if q.name == name)


def hop(name: str) -> Hop:
    return next(h for h in HOPS if h.name == name)


def config_value(config: ClientConfig, path: str) -> str:
    """Follow a dotted attribute path (e.g. 'source.poll_schedule') into the client config."""
    value: object = config
    for part in path.split("."):
        value = getattr(value, part)
    return str(value)


# Environment variable names: the only contract between infra (which sets them) and runtime (reads them).
def queue_url_env(name: str) -> str:
    return f"QUEUE_URL_{name.upper().replace('-', '_')}"


def table_env(name: str) -> str:
    return f"TABLE_{name.upper().replace('-', '_')}"


def bucket_env(name: str) -> str:
    return f"BUCKET_{name.upper().replace('-', '_')}"


def secret_env(path: str) -> str:
    return "SECRET_" + path.upper().replace(".", "_")


def validate() -> None:
    """Fail fast on a wiring mistake (a hop naming a queue or table that is not declared)."""
    queue_names = {q.name for q in QUEUES}
    table_names = {t.name for t in TABLES}
    bucket_names = {b.name for b in BUCKETS}
    consumers: dict[str, str] = {}
    for h in HOPS:
        for target in h.sends_to:
            if target not in queue_names:
                raise ValueError(f"hop {h.name} sends to undeclared queue {target}")
        if isinstance(h.trigger, QueueTrigger):
            if h.trigger.queue not in queue_names:
                raise ValueError(f"hop {h.name} consumes undeclared queue {h.trigger.queue}")
            if h.trigger.queue in consumers:
                raise ValueError(f"queue {h.trigger.queue} has two consumers")
            consumers[h.trigger.queue] = h.name
            # AWS: visibility timeout must be >= 6x the function timeout for SQS event sources.
            if queue(h.trigger.queue).visibility_timeout_seconds < 6 * h.timeout_seconds:
                raise ValueError(f"queue {h.trigger.queue}: visibility timeout < 6x {h.name} timeout")
        for t in h.tables:
            if t not in table_names:
                raise ValueError(f"hop {h.name} uses undeclared table {t}")
        for b in h.buckets:
            if b not in bucket_names:
                raise ValueError(f"hop {h.name} uses undeclared bucket {b}")
    hop_names = {h.name for h in HOPS}
    for alert in ALERTS:
        if alert.hop not in hop_names:
            raise ValueError(f"alert {alert.name} watches undeclared hop {alert.hop}")
    orphans = queue_names - set(consumers)
    if orphans:
        raise ValueError(f"queues without a consumer: {sorted(orphans)}")


validate()
