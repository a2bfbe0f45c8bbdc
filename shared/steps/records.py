"""Reading a queue record into its message model: a body that does not parse is quarantined, not retried.

The body is archived exactly as received (the encrypted archive is the only place its personal data may
live) and the exception points at it, with the queue to send it back to: `hopline replay` re-sends the
archived copy (or a corrected one) once the cause is fixed. The replayed copy carries the exception's id
as a message attribute, so the consumer closes that exception when the copy parses, or counts another
attempt on it when it still does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from shared.flows.bounds import message_problem
from shared.models import ReasonCode, owner_of
from shared.models.base import Model
from shared.redaction import field_errors
from shared.runtime import Runtime

if TYPE_CHECKING:
    from shared.stores.exceptions import ExceptionRecord

logger = Logger(child=True)

M = TypeVar("M", bound=Model)

# What a stored detail may hold: DynamoDB items are capped at 400 KB, and the detail is logged too.
_DETAIL_CHARS = 2000
# An unreadable body is archived escaped (lone surrogates cannot be encoded as they are).
_ARCHIVE_CHARS = 262_144
# The SQS message attribute a replay carries: the id of the exception it replays.
REPLAY_OF_ATTRIBUTE = "hopline_replay_of"
MESSAGE_KEY_PREFIX = "message#"
ROW_KEY_PREFIX = "row#"  # a feed's unreadable row by its own id: row#<kind>#<id>
# Business keys of exceptions about a payload that was unreadable as a whole (a message, or a feed's row
# keyed by its own id or its archive key): once a replay of it parses, that exception is over.
UNREADABLE_KEY_PREFIXES = (MESSAGE_KEY_PREFIX, ROW_KEY_PREFIX, "unmatched/")


def queue_of(model: type[Model]) -> str | None:
    """The queue that carries this message model (shared/models/messages declares one per queue).

    Asked only when quarantining, so a hop's import does not load every queue's message model."""
    from shared.models.messages import MESSAGE_BY_QUEUE

    return next((queue for queue, carried in MESSAGE_BY_QUEUE.items() if carried is model), None)


def replay_of(attributes: Mapping[str, Any] | None) -> str | None:
    """The exception id a replayed message names, from an SQS record's message attributes (the Lambda event
    spells the value `stringValue`, boto3's receive_message `StringValue`)."""
    if not attributes or REPLAY_OF_ATTRIBUTE not in attributes:
        return None
    attribute = attributes[REPLAY_OF_ATTRIBUTE]
    value = attribute.get("stringValue") or attribute.get("StringValue")
    return str(value) if value else None


def parse_or_quarantine(
    rt: Runtime,
    *,
    body: str,
    message_id: str,
    model: type[M],
    flow: str,
    queue: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> M | None:
    """The message, or None after quarantining it: retrying a malformed body would only fill the DLQ.

    `attributes` are the record's message attributes: a replay of an earlier malformed message resolves
    (or re-counts) that message's exception instead of opening a new one under the new message id.
    """
    replayed = _replayed_parse_failure(rt, replay_of(attributes), flow)
    business_key = replayed.business_key if replayed else f"{MESSAGE_KEY_PREFIX}{message_id}"
    try:
        message = model.model_validate_json(body)
    except ValidationError as error:
        quarantine_message(
            rt,
            flow=flow,
            business_key=business_key,
            body=body,
            queue=queue or queue_of(model),
            reason=ReasonCode.PAYLOAD_INVALID,
            detail=storable(f"{model.__name__} invalid: {field_errors(error, limit=8)}"),
        )
        return None
    except (ValueError, RecursionError, UnicodeError) as error:  # a parser limit, not a contract breach
        quarantine_message(
            rt,
            flow=flow,
            business_key=business_key,
            body=storable(body, _ARCHIVE_CHARS),
            queue=queue or queue_of(model),
            reason=ReasonCode.PAYLOAD_INVALID,
            detail=f"{model.__name__} unreadable: {type(error).__name__}",
        )
        return None
    if replayed is not None:
        rt.exceptions.resolve(flow, replayed.business_key, by=f"{flow}:replay", now=rt.clock.now())
    return message


def quarantine_message(
    rt: Runtime,
    *,
    flow: str,
    business_key: str,
    body: str | bytes | dict[str, Any],
    queue: str | None,
    reason: ReasonCode,
    detail: str,
    order_key: str | None = None,
    supersede: bool = False,
) -> str:
    """Archive a message as received, then open the exception pointing at it, replayable from the archive.

    For a message that did not parse or carries personal data: the inbox keeps the pointer, never the body.
    """
    from shared.stores.exceptions import PayloadReplay  # the inbox's models, loaded when a record is quarantined

    now = rt.clock.now()
    kind = f"{queue or flow}-message-{'invalid' if reason == ReasonCode.PAYLOAD_INVALID else 'quarantined'}"
    payload_key = rt.archive.put(order_key=order_key, kind=kind, body=body, now=now)
    exception_id = rt.exceptions.quarantine(
        flow=flow,
        business_key=business_key,
        reasons=[reason],
        team=owner_of(reason),
        detail=detail,
        now=now,
        payload_key=payload_key,
        replay_queue=queue,
        replay_payload=PayloadReplay.MESSAGE if queue else None,
        supersede=supersede,
    )
    logger.warning(
        "message quarantined",
        extra={
            "flow": flow,
            "reason_code": reason.value,
            "queue": queue,
            "exception_id": exception_id,
            "archive_key": payload_key,
            "detail": detail,
        },
    )
    return exception_id


def quarantine_with_replay(
    rt: Runtime,
    *,
    flow: str,
    business_key: str,
    message: Model,
    body: dict[str, Any],
    kind: str,
    queue: str,
    reason: ReasonCode,
    detail: str,
    order_key: str | None = None,
) -> str:
    """Archive `body` under `kind`, then open the exception pointing at it with `message` to replay on `queue`
    (as a replay, where the message names its trigger) once the cause is fixed; returns the exception's id.

    For a message that holds no personal data, so the inbox may keep it whole. The verdict replaces the
    record's other open reasons in this flow (supersede).
    """
    now = rt.clock.now()
    payload_key = rt.archive.put(order_key=order_key, kind=kind, body=body, now=now)
    replay = message.model_copy(update={"trigger": "replay"}) if "trigger" in type(message).model_fields else message
    return rt.exceptions.quarantine(
        flow=flow,
        business_key=business_key,
        reasons=[reason],
        team=owner_of(reason),
        detail=detail,
        now=now,
        payload_key=payload_key,
        replay_queue=queue,
        replay_message=replay.model_dump(mode="json"),
        supersede=True,
    )


def _replayed_parse_failure(rt: Runtime, exception_id: str | None, flow: str) -> ExceptionRecord | None:
    """The unreadable-payload exception this record replays, if it replays one of this flow's."""
    if exception_id is None:
        return None
    record = rt.exceptions.get(exception_id)
    if (
        record is None
        or record.flow != flow
        or record.reason != ReasonCode.PAYLOAD_INVALID
        or not record.business_key.startswith(UNREADABLE_KEY_PREFIXES)
    ):
        return None
    return record


def accept_or_quarantine(
    rt: Runtime,
    *,
    body: str,
    message_id: str,
    model: type[M],
    flow: str,
    queue: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> M | None:
    """The message when this stack may act on it: parsed, for this client and source, within bounds.

    Anything else is archived as received, quarantined with its reason and acknowledged (never a batch item
    failure): the same body would fail the same way on every redelivery and end in the DLQ with no reason.
    """
    message = parse_or_quarantine(
        rt, body=body, message_id=message_id, model=model, flow=flow, queue=queue, attributes=attributes
    )
    if message is None:
        return None
    problem = message_problem(message, rt.config)
    if problem is None:
        return message
    quarantine_message(
        rt,
        flow=flow,
        business_key=f"{MESSAGE_KEY_PREFIX}{message_id}",
        body=body,
        queue=queue or queue_of(model),
        reason=problem.reason,
        detail=storable(f"{model.__name__}: {problem.detail}"),
    )
    return None


def storable(text: str, limit: int = _DETAIL_CHARS) -> str:
    """Text any store and log accepts: encodable (lone surrogates escaped) and cut to `limit` characters."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= limit else f"{safe[:limit]}... ({len(safe)} characters)"
