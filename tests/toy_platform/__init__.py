"""A platform that exists only in the tests: one settings model, one spec, one builder. Adding it to the
registry and naming it in a client file is all it takes to run a pipeline from it.

It also delivers order events into our queue itself, as a commercetools Subscription does: straight to SQS as
an IAM principal, or through its own EventBridge partner source. Its settings name the sender; the stack
admits that sender alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from shared.connectors.settings import PlatformSettings, SecretName
from shared.connectors.spec import (
    BuildContext,
    ChannelContext,
    ChannelMessage,
    ConnectorSpec,
    Role,
    SubscriptionChannel,
)
from shared.errors import PermanentError
from shared.flows.order_events import EventKind, EventRules, OrderEvent
from shared.models import ReasonCode
from tests.fakes import FakeCommerce

# The shops the builder hands out, by instance name, so a test can place orders in the one a hop reads.
SHOPS: dict[str, FakeCommerce] = {}


class ToyShopSettings(PlatformSettings):
    type: Literal["toyshop"] = "toyshop"
    credentials_secret: SecretName = Field(description="JSON {token}")
    shop_name: str = "Toy Shop"
    subscription_principal: str | None = Field(None, description="IAM principal ARN that sends order events")
    event_source: str | None = Field(None, description="partner event source (its bus) for order events")


def build(name: str, settings: ToyShopSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext) -> Any:
    if secret.get("token") is None:
        raise ValueError("toyshop credentials secret lacks its token")
    return SHOPS.setdefault(name, FakeCommerce("toyshop", clock=ctx.clock))


def parse_order_event(body: bytes, ctx: ChannelContext) -> ChannelMessage:
    """{"id", "type": "OrderReady", "order": {"id", "number", "version"}}: an order state event; intake
    re-reads the order, so only "Ready" (the toy's trigger) asks for anything."""
    try:
        event = json.loads(body)
        order = event["order"]
        source_id, number, message_id = str(order["id"]), str(order["number"]), str(event["id"])
        version = int(order.get("version", 1))
    except (ValueError, KeyError, TypeError) as error:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"toy shop event: {error!r}"[:200]) from None
    kind = EventKind.ORDER_STATE if event.get("type") == "OrderReady" else EventKind.OTHER
    return ChannelMessage(
        message_id=message_id,
        resource=f"order/{source_id}",
        resource_version=version,
        source_id=source_id,
        order_number=number,
        event=OrderEvent(kind=kind, type=str(event.get("type", "")), state="Ready"),
        occurred_at=ctx.now,
    )


def toy_rules(settings: ToyShopSettings) -> EventRules:
    return EventRules(release_kind=EventKind.ORDER_STATE, release_state="Ready")


ORDER_EVENTS = SubscriptionChannel(
    name="orders",
    purpose="Toy Shop order events, sent to the intake queue by the shop's own IAM principal",
    roles=(Role.ORDER_SOURCE,),
    queue="order-messages",
    delivery="sqs",
    principal_field="subscription_principal",
    parse=parse_order_event,
    rules=toy_rules,
)
BUS_EVENTS = SubscriptionChannel(
    name="bus",
    purpose="Toy Shop order events from its EventBridge partner source, forwarded to the intake queue",
    roles=(Role.ORDER_SOURCE,),
    queue="order-messages",
    delivery="eventbridge",
    principal_field="event_source",
    parse=parse_order_event,
    rules=toy_rules,
)

SPEC = ConnectorSpec(
    type="toyshop",
    title="Toy Shop",
    settings=ToyShopSettings,
    secret_keys=("token",),
    roles=frozenset({Role.ORDER_SOURCE}),
    builder="tests.toy_platform:build",
    docs="",
    subscriptions=(ORDER_EVENTS, BUS_EVENTS),
)
