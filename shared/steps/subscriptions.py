"""The consumer of order messages a platform pushes into our queue itself (a commercetools Subscription).

Each message is read by its platform's channel (shared/connectors/<type>/, `SubscriptionChannel.parse`),
de-duplicated against the message log (its id handled, or a later version of its order handled: dropped),
then routed by the pure flow (shared/flows/order_events.py): to intake, which reads the order fresh and
re-checks its states before validation and hand-off; to the cancellation; or nowhere. A message without
its payload is decided from a fresh read of the order. What cannot be read, or comes from another project,
is archived and quarantined with its reason and owner, replayable onto this queue. The message is recorded
as handled only after what it asked for was sent, so a failed attempt is redelivered, not forgotten.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools import Logger

from shared import topology
from shared.connectors.spec import ChannelContext, ChannelMessage, Role
from shared.errors import PermanentError
from shared.flows.order_events import Action, EventRules, Verdict, message_verdict, route_event, route_fresh
from shared.models.messages import CancelRequest, IntakeMessage
from shared.runtime import Runtime
from shared.steps.records import MESSAGE_KEY_PREFIX, quarantine_message, storable
from shared.steps.subscription_health import QUEUE

if TYPE_CHECKING:
    from shared.topology import Subscription

logger = Logger(child=True)


class MessageOutcome(StrEnum):
    INTAKE = "intake"
    CANCEL = "cancel"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    STALE = "stale"
    QUARANTINED = "quarantined"


class PushedBody(Protocol):
    """What the step reads off one SQS record (functions.kit.PushedRecord)."""

    @property
    def body(self) -> str: ...

    @property
    def message_id(self) -> str: ...


def take_message(record: PushedBody, rt: Runtime) -> MessageOutcome:
    """One pushed message to one outcome. Transient errors propagate, so SQS redelivers the message."""
    sub = topology.subscription_for_queue(rt.config, QUEUE)
    if sub is None:
        raise RuntimeError(f"{rt.config.client}: no subscription channel delivers into {QUEUE}")
    settings = rt.config.platforms[sub.platform]
    now = rt.clock.now()
    context = ChannelContext(
        client=rt.config.client,
        platform_type=settings.type,
        bounds=rt.config.bounds,
        now=now,
        archive_key="",
        config=rt.config,
        platform=sub.platform,
    )
    try:
        parsed = sub.channel.parse(record.body.encode("utf-8", "surrogatepass"), context)
    except PermanentError as error:
        quarantine_message(
            rt,
            flow=sub.channel.flow,
            business_key=f"{MESSAGE_KEY_PREFIX}{record.message_id}",
            body=storable(record.body, 262_144),
            queue=QUEUE,
            reason=error.reason,
            detail=storable(error.detail),
        )
        return MessageOutcome.QUARANTINED

    log = rt.message_log
    verdict = message_verdict(
        seen=log.seen(settings.type, parsed.message_id),
        last_version=log.last_version(settings.type, parsed.resource),
        version=parsed.resource_version,
    )
    if verdict is not Verdict.PROCESS:
        logger.info(
            "pushed message dropped",
            extra={"message_id": parsed.message_id, "resource": parsed.resource, "verdict": verdict.value},
        )
        return MessageOutcome.DUPLICATE if verdict is Verdict.DUPLICATE else MessageOutcome.STALE

    rules = _rules(rt, sub)
    route = route_event(parsed.event, rules)
    if route.action is Action.READ:
        # The payload was too big to send: the order, read now, says what the message would have.
        route = route_fresh(rt.order_source.fetch_order(parsed.source_id), rules)
    outcome = MessageOutcome.IGNORED
    if route.action in (Action.INTAKE, Action.CANCEL):
        archive_key = rt.archive.put(
            order_key=f"{settings.type}#{parsed.source_id}", kind=sub.channel.archive_kind, body=record.body, now=now
        )
        outcome = _send(rt, sub, parsed, route.action, route.why, archive_key)
    log.record(settings.type, parsed.message_id, parsed.resource, parsed.resource_version, rt.clock.now())
    logger.info(
        "pushed message routed",
        extra={
            "message_id": parsed.message_id,
            "order_key": f"{settings.type}#{parsed.source_id}",
            "type": parsed.event.type,
            "outcome": outcome.value,
            "why": route.why,
        },
    )
    return outcome


def _rules(rt: Runtime, sub: Subscription) -> EventRules:
    """The channel's rules, without a cancel state where this client's cancellations are not this platform's."""
    rules: EventRules = sub.channel.rules(rt.config.platforms[sub.platform])
    cancels_here = (
        rt.config.plays(Role.CANCEL_SOURCE)
        and rt.config.platform_for(Role.CANCEL_SOURCE) == sub.platform
        and topology.deploys_queue(rt.config, "cancel-requests")  # where this consumer sends cancellations
    )
    return rules if cancels_here else rules.model_copy(update={"cancel_state": None})


def _send(
    rt: Runtime, sub: Subscription, parsed: ChannelMessage, action: Action, why: str, archive_key: str
) -> MessageOutcome:
    source = rt.config.platforms[sub.platform].type
    if action is Action.INTAKE:
        rt.send(
            "order-intake",
            IntakeMessage(
                client=rt.config.client,
                source=source,
                source_id=parsed.source_id,
                order_number=parsed.order_number,
                trigger="subscription",
                event_type=parsed.event.type,
                archive_key=archive_key,
            ),
        )
        return MessageOutcome.INTAKE
    rt.send(
        "cancel-requests",
        CancelRequest(
            client=rt.config.client,
            source=source,
            source_id=parsed.source_id,
            order_number=parsed.order_number,
            requested_at=parsed.occurred_at,
            reason=why,
            trigger="subscription",
            event_type=parsed.event.type,
        ),
    )
    return MessageOutcome.CANCEL
