"""The wiring, declared once: queues, tables, buckets, hops and what triggers them.

infra/ synthesizes exactly this; sandbox/ runs exactly this on moto. Adding a hop means adding one
`Hop` here and one folder under functions/; neither the stack nor the sandbox changes.

A hop's grants are the IAM actions it performs, per resource, and nothing else:

- `tables={"exceptions": RAISE, "ledger": (GET_ITEM, UPDATE_ITEM)}`: DynamoDB actions per table, from the
  constants below (`dynamodb:Query` is also granted on each of the table's declared indexes). Name the
  actions of every store method the hop's code can reach, error paths included; the named sets below
  (RAISE, RAISE_AND_RESOLVE, CURSOR, IDEMPOTENCY, ARCHIVE) cover the common store methods. A hop that calls
  a platform is granted RATE_BUDGET on the budget table without declaring it.
- `buckets={"archive": (PUT_OBJECT,)}`: S3 object actions (`s3:ListBucket` applies to the bucket itself).
- `sends_to` grants `sqs:SendMessage` on each queue; `secrets` grants `secretsmanager:GetSecretValue` on
  each named secret; `starts` grants `states:StartExecution` on each state machine.

shared/wiring.py turns a hop into its environment and grants; infra/ sets and grants exactly those, and the
sandbox refuses (AccessDenied, as AWS would) any call a hop makes outside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from shared.config import ClientConfig
from shared.connectors.spec import Role

# IAM actions a hop may be granted, spelled as a policy spells them (the sandbox checks calls against these).
GET_ITEM = "dynamodb:GetItem"
PUT_ITEM = "dynamodb:PutItem"
UPDATE_ITEM = "dynamodb:UpdateItem"
DELETE_ITEM = "dynamodb:DeleteItem"
QUERY = "dynamodb:Query"
SCAN = "dynamodb:Scan"
BATCH_GET_ITEM = "dynamodb:BatchGetItem"
BATCH_WRITE_ITEM = "dynamodb:BatchWriteItem"
GET_OBJECT = "s3:GetObject"
PUT_OBJECT = "s3:PutObject"
LIST_BUCKET = "s3:ListBucket"
SEND_MESSAGE = "sqs:SendMessage"
GET_SECRET_VALUE = "secretsmanager:GetSecretValue"  # noqa: S105 - an IAM action name, not a secret
START_EXECUTION = "states:StartExecution"
TABLE_ACTIONS = frozenset({GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM, QUERY, SCAN, BATCH_GET_ITEM, BATCH_WRITE_ITEM})
BUCKET_ACTIONS = frozenset({GET_OBJECT, PUT_OBJECT, LIST_BUCKET})
Actions = tuple[str, ...]

# Named sets: what store methods do (shared/stores/*), so a hop's declaration reads as its behaviour.
RAISE: Actions = (UPDATE_ITEM,)  # exceptions.quarantine (opens or counts one reason), schedule_retry, mark_requeued
RAISE_AND_RESOLVE: Actions = (UPDATE_ITEM, QUERY)  # + exceptions.resolve, quarantine(supersede=True): by-key
# A queue consumer: quarantines a bad message, reads the exception a replay names (get), resolves it once it parses.
CONSUME: Actions = (GET_ITEM, UPDATE_ITEM, QUERY)
CURSOR: Actions = (GET_ITEM, PUT_ITEM)  # cursors.get, advance, move_to
RATE_BUDGET: Actions = (GET_ITEM, PUT_ITEM)  # rate_budget.DynamoTokenBucket: read, conditional write
# Powertools idempotency: conditional put, read on conflict, update on success, delete when the call fails.
IDEMPOTENCY: Actions = (GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM)
ARCHIVE: Actions = (PUT_OBJECT,)  # archive.put, put_report
# Order hops draw on a shared rate budget freely; background hops (stock, catalogue) yield to them.
Priority = Literal["orders", "background"]
PRIORITY_ENV = "HOPLINE_PRIORITY"
BUDGET_TABLE = "rate-budgets"


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
    Queue(
        "cancel-requests",
        "cancel requests from any source, each waiting to start its cancellation execution",
        pipeline="cancellation",
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
        # by-status: the inbox and retries; by-key: every exception of one record (resolve, where)
        indexes=(("by-status", "status", "last_seen"), ("by-key", "record_key", "flow_reason")),
    ),
    Table("sku-map", "source SKU -> warehouse SKU status"),
    Table("cursors", "poll cursors (high-water marks) per client and feed"),
    Table("stock-levels", "last figure pushed per (target, SKU, location) with its explanation; drift caps"),
    Table("rate-budgets", "one token bucket per target account, shared by every hop that calls it"),
)

BUCKETS: tuple[Bucket, ...] = (Bucket("archive", "every inbound and outbound payload, with retention"),)

HOPS: tuple[Hop, ...] = (
    Hop(
        name="webhook_receiver",
        pipeline="orders",
        description="Authenticates a Cin7 Core sale webhook, archives it and enqueues the sale reference.",
        trigger=ApiTrigger("POST", "/webhooks/cin7-core"),
        sends_to=("order-intake", "cancel-requests"),
        tables={"exceptions": RAISE},  # an unparseable webhook is quarantined
        buckets={"archive": ARCHIVE},
        secrets=("order_source.webhook_secret",),
        timeout_seconds=10,
    ),
    Hop(
        name="poll_sales",
        pipeline="orders",
        description="Safety net: lists authorised and voided sales changed since the cursor and enqueues them.",
        trigger=ScheduleTrigger("pipelines.orders.poll_schedule"),
        sends_to=("order-intake", "cancel-requests"),
        tables={"cursors": CURSOR},
        secrets=("order_source.credentials_secret",),
        timeout_seconds=120,
        reserved_concurrency=1,
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
        secrets=("order_target.credentials_secret",),
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
            "ledger": (GET_ITEM, PUT_ITEM, UPDATE_ITEM),  # note_despatched: find_by_reference, the marker item
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
        tables={"cursors": CURSOR, "sku-map": (SCAN,), "exceptions": RAISE},  # sku_map.waiting scans
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
        sends_to=("order-intake",),
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
        name="stock_webhook",
        pipeline="stock",
        description="Authenticates a Cin7 Core stock-level webhook and enqueues its SKUs for a fresh read.",
        trigger=ApiTrigger("POST", "/webhooks/cin7-core/stock"),
        sends_to=("stock-sync",),
        tables={"exceptions": RAISE},  # a malformed body is quarantined
        buckets={"archive": ARCHIVE},
        secrets=("stock_master.webhook_secret",),
        timeout_seconds=10,
    ),
    Hop(
        name="read_stock",
        pipeline="stock",
        description="Reads every stock figure at the master and enqueues them, a page of SKUs per message.",
        trigger=ScheduleTrigger("pipelines.stock.schedule"),
        sends_to=("stock-sync",),
        tables={"exceptions": RAISE},  # unreadable rows are quarantined
        buckets={"archive": ARCHIVE},
        secrets=("stock_master.credentials_secret",),
        timeout_seconds=900,
        reserved_concurrency=1,
        priority="background",
    ),
    Hop(
        name="push_stock",
        pipeline="stock",
        description="Computes available-to-sell for a set of SKUs and pushes only the figures that changed.",
        trigger=QueueTrigger("stock-sync", batch_size=5),
        tables={
            # states; caps; record (batch writer); await_confirmation, clear_pending
            "stock-levels": (BATCH_GET_ITEM, GET_ITEM, BATCH_WRITE_ITEM, UPDATE_ITEM),
            "exceptions": CONSUME,  # the open endpoint exception; unreadable rows, bad messages
            "ledger": (SCAN,),  # in-flight demand, when the order source is not the stock master
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
            "ledger": (SCAN,),  # demand awaiting the warehouse
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
            # entries_at, awaiting_writeback (by-stage); get; mark_checked; clear_despatch
            "ledger": (QUERY, GET_ITEM, UPDATE_ITEM, DELETE_ITEM),
            "exceptions": RAISE_AND_RESOLVE,  # in_status, quarantine, resolve
            "cursors": CURSOR,
        },
        secrets=("order_target.credentials_secret",),
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


# -- state machines: declared here like the rest, rendered by infra/, executed on moto by sandbox/ ----------


@dataclass(frozen=True)
class RetryPolicy:
    """Step Functions Retry: `errors` are exception class names a hop raises (the Lambda errorType)."""

    errors: tuple[str, ...]
    interval_seconds: int
    max_attempts: int
    backoff_rate: float = 2.0


@dataclass(frozen=True)
class TaskState:
    """A Task state that invokes one hop; its result lands at `result_path` of the execution document."""

    name: str
    hop: str
    result_path: str
    next: str | None  # None: the execution ends after this task
    retries: tuple[RetryPolicy, ...]
    catch_to: str  # every error not retried away goes here, with the error at $.error


@dataclass(frozen=True)
class ChoiceState:
    """Branch on one string field. `values` is the closed set the field can take; `route` names the next
    state for a value (given the client config), so the rendered rules cover every value explicitly."""

    name: str
    field: str
    values: tuple[str, ...]
    route: Callable[[ClientConfig, str], str]
    targets: tuple[str, ...]  # every state `route` may name
    default: str

    def routes(self, config: ClientConfig) -> dict[str, str]:
        """value -> next state for this client; refuses a route outside the declared targets."""
        table = {value: self.route(config, value) for value in self.values}
        stray = sorted(set(table.values()) - set(self.targets))
        if stray:
            raise ValueError(f"choice {self.name} routes to undeclared states {stray}")
        return table


@dataclass(frozen=True)
class SucceedState:
    name: str


@dataclass(frozen=True)
class FailState:
    name: str
    error: str
    cause: str


State = TaskState | ChoiceState | SucceedState | FailState


@dataclass(frozen=True)
class StateMachine:
    name: str
    purpose: str
    start_at: str
    states: tuple[State, ...]
    timeout_seconds: int = 3600

    def state(self, name: str) -> State:
        return next(s for s in self.states if s.name == name)


# Errors raised by connectors that a later attempt may not meet (class names from shared.errors).
TRANSIENT = RetryPolicy(("TransientError", "RateLimitedError"), interval_seconds=5, max_attempts=4, backoff_rate=2.0)
# 10+20+40+80+160 s: longer than a submit can stay in flight (shared.steps.cancellation.submit_lease_seconds).
SUBMIT_IN_FLIGHT = RetryPolicy(("SubmitInFlightError",), interval_seconds=10, max_attempts=5, backoff_rate=2.0)


def _where_is_the_order(config: ClientConfig, place: str) -> str:
    return "ReadWarehouseStatus" if place == "at_warehouse" else "RecordOutcome"


def _warehouse_allows_cancel(config: ClientConfig, code: str) -> str:
    """One route per warehouse status code, from the pure decision over the warehouse's cancel table."""
    from shared.connectors import warehouses
    from shared.flows.cancellation import Decision, Place, decide

    status = warehouses.status_read(config, code)
    decision = decide(Place.AT_WAREHOUSE, status, warehouses.cancel_rules(config)).decision
    return "CancelAtWarehouse" if decision == Decision.CANCEL_AT_WAREHOUSE else "RecordOutcome"


def _cancellation_machine() -> StateMachine:
    from shared.connectors import warehouses

    def task(
        name: str,
        hop_name: str,
        result_path: str,
        next_state: str | None,
        *extra: RetryPolicy,
        catch_to: str = "RecordFailure",
    ) -> TaskState:
        return TaskState(name, hop_name, result_path, next_state, (*extra, TRANSIENT), catch_to=catch_to)

    return StateMachine(
        name="cancellation",
        purpose="State-aware cancellation: cancel before submit or where the warehouse's table allows it, "
        "otherwise refuse and route to operations; every step recorded",
        start_at="LookUpOrder",
        states=(
            task("LookUpOrder", "lookup_cancellation", "$.lookup", "WhereIsTheOrder", SUBMIT_IN_FLIGHT),
            ChoiceState(
                "WhereIsTheOrder",
                "$.lookup.route",
                ("not_submitted", "at_warehouse", "cancelled"),
                _where_is_the_order,
                ("ReadWarehouseStatus", "RecordOutcome"),
                default="RouteUnknown",
            ),
            task("ReadWarehouseStatus", "read_warehouse_status", "$.warehouse", "WarehouseAllowsCancel"),
            # One rule per warehouse status code: only a code whose rule is "cancel" reaches the cancel call.
            ChoiceState(
                "WarehouseAllowsCancel",
                "$.warehouse.code",
                warehouses.status_codes(),
                _warehouse_allows_cancel,
                ("CancelAtWarehouse", "RecordOutcome"),
                default="RecordOutcome",
            ),
            task("CancelAtWarehouse", "cancel_at_warehouse", "$.cancel", "RecordOutcome"),
            task("RecordOutcome", "record_cancellation", "$.record", "NotifySource"),
            # A courtesy once the outcome is recorded: its failure is recorded for operations, and the saga succeeds.
            task("NotifySource", "notify_cancellation", "$.notify", "Done", catch_to="RecordNoteFailure"),
            SucceedState("Done"),
            TaskState(
                "RecordNoteFailure",
                "record_cancel_failure",
                "$.failure",
                "Done",
                (TRANSIENT,),
                catch_to="CancellationFailed",
            ),
            TaskState(
                "RecordFailure",
                "record_cancel_failure",
                "$.failure",
                "CancellationFailed",
                (TRANSIENT,),
                catch_to="CancellationFailed",
            ),
            FailState(
                "CancellationFailed",
                "CancellationFailed",
                "A step failed after its retries; see the exception inbox (flow cancellation), then redrive",
            ),
            FailState("RouteUnknown", "RouteUnknown", "The order lookup returned a route this machine does not know"),
        ),
    )


STATE_MACHINES: tuple[StateMachine, ...] = (_cancellation_machine(),)


@dataclass(frozen=True)
class Topology:
    """The resources one client's stack holds: only the queues, hops, state machines and alerts of the
    pipelines its config names (tables and the archive serve every pipeline)."""

    queues: tuple[Queue, ...]
    tables: tuple[Table, ...]
    buckets: tuple[Bucket, ...]
    hops: tuple[Hop, ...]
    state_machines: tuple[StateMachine, ...]
    alerts: tuple[MetricAlert, ...]

    def hop(self, name: str) -> Hop:
        return next(h for h in self.hops if h.name == name)

    @property
    def queue_names(self) -> frozenset[str]:
        return frozenset(q.name for q in self.queues)


# The state machines, by the pipeline that runs them.
MACHINE_PIPELINE = {"cancellation": "cancellation"}


def _receives(config: ClientConfig, hop: Hop) -> bool:
    """A webhook hop is deployed only when the platform playing its role declares an inbound channel for it:
    a polled source (SFCC sends no order webhooks) gets no receiver and no webhook secret."""
    if not isinstance(hop.trigger, ApiTrigger):
        return True
    roles = {Role(path.partition(".")[0]) for path in hop.secrets if path.partition(".")[0] in ROLE_NAMES}
    return any(role in channel.roles for role in roles for channel in config.spec(config.platform_for(role)).inbound)


def for_config(config: ClientConfig) -> Topology:
    """The topology of one client: a pipeline left out of its config deploys nothing of its own."""
    enabled = set(config.pipelines.enabled())
    hops = tuple(h for h in HOPS if h.pipeline in enabled and _receives(config, h))
    names = {h.name for h in hops}
    return Topology(
        queues=tuple(q for q in QUEUES if q.pipeline in enabled),
        tables=TABLES,
        buckets=BUCKETS,
        hops=hops,
        state_machines=tuple(m for m in STATE_MACHINES if MACHINE_PIPELINE[m.name] in enabled),
        alerts=tuple(a for a in ALERTS if a.hop in names),
    )


def state_machine(name: str) -> StateMachine:
    return next(m for m in STATE_MACHINES if m.name == name)


def queue(name: str) -> Queue:
    return next(q for q in QUEUES if q.name == name)


def hop(name: str) -> Hop:
    return next(h for h in HOPS if h.name == name)


def table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


def config_value(config: ClientConfig, path: str) -> str:
    """Follow a dotted path into the client config: attributes (e.g. 'pipelines.orders.poll_schedule'), or
    a role first ('order_source.credentials_secret': the settings of the platform playing that role)."""
    head, _, rest = path.partition(".")
    value: object = config.settings_for(Role(head)) if head in ROLE_NAMES else config
    for part in (rest if head in ROLE_NAMES else path).split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return str(value)


ROLE_NAMES = frozenset(role.value for role in Role)


# Environment variable names: the only contract between infra (which sets them) and runtime (reads them).
def queue_url_env(name: str) -> str:
    return f"QUEUE_URL_{name.upper().replace('-', '_')}"


def table_env(name: str) -> str:
    return f"TABLE_{name.upper().replace('-', '_')}"


def bucket_env(name: str) -> str:
    return f"BUCKET_{name.upper().replace('-', '_')}"


def secret_env(path: str) -> str:
    return "SECRET_" + path.upper().replace(".", "_")


def state_machine_env(name: str) -> str:
    return f"STATE_MACHINE_ARN_{name.upper().replace('-', '_')}"


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
        for t, actions in h.tables.items():
            if t not in table_names:
                raise ValueError(f"hop {h.name} uses undeclared table {t}")
            if not actions or set(actions) - TABLE_ACTIONS or len(set(actions)) != len(actions):
                raise ValueError(f"hop {h.name}: table {t} actions {actions} are not distinct DynamoDB actions")
        for b, actions in h.buckets.items():
            if b not in bucket_names:
                raise ValueError(f"hop {h.name} uses undeclared bucket {b}")
            if not actions or set(actions) - BUCKET_ACTIONS or len(set(actions)) != len(actions):
                raise ValueError(f"hop {h.name}: bucket {b} actions {actions} are not distinct S3 actions")
    hop_names = {h.name for h in HOPS}
    for alert in ALERTS:
        if alert.hop not in hop_names:
            raise ValueError(f"alert {alert.name} watches undeclared hop {alert.hop}")
    orphans = queue_names - set(consumers)
    if orphans:
        raise ValueError(f"queues without a consumer: {sorted(orphans)}")
    _validate_state_machines()


def _validate_state_machines() -> None:
    """Every Task names a hop triggered by its machine, every transition names a state, every state is
    reachable, and every hop a machine invokes is one of its tasks."""
    machine_names = {m.name for m in STATE_MACHINES}
    hops = {h.name: h for h in HOPS}
    for h in HOPS:
        for name in h.starts:
            if name not in machine_names:
                raise ValueError(f"hop {h.name} starts undeclared state machine {name}")
        if isinstance(h.trigger, StateMachineTrigger) and h.trigger.machine not in machine_names:
            raise ValueError(f"hop {h.name} is invoked by undeclared state machine {h.trigger.machine}")
    for machine in STATE_MACHINES:
        names = [s.name for s in machine.states]
        if len(set(names)) != len(names):
            raise ValueError(f"state machine {machine.name} repeats a state name")
        targets: dict[str, list[str]] = {}
        for state in machine.states:
            if isinstance(state, TaskState):
                hop_ = hops.get(state.hop)
                if hop_ is None or hop_.trigger != StateMachineTrigger(machine.name):
                    raise ValueError(f"{machine.name}.{state.name}: hop {state.hop} is not a task hop of this machine")
                targets[state.name] = [t for t in (state.next, state.catch_to) if t]
            elif isinstance(state, ChoiceState):
                targets[state.name] = [state.default, *state.targets]
            else:
                targets[state.name] = []
        for source, nexts in targets.items():
            for target in nexts:
                if target not in names:
                    raise ValueError(f"{machine.name}.{source} moves to undeclared state {target}")
        reachable, todo = set(), [machine.start_at]
        while todo:
            current = todo.pop()
            if current in reachable:
                continue
            reachable.add(current)
            todo.extend(targets.get(current, []))
        unreachable = set(names) - reachable
        if unreachable:
            raise ValueError(f"state machine {machine.name}: unreachable states {sorted(unreachable)}")
        invoked = {s.hop for s in machine.states if isinstance(s, TaskState)}
        for h in HOPS:
            if h.trigger == StateMachineTrigger(machine.name) and h.name not in invoked:
                raise ValueError(f"hop {h.name} is triggered by {machine.name} but no task invokes it")


validate()
