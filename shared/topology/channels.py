"""The webhook and subscription channels one client's config serves, read from its config and connector specs.

Apart from the hop, state machine and alert declarations: the webhook receiver and the order-message consumer
ask these on every invocation, and their answers need only the queues, not the hops or the wiring check.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.connectors.spec import Role, SubscriptionChannel, WebhookChannel
from shared.topology.resources import QUEUES, SUBSCRIPTIONS, Queue

if TYPE_CHECKING:  # read, never built here: a hop's cold start need not load the config models
    from shared.config import ClientConfig


@dataclass(frozen=True)
class Subscription:
    """A subscription channel present in one client's config: `principal` (the value of the channel's
    `principal_field` in the platform's settings) may deliver into the channel's queue, and nothing else may."""

    platform: str
    channel: SubscriptionChannel
    principal: str

    @property
    def queue(self) -> str:
        return self.channel.queue


def webhook_channels(config: ClientConfig) -> tuple[tuple[str, WebhookChannel], ...]:
    """(platform instance, channel) for every inbound channel this client serves: its platform plays one of
    the channel's roles in a configured pipeline, and its settings name the secret that authenticates it."""
    found: list[tuple[str, WebhookChannel]] = []
    for name, settings in config.platforms.items():
        for channel in config.spec(name).inbound:
            if _serves(config, name, channel.roles) and getattr(settings, channel.secret_field, None):
                found.append((name, channel))
    return tuple(found)


def subscription_channels(config: ClientConfig) -> tuple[Subscription, ...]:
    """Every subscription channel this client's platforms deliver through: its platform plays one of the
    channel's roles in a configured pipeline, and its settings name the sender."""
    found: list[Subscription] = []
    for name, settings in config.platforms.items():
        for channel in config.spec(name).subscriptions:
            principal = getattr(settings, channel.principal_field, None)
            if _serves(config, name, channel.roles) and principal:
                found.append(Subscription(name, channel, str(principal)))
    return tuple(found)


def subscription_for_queue(config: ClientConfig, queue_name: str) -> Subscription | None:
    """The subscription delivering into `queue_name` for this client (one platform per queue: for_config)."""
    return next((sub for sub in subscription_channels(config) if sub.queue == queue_name), None)


def webhook_secret_path(platform: str, channel: WebhookChannel) -> str:
    """The config path of the secret that authenticates a channel of one platform instance."""
    return f"platforms.{platform}.{channel.secret_field}"


def deployed(queue: Queue, enabled: Collection[str], subscribed: Collection[str]) -> bool:
    """A client's stack holds this queue: its pipeline is configured (`enabled`) or, a queue of the
    subscriptions pipeline, a subscription delivers into it (`subscribed`). for_config deploys exactly these."""
    return queue.pipeline in enabled or (queue.pipeline == SUBSCRIPTIONS and queue.name in subscribed)


def deploys_queue(config: ClientConfig, name: str) -> bool:
    """This client's stack holds the queue `name` (as for_config decides it), from the queue declarations
    alone: what a running hop asks before sending somewhere only some clients deploy."""
    declared = next(q for q in QUEUES if q.name == name)
    return deployed(declared, set(config.pipelines.enabled()), {sub.queue for sub in subscription_channels(config)})


def _serves(config: ClientConfig, platform: str, roles: tuple[Role, ...]) -> bool:
    return any(config.plays(role) and config.platform_for(role) == platform for role in roles)
