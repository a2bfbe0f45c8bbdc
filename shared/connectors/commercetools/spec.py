"""commercetools' declaration: the storefront whose orders go to the warehouse, which takes deliveries and
stock figures back, announces cancellations and products, and takes notes on its orders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.connectors.commercetools.settings import CommercetoolsSettings
from shared.connectors.spec import (
    BuildContext,
    ChannelContext,
    ChannelMessage,
    ConnectorSpec,
    Role,
    SubscriptionChannel,
)


def build(
    name: str, settings: CommercetoolsSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext
) -> Any:
    import httpx

    from shared.connectors.commercetools.client import CommercetoolsClient
    from shared.connectors.commercetools.ports import CommercetoolsPorts
    from shared.connectors.commercetools.settings import CommercetoolsCredentials

    credentials = CommercetoolsCredentials.model_validate(dict(secret))
    client = CommercetoolsClient(
        settings,
        credentials,
        retry=retries,
        clock=ctx.clock,
        # One budget per API client, shared by every flow and Lambda of this project.
        budget=ctx.budget(
            f"commercetools:{settings.project_key}:{credentials.client_id}", settings.calls_per_minute, 60
        ),
        # `hopline/<hop>`: the platform's logs (and the sandbox) say which flow spent the calls.
        http=httpx.Client(timeout=ctx.http_timeout or retries.timeout_seconds, headers={"User-Agent": ctx.user_agent}),
    )
    return CommercetoolsPorts(client)


def parse_subscription(body: bytes, ctx: ChannelContext) -> ChannelMessage:
    from shared.connectors.commercetools.messages import parse_subscription as parse

    return parse(body, ctx)


def event_rules(settings: CommercetoolsSettings) -> Any:
    from shared.connectors.commercetools.messages import event_rules as rules

    return rules(settings)


# The order Subscription (§2): straight into our queue as commercetools' IAM principal, or through the
# project's EventBridge partner source where the client chooses it (`subscription_delivery`). Either way the
# queue's consumer reads the same envelope (on EventBridge it sits in `detail`).
ORDER_MESSAGES = SubscriptionChannel(
    name="orders",
    purpose="commercetools order messages (Subscription, SQS destination, IAM authentication mode)",
    roles=(Role.ORDER_SOURCE,),
    queue="order-messages",
    delivery="sqs",
    principal_field="sqs_sender",
    parse=parse_subscription,
    rules=event_rules,
    archive_kind="commercetools-message",
)
ORDER_EVENTS = SubscriptionChannel(
    name="events",
    purpose="commercetools order messages from the project's EventBridge partner source, forwarded to the queue",
    roles=(Role.ORDER_SOURCE,),
    queue="order-messages",
    delivery="eventbridge",
    principal_field="partner_event_source",
    parse=parse_subscription,
    rules=event_rules,
    archive_kind="commercetools-message",
)

SPEC = ConnectorSpec(
    type="commercetools",
    title="commercetools",
    settings=CommercetoolsSettings,
    secret_keys=("client_id", "client_secret"),
    roles=frozenset(
        {
            Role.ORDER_SOURCE,
            Role.SHIPMENT_TARGET,
            Role.CATALOGUE_SOURCE,
            Role.STOCK_TARGET,
            Role.STOCK_READER,
            Role.CANCEL_SOURCE,
            Role.NOTE_TARGET,
            Role.RETURN_TARGET,
            Role.ORDER_RECORDS,
            Role.CATALOGUE_AUDIT,
        }
    ),
    builder="shared.connectors.commercetools.spec:build",
    docs="docs/platforms/commercetools.md",
    subscriptions=(ORDER_MESSAGES, ORDER_EVENTS),
    records_warehouse_ids=True,
)
