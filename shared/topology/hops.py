"""The hops: one Lambda each, with its trigger and exactly the grants it needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.topology.grants import (
    ARCHIVE,
    BATCH_GET_ITEM,
    BATCH_WRITE_ITEM,
    BUDGET_TABLE,
    CONSUME,
    CURSOR,
    DELETE_ITEM,
    GET_ITEM,
    IDEMPOTENCY,
    LIST_BUCKET,
    PUT_ITEM,
    PUT_OBJECT,
    QUERY,
    RAISE,
    RAISE_AND_RESOLVE,
    RATE_BUDGET,
    SCAN,
    UPDATE_ITEM,
    Actions,
    Priority,
)
from shared.topology.names import WEBHOOK_PATH
from shared.topology.resources import SUBSCRIPTIONS as SUBSCRIPTIONS


@dataclass(frozen=True)
class QueueTrigger:
    queue: str
    batch_size: int = 10
    max_batching_window_seconds: int = 0


@dataclass(frozen=True)
class Route:
    """One real API route: `POST /webhooks/{platform}/{channel}` for a channel present in the client's config,
    refused at the edge without `header` (the request header the channel authenticates with)."""

    method: str
    path: str
    platform: str  # the platform instance (a `platforms:` key of the client file)
    channel: str  # a WebhookChannel name of that platform's connector
    header: str | None


@dataclass(frozen=True)
class ApiTrigger:
    """API Gateway routes into the hop. `path` is the route template; `routes` are the real ones, derived
    from one client's configured platforms by `for_config` (empty as declared in HOPS)."""

    method: str
    path: str
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class ScheduleTrigger:
    """`expression_field` names the ClientConfig attribute path holding the schedule expression."""

    expression_field: str


@dataclass(frozen=True)
class StateMachineTrigger:
    """Invoked by a Task state of the named state machine (no queue, API or schedule of its own)."""

    machine: str


Trigger = QueueTrigger | ApiTrigger | ScheduleTrigger | StateMachineTrigger


@dataclass(frozen=True)
class Hop:
    """One Lambda: one kind of input, one kind of effect. Grants are exactly what it touches. It is deployed
    only when its pipeline is in the client's config."""

    name: str
    description: str
    pipeline: str
    trigger: Trigger
    sends_to: tuple[str, ...] = ()
    tables: dict[str, Actions] = field(default_factory=dict)
    buckets: dict[str, Actions] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # ClientConfig attribute paths holding secret names
    timeout_seconds: int = 30
    memory_mb: int = 256
    reserved_concurrency: int | None = None
    priority: Priority = "orders"

    def __post_init__(self) -> None:
        # A hop that calls a platform draws on that platform's shared rate budget: granted here, once.
        if any(path.endswith("credentials_secret") for path in self.secrets):
            granted = self.tables.get(BUDGET_TABLE, ())
            merged = granted + tuple(a for a in RATE_BUDGET if a not in granted)
            object.__setattr__(self, "tables", {**self.tables, BUDGET_TABLE: merged})

    starts: tuple[str, ...] = ()  # state machines this hop starts executions of

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.handler.lambda_handler"

    @property
    def module(self) -> str:
        return f"functions.{self.name}.handler"


WEBHOOK_RECEIVER = "webhook_receiver"
WEBHOOKS = "webhooks"  # the receiver's pipeline: every pipeline's channels, so none of them alone
MESSAGE_CONSUMER = "take_order_message"
STOCK_PUSHER = "push_stock"  # its batch and batching window are the client's (stock settings; for_config)

HOPS: tuple[Hop, ...] = (
    # The one webhook receiver: its routes, the queues it sends to and the secrets it reads are those of the
    # channels present in the client's config (for_config derives them); it is deployed when one is.
    Hop(
        name=WEBHOOK_RECEIVER,
        pipeline=WEBHOOKS,
        description="Authenticates a platform webhook, archives it and enqueues what it asks for.",
        trigger=ApiTrigger("POST", WEBHOOK_PATH),
        tables={"exceptions": RAISE},  # an unparseable webhook is quarantined
        buckets={"archive": ARCHIVE},
        timeout_seconds=10,
    ),
    Hop(
        name="poll_sales",
        pipeline="orders",
        description="Safety net: lists sales changed since the cursor and enqueues the authorised and the voided.",
        trigger=ScheduleTrigger("pipelines.orders.poll_schedule"),
        sends_to=("order-intake", "cancel-requests"),
        tables={"cursors": CURSOR, "ledger": (BATCH_GET_ITEM,)},  # listed orders intake already dealt with
        secrets=("order_source.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
    ),
    # Platform-pushed order messages: de-duplicated, then release-checked at intake or cancelled. Its sends_to
    # keeps only the queues the client's pipelines deploy.
    Hop(
        name=MESSAGE_CONSUMER,
        pipeline=SUBSCRIPTIONS,
        description="De-duplicates pushed order messages and routes each to intake or cancellation, or drops it.",
        trigger=QueueTrigger("order-messages", batch_size=10),
        sends_to=("order-intake", "cancel-requests"),
        tables={
            "messages": (GET_ITEM, PUT_ITEM, UPDATE_ITEM),  # seen / last_version; record
            "exceptions": RAISE,  # unreadable or misrouted messages
        },
        buckets={"archive": ARCHIVE},
        secrets=("order_source.credentials_secret",),  # a message without its payload: the order is read
        timeout_seconds=30,
        reserved_concurrency=2,
    ),
    Hop(
        name="check_subscription",
        pipeline=SUBSCRIPTIONS,
        description="Reads the platform's subscription status; publishes SubscriptionUnhealthy when not Healthy.",
        trigger=ScheduleTrigger("monitoring.subscription_schedule"),
        secrets=("order_source.credentials_secret",),
        timeout_seconds=30,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name="order_intake",
        pipeline="orders",
        description="Reads the full sale, decides release/hold/skip/quarantine, enqueues released orders.",
        trigger=QueueTrigger("order-intake", batch_size=10),
        sends_to=("order-submit",),
        tables={
            "ledger": (UPDATE_ITEM,),  # record_delivery, count_duplicate, set_stage
            "sku-map": (BATCH_GET_ITEM, UPDATE_ITEM),  # live_skus; hold_for, mark_live
            "exceptions": CONSUME,  # validation supersedes the order's earlier reasons; a replay
        },
        buckets={"archive": ARCHIVE},
        secrets=("order_source.credentials_secret", "order_target.credentials_secret"),
        timeout_seconds=60,
        reserved_concurrency=2,
    ),
    Hop(
        name="order_submit",
        pipeline="orders",
        description="Creates the order at the warehouse exactly once and records it in the ledger.",
        trigger=QueueTrigger("order-submit", batch_size=10),
        tables={
            "idempotency": IDEMPOTENCY,
            # claim_submit (a refused claim reads the entry), record_submitted (+ the reference item), set_stage
            "ledger": (GET_ITEM, PUT_ITEM, UPDATE_ITEM),
            "exceptions": CONSUME,  # a refusal supersedes; a success resolves; a replay
        },
        buckets={"archive": ARCHIVE},
        # The source too: where it keeps the warehouse's order id (commercetools syncInfo), submit records it.
        secrets=("order_target.credentials_secret", "order_source.credentials_secret"),
        timeout_seconds=60,
        reserved_concurrency=2,
    ),
    Hop(
        name="poll_despatches",
        pipeline="shipments",
        description="Lists parcels the warehouse shipped since the cursor and enqueues each for write-back.",
        trigger=ScheduleTrigger("pipelines.shipments.poll_schedule"),
        sends_to=("shipment-writeback",),
        tables={
            "cursors": CURSOR,
            "exceptions": RAISE,  # unreadable rows
            # note_despatched: find_by_reference, the marker item; parcels already written back (batched)
            "ledger": (GET_ITEM, PUT_ITEM, UPDATE_ITEM, BATCH_GET_ITEM),
        },
        buckets={"archive": ARCHIVE},
        secrets=("shipment_source.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
    ),
    Hop(
        name="apply_shipment",
        pipeline="shipments",
        description="Writes one parcel (lines, carrier, tracking) back to the source order, once; closes it.",
        trigger=QueueTrigger("shipment-writeback", batch_size=5),
        tables={
            # get, find_by_reference; claim_task, record_shipment, set_stage; the despatch marker is cleared
            "ledger": (GET_ITEM, UPDATE_ITEM, DELETE_ITEM),
            "exceptions": CONSUME,  # get, quarantine(supersede), resolve, schedule_retry
        },
        buckets={"archive": ARCHIVE},
        secrets=("shipment_target.credentials_secret",),
        timeout_seconds=60,
        reserved_concurrency=1,
    ),
    Hop(
        name="poll_products",
        pipeline="catalogue",
        description="Lists products changed at the master since the cursor; flags orders held too long for a SKU.",
        trigger=ScheduleTrigger("pipelines.catalogue.poll_schedule"),
        sends_to=("product-sync",),
        # sku_map.waiting scans; held orders' alerts: read together (still open?), then raised
        tables={"cursors": CURSOR, "sku-map": (SCAN,), "exceptions": (*RAISE, BATCH_GET_ITEM)},
        buckets={"archive": (PUT_OBJECT, LIST_BUCKET)},  # unreadable rows; a held order's last source read
        secrets=("catalogue_source.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name="sync_product",
        pipeline="catalogue",
        description="Creates or updates one product at the warehouse, once per version; releases held orders.",
        trigger=QueueTrigger("product-sync", batch_size=10),
        sends_to=("order-intake", "product-sync"),  # product-sync: what it leaves for later (StepAsideError)
        tables={
            "sku-map": (GET_ITEM, UPDATE_ITEM),  # get; record, release_waiting
            "exceptions": CONSUME,
        },
        buckets={"archive": ARCHIVE},  # a refused or malformed product, archived as received
        secrets=("catalogue_target.credentials_secret",),
        timeout_seconds=60,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name="retry_writebacks",
        pipeline="shipments",
        description="Re-enqueues failed write-backs whose backoff has elapsed; escalated ones wait for a person.",
        trigger=ScheduleTrigger("pipelines.shipments.writeback.retry_schedule"),
        sends_to=("shipment-writeback",),
        tables={"exceptions": (QUERY, UPDATE_ITEM)},  # list by status; mark_requeued
        timeout_seconds=60,
        reserved_concurrency=1,
    ),
    # -- cancellation: a queue hop starts the state machine; each of its tasks is one hop --------------
    Hop(
        name="start_cancellation",
        pipeline="cancellation",
        description="Starts one cancellation execution per (client, order); a repeated request starts none.",
        trigger=QueueTrigger("cancel-requests", batch_size=10),
        tables={"exceptions": CONSUME},  # a malformed request, archived as received
        buckets={"archive": ARCHIVE},
        starts=("cancellation",),
        timeout_seconds=30,
    ),
    Hop(
        name="lookup_cancellation",
        pipeline="cancellation",
        description="Writes the cancel on the ledger entry and says where the order is (waits out a submit).",
        trigger=StateMachineTrigger("cancellation"),
        tables={"ledger": (UPDATE_ITEM,)},  # request_cancel
        secrets=("cancel_target.credentials_secret",),
        timeout_seconds=30,
    ),
    Hop(
        name="read_warehouse_status",
        pipeline="cancellation",
        description="Reads the order's live warehouse status: the warehouse's own code and the neutral status.",
        trigger=StateMachineTrigger("cancellation"),
        tables={"ledger": (GET_ITEM,)},
        secrets=("cancel_target.credentials_secret",),
        timeout_seconds=30,
    ),
    Hop(
        name="cancel_at_warehouse",
        pipeline="cancellation",
        description="Asks the warehouse to cancel an order at a status its cancel table allows.",
        trigger=StateMachineTrigger("cancellation"),
        secrets=("cancel_target.credentials_secret",),
        timeout_seconds=30,
    ),
    Hop(
        name="record_cancellation",
        pipeline="cancellation",
        description="Records the cancellation outcome; a refusal opens an exception owned by operations.",
        trigger=StateMachineTrigger("cancellation"),
        tables={"ledger": (UPDATE_ITEM,), "exceptions": RAISE},  # record_cancel_outcome; a refusal
        buckets={"archive": ARCHIVE},
        timeout_seconds=30,
    ),
    Hop(
        name="notify_cancellation",
        pipeline="cancellation",
        description="Writes the cancellation outcome back to the source order (a note on the sale).",
        trigger=StateMachineTrigger("cancellation"),
        secrets=("note_target.credentials_secret",),
        timeout_seconds=30,
    ),
    Hop(
        name="record_cancel_failure",
        pipeline="cancellation",
        description="Records a failed cancellation execution in the exception inbox, for a person and a redrive.",
        trigger=StateMachineTrigger("cancellation"),
        tables={"exceptions": RAISE},
        timeout_seconds=30,
    ),
    # Stock sync: one pusher fed by a full read on a schedule, by master events and by drift corrections.
    Hop(
        name="read_stock",
        pipeline="stock",
        description="Reads the master's stock figures (all, or those its feed says changed) and enqueues them, "
        "a page of SKUs per message.",
        trigger=ScheduleTrigger("pipelines.stock.schedule"),
        sends_to=("stock-sync",),
        tables={
            "exceptions": CONSUME,  # unreadable rows are quarantined; the feed's open endpoint exception
            "cursors": CURSOR,  # the changed-since feed's cursor and the last full read
            "stock-levels": (GET_ITEM,),  # SKUs awaiting confirmation, re-read by name
        },
        buckets={"archive": ARCHIVE},
        secrets=("stock_master.credentials_secret",),
        timeout_seconds=900,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name=STOCK_PUSHER,
        pipeline="stock",
        description="Computes available-to-sell for a set of SKUs and pushes only the figures that changed.",
        trigger=QueueTrigger("stock-sync", batch_size=5),
        sends_to=("stock-sync",),  # what it leaves for later while the target sheds load (StepAsideError)
        tables={
            # push_view (states, caps, refused figures); record (batch writer); await_confirmation, clear_pending
            "stock-levels": (BATCH_GET_ITEM, BATCH_WRITE_ITEM, UPDATE_ITEM),
            "exceptions": CONSUME,  # the open endpoint exception; unreadable rows, bad messages
            "ledger": (QUERY,),  # in-flight demand (by stage), when the order source is not the stock master
            "cursors": (GET_ITEM,),  # when the order poll last read a storefront source (SFCC's reset_date)
        },
        buckets={"archive": ARCHIVE},  # unreadable rows
        secrets=("stock_master.credentials_secret", "stock_target.credentials_secret"),
        timeout_seconds=60,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name="reconcile_stock",
        pipeline="stock",
        description="Compares the master's figures with the warehouse's, writes a dated drift report, alerts.",
        trigger=ScheduleTrigger("pipelines.stock.reconcile_schedule"),
        sends_to=("stock-sync",),
        tables={
            "stock-levels": (BATCH_GET_ITEM, GET_ITEM, PUT_ITEM),  # states; caps, replace_caps
            "exceptions": RAISE_AND_RESOLVE,  # list (by status), quarantine, resolve
            "ledger": (QUERY,),  # demand awaiting the warehouse (by stage)
        },
        buckets={"archive": ARCHIVE},  # the drift report, unreadable rows
        secrets=("stock_master.credentials_secret", "stock_reader.credentials_secret"),
        timeout_seconds=900,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name="monitor_orders",
        pipeline="orders",
        description="Flags stalled orders and source/warehouse disagreements; reports the exception rate.",
        trigger=ScheduleTrigger("monitoring.schedule"),
        tables={
            # entries_at, awaiting_writeback (by-stage); get_many (batched); mark_checked; clear_despatch
            "ledger": (QUERY, GET_ITEM, BATCH_GET_ITEM, UPDATE_ITEM, DELETE_ITEM),
            "exceptions": RAISE_AND_RESOLVE,  # in_status, quarantine, resolve
            "cursors": CURSOR,
        },
        secrets=("order_target.credentials_secret",),
        timeout_seconds=50,
        reserved_concurrency=1,
    ),
    Hop(
        name="poll_returns",
        pipeline="returns",
        description="Lists returns the warehouse booked in since the cursor and enqueues each for its order.",
        trigger=ScheduleTrigger("pipelines.returns.poll_schedule"),
        sends_to=("return-writeback",),
        tables={"cursors": CURSOR, "exceptions": RAISE},  # unreadable rows
        buckets={"archive": ARCHIVE},
        secrets=("return_source.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
    ),
    Hop(
        name="apply_return",
        pipeline="returns",
        description="Records one return on its order (returned lines, then back in stock or unusable), once.",
        trigger=QueueTrigger("return-writeback", batch_size=5),
        tables={"ledger": (GET_ITEM,), "exceptions": CONSUME},  # find_by_reference; quarantine, resolve
        buckets={"archive": ARCHIVE},
        secrets=("return_target.credentials_secret",),
        timeout_seconds=60,
        reserved_concurrency=1,
    ),
    Hop(
        name="reconcile_orders",
        pipeline="reconciliation",
        description="Daily: warehouse despatches and order states against the source's orders; dated report, alarm.",
        trigger=ScheduleTrigger("pipelines.reconciliation.schedule"),
        tables={"ledger": (SCAN,)},  # the orders the window touched
        buckets={"archive": ARCHIVE},  # the dated report
        secrets=(
            "shipment_source.credentials_secret",
            "order_target.credentials_secret",
            "order_records.credentials_secret",
        ),
        timeout_seconds=900,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name="audit_skus",
        pipeline="sku_audit",
        description="Daily: the shop's SKUs against the warehouse's, both ways, and stock ahead of the item.",
        trigger=ScheduleTrigger("pipelines.sku_audit.schedule"),
        buckets={"archive": ARCHIVE},  # the dated report
        secrets=("catalogue_audit.credentials_secret", "sku_listing.credentials_secret"),
        timeout_seconds=900,
        reserved_concurrency=1,
        priority="background",
    ),
)
