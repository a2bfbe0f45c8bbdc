"""What a platform package declares about itself, so config, topology, runtime and sandbox need no platform
names: its settings model, its secret's keys, how to build its client, the roles it can play and its docs.

A new platform is a package under shared/connectors/ with a `SPEC` in its `spec.py` and one line in
`registry.py`; a new pairing is a client file naming platform instances and the pipelines between them.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.connectors.roles import Role as Role  # re-exported: the roles a spec declares

if TYPE_CHECKING:  # the HTTP layer imports config; config imports this module
    from shared.clock import Clock
    from shared.connectors.http import RateBudget
    from shared.connectors.settings import PlatformSettings


class BuildContext(Protocol):
    """What a connector's builder may take from the runtime."""

    clock: Clock
    http_timeout: float | None

    @property
    def user_agent(self) -> str:
        """`hopline/<hop>`: names the function making the calls, in the platform's logs and the sandbox's counts."""
        ...

    def budget(self, key: str, calls: int, per_seconds: float) -> RateBudget: ...


@dataclass(frozen=True)
class Delivery:
    """One message an inbound webhook asks for, and the queue it goes to."""

    queue: str
    message: Any  # a shared.models message model


@dataclass(frozen=True)
class ChannelContext:
    """What a channel's parser may use: who the stack serves, the bounds, and where the body was archived."""

    client: str
    platform_type: str
    bounds: Any  # shared.config.BoundsConfig
    now: Any  # datetime
    archive_key: str
    config: Any  # shared.config.ClientConfig
    platform: str = ""  # the platform instance (a `platforms:` key) the body came from


@dataclass(frozen=True)
class WebhookChannel:
    """One inbound channel of a platform, served as `POST /webhooks/{instance}/{name}` by the one receiver.

    The channel exists when its platform plays one of `roles` in a configured pipeline. `verify(headers,
    multi_value_headers, secret, settings)` proves origin (a refusal is a 401 with no side effect);
    `archive_id(body, bounds)` names the record a body is about, for its archive key, before parsing;
    `parse(body, ctx)` returns the deliveries or raises PermanentError with a reason, which is quarantined
    and answered 2xx (platforms disable a hook that keeps failing). `secret_field` names the settings
    attribute holding the secret's name (the route exists only when it is set: the secret is granted as
    `platforms.<instance>.<secret_field>`); `header_field` names the one holding the header API Gateway
    must see.
    """

    name: str
    purpose: str
    roles: tuple[Role, ...]
    sends_to: tuple[str, ...]
    flow: str  # the exception inbox's flow for what it quarantines
    archive_kind: str
    verify: Callable[[Mapping[str, str], Mapping[str, list[str]] | None, str, PlatformSettings], bool]
    parse: Callable[[bytes, ChannelContext], list[Delivery]]
    archive_id: Callable[[bytes, Any], str | None] = lambda body, bounds: None
    replay_queue: str | None = None
    replay_payload: str | None = None  # shared.stores.exceptions.PayloadReplay value
    secret_field: str = "webhook_secret"  # noqa: S105 (the settings field naming the secret, not a secret)
    header_field: str | None = None
    register_in: str = ""  # where in the platform its URL is registered (the stack output says so)


@dataclass(frozen=True)
class ChannelMessage:
    """One message a platform pushed, as its channel reads it: what de-duplication keys on (the message id,
    the resource and its version) and what happened to which order (`event`, a
    shared.flows.order_events.OrderEvent), for the consumer to route."""

    message_id: str
    resource: str  # the resource the message is about, e.g. "order/<id>": versions are compared per resource
    resource_version: int | None
    source_id: str  # the order's id at the platform
    order_number: str
    event: Any  # shared.flows.order_events.OrderEvent
    occurred_at: Any  # datetime


@dataclass(frozen=True)
class SubscriptionChannel:
    """Messages a platform pushes into one of our queues itself (e.g. a commercetools Subscription), with no
    receiver hop in between: only the platform's own principal may deliver, so its origin is proven by IAM.

    The channel exists when its platform plays one of `roles` in a configured pipeline and its settings name
    the sender (`principal_field`): for `delivery="sqs"` an IAM principal ARN, granted `sqs:SendMessage` on
    `queue` alone by the queue's resource policy; for `delivery="eventbridge"` the partner event source
    (its event bus), from which one rule forwards the source's events onto `queue`. `queue` is a topology
    queue whose consumer (shared/steps/subscriptions.py) reads each message with `parse(body, ctx)` into a
    ChannelMessage (raising PermanentError with a reason for what it cannot read), de-duplicates it, and
    routes its event by `rules(settings)` (shared.flows.order_events.EventRules) onto `sends_to`.
    """

    name: str
    purpose: str
    roles: tuple[Role, ...]
    queue: str
    delivery: Literal["sqs", "eventbridge"]
    principal_field: str
    parse: Callable[[bytes, ChannelContext], ChannelMessage]
    rules: Callable[[Any], Any]  # settings -> shared.flows.order_events.EventRules
    flow: str = "order_messages"  # the exception inbox's flow for what it quarantines
    archive_kind: str = "platform-message"


@dataclass(frozen=True)
class ConnectorSpec:
    """A platform package's declaration.

    `builder` is "module:function", imported only when a client is built, so that validating a config
    (at synth time) never imports HTTP clients. The function takes (instance name, settings, secret, retries, ctx).
    `statuses` optionally names a module with the platform's order statuses and cancel table
    (`status_codes()`, `status_read(settings, code)`, `despatched()`, `cancel_rules(settings)`).
    """

    type: str
    title: str
    settings: builtins.type[PlatformSettings]
    secret_keys: tuple[str, ...]
    roles: frozenset[Role]
    builder: str
    docs: str
    statuses: str | None = None
    inbound: tuple[WebhookChannel, ...] = ()
    subscriptions: tuple[SubscriptionChannel, ...] = ()
    # How a quarantined payload of each kind (PayloadReplay value) is rebuilt into (queue, message) with the
    # code running now: "module:MAPPING" of kind -> function(client, payload, now, archive_key).
    rebuilders: str | None = None
    # The regex every record id the platform issues matches (a sale, a task, a product): judged with the
    # bounds wherever such an id enters. None when its ids have no fixed format.
    id_pattern: str | None = None
    # The order source marks orders it handed over (SFCC's export status): `ExportClaim` in shared/ports.py.
    marks_exports: bool = False
    # The order source records the warehouse's order id on its order: `WarehouseIdRecorder` in shared/ports.py.
    records_warehouse_ids: bool = False

    def rebuilder(self, kind: str) -> Callable[..., Any] | None:
        if self.rebuilders is None:
            return None
        module, _, name = self.rebuilders.partition(":")
        found: Callable[..., Any] | None = getattr(importlib.import_module(module), name).get(kind)
        return found

    def channel(self, name: str) -> WebhookChannel | None:
        return next((c for c in self.inbound if c.name == name), None)

    def build(
        self, name: str, settings: PlatformSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext
    ) -> Any:
        """The client of instance `name` (named in errors that point at its settings)."""
        missing = [key for key in self.secret_keys if key not in secret]
        if missing:
            raise ValueError(f"{self.title} credentials secret lacks key(s) {missing}")
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)(name, settings, secret, retries, ctx)

    def status_module(self) -> Any:
        if self.statuses is None:
            raise ValueError(f"{self.title} has no order status table (it is no cancel target)")
        return importlib.import_module(self.statuses)
