"""What a platform's order message asks for: de-duplicate it, then release-check, cancel or ignore it. Pure.

A platform that pushes messages (a commercetools Subscription) says what happened to an order; the
client's trigger says which of those may release it. Never on creation: payments and custom fields are
saved by later updates, so an order is released on its trigger only (payment Paid, order Confirmed, or a
custom workflow state), and even then intake reads it fresh and checks its states again before hand-off.
A message too large to carry its payload is decided from a fresh read of the order instead.

Delivery is at-least-once and unordered: a message is dropped when its id was handled, or when a later
version of its resource was. One update with several actions emits several messages at the same resource
version, so an equal version with a new id is handled (decisions D49).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import model_validator

from shared.models import Order
from shared.models.base import Model


class EventKind(StrEnum):
    """What changed on the order, in neutral words; `state` carries the platform's value."""

    CREATED = "created"
    PAYMENT_STATE = "payment_state"
    ORDER_STATE = "order_state"
    WORKFLOW_STATE = "workflow_state"  # a custom workflow state (commercetools OrderStateTransition)
    OTHER = "other"


class OrderEvent(Model):
    """One platform message about one order, mapped by its connector."""

    kind: EventKind
    type: str = ""  # the platform's message type, for logs and counts
    state: str = ""  # the new state the message names ("" when its payload was not included)
    payload_included: bool = True


class EventRules(Model):
    """The client's trigger and cancel state, in the platform's vocabulary (its connector says which)."""

    release_kind: EventKind
    release_state: str
    cancel_state: str | None = None  # None: this client's cancellations do not come from this platform

    @model_validator(mode="after")
    def _never_on_creation(self) -> EventRules:
        if self.release_kind in (EventKind.CREATED, EventKind.OTHER):
            raise ValueError(f"an order is never released on a {self.release_kind.value} event")
        return self


class Action(StrEnum):
    INTAKE = "intake"  # read the order fresh, re-check its states, validate and hand off
    CANCEL = "cancel"  # start the state-aware cancellation
    READ = "read"  # the payload was not included: read the order, then decide (route_fresh)
    IGNORE = "ignore"


class Verdict(StrEnum):
    PROCESS = "process"
    DUPLICATE = "duplicate"  # this message id was handled already
    STALE = "stale"  # a later version of the resource was handled already


class Route(Model):
    action: Action
    why: str


def message_verdict(*, seen: bool, last_version: int | None, version: int | None) -> Verdict:
    """Handle, or drop as a duplicate (same id) or stale (a strictly later version was handled)."""
    if seen:
        return Verdict.DUPLICATE
    if last_version is not None and version is not None and version < last_version:
        return Verdict.STALE
    return Verdict.PROCESS


def route_event(event: OrderEvent, rules: EventRules) -> Route:
    """From the message alone: release-check, cancel, read first, or ignore."""
    if event.kind is EventKind.CREATED:
        return Route(action=Action.IGNORE, why="never released on creation: later updates add payments and fields")
    cancels = rules.cancel_state is not None and event.kind is EventKind.ORDER_STATE
    wanted = event.kind is rules.release_kind or cancels
    if not wanted:
        return Route(action=Action.IGNORE, why=f"{event.type or event.kind.value} is not this client's trigger")
    if not event.payload_included:
        return Route(action=Action.READ, why=f"{event.type or event.kind.value} came without its payload")
    if cancels and event.state == rules.cancel_state:
        return Route(action=Action.CANCEL, why=f"order state {event.state}")
    if event.kind is rules.release_kind and event.state == rules.release_state:
        return Route(action=Action.INTAKE, why=f"{event.kind.value} {event.state}: the client's trigger")
    return Route(action=Action.IGNORE, why=f"{event.kind.value} {event.state or '?'} is not the trigger's state")


def route_fresh(order: Order, rules: EventRules) -> Route:
    """From a fresh read, when the message could not say: a cancelled order cancels; one at its trigger
    (the connector's `authorised`) goes to intake, which checks it again; anything else waits."""
    if rules.cancel_state is not None and order.status == rules.cancel_state:
        return Route(action=Action.CANCEL, why=f"fresh read: order state {order.status}")
    if order.authorised:
        return Route(action=Action.INTAKE, why="fresh read: the order is at the client's trigger")
    return Route(action=Action.IGNORE, why=f"fresh read: status {order.status}, not at the trigger")
