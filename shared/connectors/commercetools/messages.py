"""Subscription messages as they arrive on our SQS queue (card §2, §6), and what to do with each.

commercetools signs nothing: trust comes from IAM on the queue, and from two checks here: the
`projectKey` must be ours, and an order is always re-read through the API before anything acts on it.
Delivery is at-least-once and unordered, so a message is dropped when its `id` was seen, or when a
later version of the same resource was already handled. One update request with several actions
emits one message per action at the same `resourceVersion`, so an equal version with a new id is
processed, not dropped.
"""

# ruff: noqa: N815  (the envelope spells the platform's camelCase field names)
from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import Field

from shared.connectors.commercetools.mapping import SOURCE, Reference, Wire, parse
from shared.connectors.commercetools.settings import CommercetoolsSettings, ReleaseTrigger
from shared.connectors.spec import ChannelContext, ChannelMessage
from shared.errors import PermanentError
from shared.flows.order_events import Action, EventKind, EventRules, OrderEvent, message_verdict, route_event
from shared.models import ReasonCode
from shared.models.messages import CancelRequest

# The message types each release trigger listens to (§2 "useful types").
RELEASE_MESSAGE_TYPES: dict[ReleaseTrigger, str] = {
    ReleaseTrigger.PAYMENT_PAID: "OrderPaymentStateChanged",
    ReleaseTrigger.ORDER_CONFIRMED: "OrderStateChanged",
    ReleaseTrigger.STATE_TRANSITION: "OrderStateTransition",
}
# What the order subscription asks for: the trigger's type plus what cancels or changes an order.
ORDER_MESSAGE_TYPES = ("OrderStateChanged", "OrderPaymentStateChanged", "OrderStateTransition", "ReturnInfoAdded")


class WrongProjectError(PermanentError):
    """A message for another project reached our queue: a misrouted subscription, never processed."""

    def __init__(self, got: str, expected: str):
        super().__init__(
            ReasonCode.MESSAGE_MISROUTED,
            f"commercetools message for project {got!r} arrived on the queue of project {expected!r}: "
            "check which subscription sends to this queue",
        )
        self.got = got
        self.expected = expected


class PayloadNotIncluded(Wire):
    reason: str = ""
    payloadType: str = ""


class Message(Wire):
    """The envelope every subscription message has; the type's own fields stay in `fields`."""

    notificationType: Literal["Message"]
    projectKey: str
    id: str = Field(min_length=1)
    version: int = 1
    sequenceNumber: int
    resource: Reference
    resourceVersion: int
    resourceUserProvidedIdentifiers: dict[str, Any] = Field(default_factory=dict)
    type: str
    createdAt: datetime
    lastModifiedAt: datetime
    payloadNotIncluded: PayloadNotIncluded | None = None
    fields: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @property
    def needs_fresh_read(self) -> bool:
        """The payload was too big to send: only the envelope came, so the resource must be read."""
        return self.payloadNotIncluded is not None

    @property
    def order_number(self) -> str:
        return str(self.resourceUserProvidedIdentifiers.get("orderNumber") or "")


_ENVELOPE = set(Message.model_fields) - {"fields"}


def parse_message(body: str | bytes | dict[str, Any], settings: CommercetoolsSettings) -> Message:
    """One SQS message body (or an EventBridge event, whose envelope sits in `detail`) as a Message.

    Raises WrongProjectError for another project's message, PermanentError(PAYLOAD_INVALID) for
    anything that is not a commercetools message (e.g. a ResourceUpdated change notification).
    """
    try:
        payload = json.loads(body) if isinstance(body, (str, bytes)) else body
    except ValueError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"commercetools message is not JSON: {exc}") from exc
    if isinstance(payload, dict) and isinstance(payload.get("detail"), dict) and "detail-type" in payload:
        payload = payload["detail"]
    if not isinstance(payload, dict):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "commercetools message is not a JSON object")
    project = payload.get("projectKey")
    if isinstance(project, str) and project != settings.project_key:
        raise WrongProjectError(project, settings.project_key)
    message: Message = parse(Message, payload, "message")
    return message.model_copy(update={"fields": {k: v for k, v in payload.items() if k not in _ENVELOPE}})


# The neutral kind of each message type we subscribe to; any other type is OTHER (never a trigger).
EVENT_KINDS: dict[str, EventKind] = {
    "OrderCreated": EventKind.CREATED,
    "OrderPaymentStateChanged": EventKind.PAYMENT_STATE,
    "OrderStateChanged": EventKind.ORDER_STATE,
    "OrderStateTransition": EventKind.WORKFLOW_STATE,
}
_STATE_FIELD = {
    EventKind.PAYMENT_STATE: "paymentState",
    EventKind.ORDER_STATE: "orderState",
    EventKind.WORKFLOW_STATE: "state",
}


def to_order_event(message: Message) -> OrderEvent:
    """The message in neutral words; an order's custom workflow State is named by its id (a Reference)."""
    kind = EVENT_KINDS.get(message.type, EventKind.OTHER) if message.resource.typeId == "order" else EventKind.OTHER
    field = _STATE_FIELD.get(kind)
    value = message.fields.get(field) if field else None
    state = value.get("id", "") if isinstance(value, dict) else (value or "")
    return OrderEvent(kind=kind, type=message.type, state=str(state), payload_included=not message.needs_fresh_read)


def event_rules(settings: CommercetoolsSettings) -> EventRules:
    """The client's release trigger (§2 safe trigger) and the cancel state, in commercetools' words."""
    match settings.release_trigger:
        case ReleaseTrigger.PAYMENT_PAID:
            kind, state = EventKind.PAYMENT_STATE, "Paid"
        case ReleaseTrigger.ORDER_CONFIRMED:
            kind, state = EventKind.ORDER_STATE, "Confirmed"
        case ReleaseTrigger.STATE_TRANSITION:
            kind, state = EventKind.WORKFLOW_STATE, settings.release_state_id
    return EventRules(release_kind=kind, release_state=state, cancel_state="Cancelled")


def may_release(message: Message, settings: CommercetoolsSettings) -> bool:
    """The message says the order may have reached the client's trigger: worth a fresh read.

    Never the decision itself: the fresh order is checked again (mapping.is_released), because the
    message can be stale by the time it is read.
    """
    rules = event_rules(settings).model_copy(update={"cancel_state": None})
    return route_event(to_order_event(message), rules).action in (Action.INTAKE, Action.READ)


def parse_subscription(body: bytes, ctx: ChannelContext) -> ChannelMessage:
    """One message off the subscription queue (SQS body or EventBridge event) for the consumer hop."""
    settings = ctx.config.platforms[ctx.platform]
    assert isinstance(settings, CommercetoolsSettings)
    message = parse_message(body, settings)
    return ChannelMessage(
        message_id=message.id,
        resource=f"{message.resource.typeId}/{message.resource.id}",
        resource_version=message.resourceVersion,
        source_id=message.resource.id,
        order_number=message.order_number,
        event=to_order_event(message),
        occurred_at=message.createdAt,
    )


def cancel_request(message: Message, client: str, *, fresh_state: str | None = None) -> CancelRequest | None:
    """The cancellation an `OrderStateChanged -> Cancelled` message asks for (card §5), else None.

    Without its payload (`payloadNotIncluded`) the message cannot say which state the order entered: the
    caller reads the order and passes its `orderState` as `fresh_state`. Never a guess: a cancellation
    started for an order that was only confirmed would cancel it at the warehouse.
    """
    if message.resource.typeId != "order" or message.type != "OrderStateChanged":
        return None
    state = fresh_state if message.needs_fresh_read else message.fields.get("orderState")
    if state != "Cancelled":
        return None
    return CancelRequest(
        client=client,
        source=SOURCE,
        source_id=message.resource.id,
        order_number=message.order_number,
        requested_at=message.createdAt,
        reason="cancelled in commercetools",
        trigger="webhook",
        event_type="OrderStateChanged:Cancelled",
    )


class Verdict(StrEnum):
    PROCESS = "process"
    DUPLICATE = "duplicate"  # this message id was handled already
    STALE = "stale"  # a later version of the resource was handled already


class MessageLedger(Protocol):
    """What was handled: message ids and the last resource version per resource (a table in production)."""

    def seen(self, message_id: str) -> bool: ...

    def last_version(self, resource_id: str) -> int | None: ...

    def record(self, message: Message) -> None: ...


def verdict(message: Message, ledger: MessageLedger) -> Verdict:
    """Process, or drop as a duplicate or as stale. Pure given the ledger; recording is the caller's,
    after the work succeeded, so a failed attempt is retried rather than remembered."""
    found = message_verdict(
        seen=ledger.seen(message.id),
        last_version=ledger.last_version(message.resource.id),
        version=message.resourceVersion,
    )
    return Verdict(found.value)


class MemoryLedger:
    """A bounded in-process ledger: enough for one Lambda container, and for tests."""

    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._versions: OrderedDict[str, int] = OrderedDict()

    def seen(self, message_id: str) -> bool:
        return message_id in self._ids

    def last_version(self, resource_id: str) -> int | None:
        return self._versions.get(resource_id)

    def record(self, message: Message) -> None:
        self._ids[message.id] = None
        self._ids.move_to_end(message.id)
        rid = message.resource.id
        self._versions[rid] = max(message.resourceVersion, self._versions.get(rid, 0))
        self._versions.move_to_end(rid)
        for table in (self._ids, self._versions):
            while len(table) > self.capacity:
                table.popitem(last=False)
