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
hops (hops and their triggers), alerts, machines (state machines), channels (the webhook and subscription
channels a config serves) and build (one client's topology, lookups, environment names, the wiring check).
Every public name is re-exported here: `from shared.topology import X`. Every hop's handler imports this
package, so the names load on first use: a running hop reads only the environment names and config paths
(names) and its config's channels, never the hop or machine declarations; reading any declaration through
the package first imports build, which checks the wiring (the state machines when first built).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.topology.alerts import ALERTS, MetricAlert
    from shared.topology.build import (
        Topology,
        for_config,
        hop,
        queue,
        state_machine,
        table,
        validate,
        webhook_route_path,
    )
    from shared.topology.channels import (
        Subscription,
        deploys_queue,
        subscription_channels,
        subscription_for_queue,
        webhook_channels,
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
        SUBMIT_IN_FLIGHT,
        TRANSIENT,
        ChoiceState,
        FailState,
        RetryPolicy,
        State,
        StateMachine,
        SucceedState,
        TaskState,
        state_machines,
    )
    from shared.topology.names import (
        ROLE_NAMES,
        WEBHOOK_PATH,
        bucket_env,
        config_value,
        queue_url_env,
        secret_env,
        state_machine_env,
        table_env,
    )
    from shared.topology.resources import BUCKETS, QUEUES, SUBSCRIPTIONS, TABLES, Bucket, Queue, Table

    STATE_MACHINES: tuple[StateMachine, ...]

# Where each public name lives; `names` and `grants` load without the declarations.
_HOME = {
    "ALERTS": "alerts",
    "ARCHIVE": "grants",
    "Actions": "grants",
    "ApiTrigger": "hops",
    "BATCH_GET_ITEM": "grants",
    "BATCH_WRITE_ITEM": "grants",
    "BUCKETS": "resources",
    "BUCKET_ACTIONS": "grants",
    "BUDGET_TABLE": "grants",
    "Bucket": "resources",
    "CONSUME": "grants",
    "CURSOR": "grants",
    "ChoiceState": "machines",
    "DELETE_ITEM": "grants",
    "FailState": "machines",
    "GET_ITEM": "grants",
    "GET_OBJECT": "grants",
    "GET_SECRET_VALUE": "grants",
    "HOPS": "hops",
    "Hop": "hops",
    "IDEMPOTENCY": "grants",
    "LIST_BUCKET": "grants",
    "MACHINE_PIPELINE": "machines",
    "MESSAGE_CONSUMER": "hops",
    "MetricAlert": "alerts",
    "PRIORITY_ENV": "grants",
    "PUT_ITEM": "grants",
    "PUT_OBJECT": "grants",
    "Priority": "grants",
    "QUERY": "grants",
    "QUEUES": "resources",
    "Queue": "resources",
    "QueueTrigger": "hops",
    "RAISE": "grants",
    "RAISE_AND_RESOLVE": "grants",
    "RATE_BUDGET": "grants",
    "ROLE_NAMES": "names",
    "RetryPolicy": "machines",
    "Route": "hops",
    "SCAN": "grants",
    "SEND_MESSAGE": "grants",
    "START_EXECUTION": "grants",
    "SUBMIT_IN_FLIGHT": "machines",
    "SUBSCRIPTIONS": "resources",
    "ScheduleTrigger": "hops",
    "State": "machines",
    "StateMachine": "machines",
    "StateMachineTrigger": "hops",
    "Subscription": "channels",
    "SucceedState": "machines",
    "TABLES": "resources",
    "TABLE_ACTIONS": "grants",
    "TRANSIENT": "machines",
    "Table": "resources",
    "TaskState": "machines",
    "Topology": "build",
    "Trigger": "hops",
    "UPDATE_ITEM": "grants",
    "WEBHOOKS": "hops",
    "WEBHOOK_PATH": "names",
    "WEBHOOK_RECEIVER": "hops",
    "bucket_env": "names",
    "config_value": "names",
    "deploys_queue": "channels",
    "for_config": "build",
    "hop": "build",
    "queue": "build",
    "queue_url_env": "names",
    "secret_env": "names",
    "state_machine": "build",
    "state_machine_env": "names",
    "state_machines": "machines",
    "subscription_channels": "channels",
    "subscription_for_queue": "channels",
    "table": "build",
    "table_env": "names",
    "validate": "build",
    "webhook_channels": "channels",
    "webhook_route_path": "build",
    "webhook_secret_path": "channels",
    "STATE_MACHINES": "machines",
}
_LIGHT = frozenset({"names", "grants", "channels"})

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
    "deploys_queue",
    "for_config",
    "hop",
    "queue",
    "queue_url_env",
    "secret_env",
    "state_machine",
    "state_machine_env",
    "state_machines",
    "subscription_channels",
    "subscription_for_queue",
    "table",
    "table_env",
    "validate",
    "webhook_channels",
    "webhook_route_path",
    "webhook_secret_path",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if home not in _LIGHT:
        importlib.import_module(f"{__name__}.build")  # the wiring check, once, before any declaration is read
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    if name != "STATE_MACHINES":  # built on first read, then cached by machines.state_machines()
        globals()[name] = value
    return value
