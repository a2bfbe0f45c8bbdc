"""The wiring, declared once: queues, tables, buckets, hops and what triggers them.

infra/ synthesizes exactly this; sandbox/ runs exactly this on moto. Adding a hop means adding one
`Hop` to `HOPS` (hops.py) and one folder under functions/; neither the stack nor the sandbox changes.

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

The package is split by concern: grants (IAM actions and named sets), resources (queues, tables, buckets),
hops (hops and their triggers), alerts, machines (state machines) and build (one client's topology, lookups,
environment names, the wiring check). Every public name is re-exported here: `from shared.topology import X`.
"""

from __future__ import annotations

from shared.topology.alerts import ALERTS, MetricAlert
from shared.topology.build import (
    ROLE_NAMES,
    Subscription,
    Topology,
    bucket_env,
    config_value,
    for_config,
    hop,
    queue,
    queue_url_env,
    secret_env,
    state_machine,
    state_machine_env,
    subscription_channels,
    subscription_for_queue,
    table,
    table_env,
    validate,
    webhook_channels,
    webhook_route_path,
    webhook_secret_path,
)
from shared.topology.grants import (
    ARCHIVE,
    BATCH_GET_ITEM,
    BATCH_WRITE_ITEM,
    BUCKET_ACTIONS,
    BUDGET_TABLE,
    CONSUME,
    CURSOR,
    DELETE_ITEM,
    GET_ITEM,
    GET_OBJECT,
    GET_SECRET_VALUE,
    IDEMPOTENCY,
    LIST_BUCKET,
    PRIORITY_ENV,
    PUT_ITEM,
    PUT_OBJECT,
    QUERY,
    RAISE,
    RAISE_AND_RESOLVE,
    RATE_BUDGET,
    SCAN,
    SEND_MESSAGE,
    START_EXECUTION,
    TABLE_ACTIONS,
    UPDATE_ITEM,
    Actions,
    Priority,
)
from shared.topology.hops import (
    HOPS,
    MESSAGE_CONSUMER,
    SUBSCRIPTIONS,
    WEBHOOK_PATH,
    WEBHOOK_RECEIVER,
    WEBHOOKS,
    ApiTrigger,
    Hop,
    QueueTrigger,
    Route,
    ScheduleTrigger,
    StateMachineTrigger,
    Trigger,
)
from shared.topology.machines import (
    MACHINE_PIPELINE,
    STATE_MACHINES,
    SUBMIT_IN_FLIGHT,
    TRANSIENT,
    ChoiceState,
    FailState,
    RetryPolicy,
    State,
    StateMachine,
    SucceedState,
    TaskState,
)
from shared.topology.resources import BUCKETS, QUEUES, TABLES, Bucket, Queue, Table

__all__ = [
    "ALERTS",
    "ARCHIVE",
    "BATCH_GET_ITEM",
    "BATCH_WRITE_ITEM",
    "BUCKETS",
    "BUCKET_ACTIONS",
    "BUDGET_TABLE",
    "CONSUME",
    "CURSOR",
    "DELETE_ITEM",
    "GET_ITEM",
    "GET_OBJECT",
    "GET_SECRET_VALUE",
    "HOPS",
    "IDEMPOTENCY",
    "LIST_BUCKET",
    "MACHINE_PIPELINE",
    "MESSAGE_CONSUMER",
    "PRIORITY_ENV",
    "PUT_ITEM",
    "PUT_OBJECT",
    "QUERY",
    "QUEUES",
    "RAISE",
    "RAISE_AND_RESOLVE",
    "RATE_BUDGET",
    "ROLE_NAMES",
    "SCAN",
    "SEND_MESSAGE",
    "START_EXECUTION",
    "STATE_MACHINES",
    "SUBMIT_IN_FLIGHT",
    "SUBSCRIPTIONS",
    "TABLES",
    "TABLE_ACTIONS",
    "TRANSIENT",
    "UPDATE_ITEM",
    "WEBHOOKS",
    "WEBHOOK_PATH",
    "WEBHOOK_RECEIVER",
    "Actions",
    "ApiTrigger",
    "Bucket",
    "ChoiceState",
    "FailState",
    "Hop",
    "MetricAlert",
    "Priority",
    "Queue",
    "QueueTrigger",
    "RetryPolicy",
    "Route",
    "ScheduleTrigger",
    "State",
    "StateMachine",
    "StateMachineTrigger",
    "Subscription",
    "SucceedState",
    "Table",
    "TaskState",
    "Topology",
    "Trigger",
    "bucket_env",
    "config_value",
    "for_config",
    "hop",
    "queue",
    "queue_url_env",
    "secret_env",
    "state_machine",
    "state_machine_env",
    "subscription_channels",
    "subscription_for_queue",
    "table",
    "table_env",
    "validate",
    "webhook_channels",
    "webhook_route_path",
    "webhook_secret_path",
]

validate()
