"""One client's topology from the declarations, lookups, environment names, and the wiring check."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.connectors.spec import WebhookChannel
from shared.topology.alerts import ALERTS, MetricAlert
from shared.topology.channels import (
    Subscription,
    deployed,
    subscription_channels,
    webhook_channels,
    webhook_secret_path,
)
from shared.topology.grants import BUCKET_ACTIONS, TABLE_ACTIONS
from shared.topology.hops import (
    HOPS,
    STOCK_PUSHER,
    WEBHOOK_RECEIVER,
    ApiTrigger,
    Hop,
    QueueTrigger,
    Route,
    StateMachineTrigger,
)
from shared.topology.machines import (
    MACHINE_PIPELINE,
    ChoiceState,
    StateMachine,
    TaskState,
    state_machines,
)
from shared.topology.names import WEBHOOK_PATH
from shared.topology.resources import BUCKETS, QUEUES, SUBSCRIPTIONS, TABLES, Bucket, Queue, Table

if TYPE_CHECKING:  # read, never built here: a hop's cold start need not load the config models
    from shared.config import ClientConfig


@dataclass(frozen=True)
class Topology:
    """The resources one client's stack holds: only the queues, hops, state machines and alerts of the
    pipelines its config names (tables and the archive serve every pipeline), the webhook routes of the
    channels its platforms have there, and the subscriptions that deliver into its queues."""

    queues: tuple[Queue, ...]
    tables: tuple[Table, ...]
    buckets: tuple[Bucket, ...]
    hops: tuple[Hop, ...]
    state_machines: tuple[StateMachine, ...]
    alerts: tuple[MetricAlert, ...]
    subscriptions: tuple[Subscription, ...] = ()

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every API route the stack serves, in declaration order."""
        return tuple(r for h in self.hops if isinstance(h.trigger, ApiTrigger) for r in h.trigger.routes)

    def hop(self, name: str) -> Hop:
        return next(h for h in self.hops if h.name == name)

    @property
    def queue_names(self) -> frozenset[str]:
        return frozenset(q.name for q in self.queues)


def for_config(config: ClientConfig) -> Topology:
    """The topology of one client: a pipeline left out of its config deploys nothing of its own, and the
    webhook receiver exists with exactly the routes, queues and secrets of the channels present."""
    enabled = set(config.pipelines.enabled())
    subscriptions = subscription_channels(config)
    subscribed = {sub.queue for sub in subscriptions}
    queues = tuple(q for q in QUEUES if deployed(q, enabled, subscribed))
    queue_names = {q.name for q in queues}
    channels = webhook_channels(config)
    hops: list[Hop] = []
    for h in HOPS:
        if h.name == WEBHOOK_RECEIVER:
            if channels:
                hops.append(_receiver(config, h, channels))
        elif h.pipeline == SUBSCRIPTIONS:
            if not isinstance(h.trigger, QueueTrigger):
                if subscriptions:
                    hops.append(h)  # the subscription's own check
            elif h.trigger.queue in subscribed:
                # It sends only to the queues this client deploys (no cancellation pipeline: no cancel-requests).
                hops.append(dataclasses.replace(h, sends_to=tuple(q for q in h.sends_to if q in queue_names)))
        elif h.pipeline in enabled:
            hops.append(_stock_pusher(config, h) if h.name == STOCK_PUSHER else h)
    for sub in subscriptions:
        if sub.queue not in queue_names:
            raise ValueError(
                f"{config.client}: subscription {sub.platform}/{sub.channel.name} delivers into queue "
                f"{sub.queue}, which this client's pipelines do not deploy"
            )
    senders = {sub.queue: sub.platform for sub in subscriptions}
    for sub in subscriptions:
        if senders[sub.queue] != sub.platform:
            raise ValueError(
                f"{config.client}: platforms {senders[sub.queue]} and {sub.platform} both deliver into queue "
                f"{sub.queue}; its consumer reads one platform's messages"
            )
    names = {h.name for h in hops}
    return Topology(
        queues=queues,
        tables=TABLES,
        buckets=BUCKETS,
        hops=tuple(hops),
        state_machines=tuple(m for m in state_machines() if MACHINE_PIPELINE[m.name] in enabled),
        alerts=tuple(a for a in ALERTS if a.hop in names),
        subscriptions=subscriptions,
    )


def webhook_route_path(platform: str, channel: str) -> str:
    return WEBHOOK_PATH.format(platform=platform, channel=channel)


def _receiver(config: ClientConfig, template: Hop, channels: tuple[tuple[str, WebhookChannel], ...]) -> Hop:
    """The receiver hop of one client: one route per channel; sends_to and secrets are the union over them."""
    if not isinstance(template.trigger, ApiTrigger):
        raise ValueError(f"hop {template.name} is not API-triggered")
    routes = tuple(
        Route(
            template.trigger.method,
            webhook_route_path(name, channel.name),
            name,
            channel.name,
            # The header the platform is configured to send, as its settings name it.
            header=str(getattr(config.platforms[name], channel.header_field)) if channel.header_field else None,
        )
        for name, channel in channels
    )
    declared = {q.name for q in QUEUES}
    for name, channel in channels:
        stray = sorted(set(channel.sends_to) - declared)
        if stray:
            raise ValueError(f"webhook channel {name}/{channel.name} sends to undeclared queues {stray}")
    return dataclasses.replace(
        template,
        trigger=dataclasses.replace(template.trigger, routes=routes),
        sends_to=_union(q for _, channel in channels for q in channel.sends_to),
        secrets=_union(webhook_secret_path(name, channel) for name, channel in channels),
    )


def _stock_pusher(config: ClientConfig, template: Hop) -> Hop:
    """The stock pusher of one client: its queue's batch and batching window from the stock settings, so the
    master's events of one window reach one invocation and are served by one read."""
    if not isinstance(template.trigger, QueueTrigger):
        raise ValueError(f"hop {template.name} is not queue-triggered")
    settings = config.stock
    trigger = dataclasses.replace(
        template.trigger,
        batch_size=settings.messages_per_invocation,
        max_batching_window_seconds=settings.event_window_seconds,
    )
    return dataclasses.replace(template, trigger=trigger)


def _union(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def state_machine(name: str) -> StateMachine:
    return next(m for m in state_machines() if m.name == name)


def queue(name: str) -> Queue:
    return next(q for q in QUEUES if q.name == name)


def hop(name: str) -> Hop:
    return next(h for h in HOPS if h.name == name)


def table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


def validate(*, machines: bool = True) -> None:
    """Fail fast on a wiring mistake (a hop naming a queue or table that is not declared).

    `machines=False` leaves out the state machines: importing this module checks the rest (shared.topology
    imports it before any declaration is read), and the machines are checked when first built
    (`state_machines()`), which a hop's cold start never does.
    """
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
    if machines:
        validate_state_machines(state_machines())


def validate_state_machines(machines: tuple[StateMachine, ...]) -> None:
    """Every Task names a hop triggered by its machine, every transition names a state, every state is
    reachable, and every hop a machine invokes is one of its tasks."""
    machine_names = {m.name for m in machines}
    hops = {h.name: h for h in HOPS}
    for h in HOPS:
        for name in h.starts:
            if name not in machine_names:
                raise ValueError(f"hop {h.name} starts undeclared state machine {name}")
        if isinstance(h.trigger, StateMachineTrigger) and h.trigger.machine not in machine_names:
            raise ValueError(f"hop {h.name} is invoked by undeclared state machine {h.trigger.machine}")
    for machine in machines:
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


validate(machines=False)
