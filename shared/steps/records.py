"""Reading a queue record into its message model: a body that does not parse is quarantined, not retried."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError

from shared.flows.bounds import message_problem
from shared.models import ReasonCode, owner_of
from shared.models.order import Model
from shared.runtime import Runtime

M = TypeVar("M", bound=Model)

# What a stored detail may hold: DynamoDB items are capped at 400 KB, and the detail is logged too.
_DETAIL_CHARS = 2000


def parse_or_quarantine(rt: Runtime, *, body: str, message_id: str, model: type[M], flow: str) -> M | None:
    """The message, or None after quarantining it: retrying a malformed body would only fill the DLQ."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        rt.exceptions.quarantine(
            flow=flow, business_key=f"message#{message_id}", reasons=[ReasonCode.PAYLOAD_INVALID],
            team=owner_of(ReasonCode.PAYLOAD_INVALID), now=rt.clock.now(),
            detail=storable(f"{model.__name__} invalid: {error.errors(include_url=False, include_input=False)[:3]}"),
        )
        return None
    except (ValueError, RecursionError, UnicodeError) as error:  # a parser limit, not a contract breach
        rt.exceptions.quarantine(
            flow=flow, business_key=f"message#{message_id}", reasons=[ReasonCode.PAYLOAD_INVALID],
            team=owner_of(ReasonCode.PAYLOAD_INVALID), now=rt.clock.now(),
            detail=storable(f"{model.__name__} unreadable: {type(error).__name__}"),
        )
        return None


def accept_or_quarantine(rt: Runtime, *, body: str, message_id: str, model: type[M], flow: str) -> M | None:
    """The message when this stack may act on it: parsed, for this client and source, within bounds.

    Anything else is quarantined with its reason and acknowledged (never a batch item failure): the same
    body would fail the same way on every redelivery and end in the DLQ with no reason attached.
    """
    message = parse_or_quarantine(rt, body=body, message_id=message_id, model=model, flow=flow)
    if message is None:
        return None
    problem = message_problem(message, rt.config)
    if problem is None:
        return message
    rt.exceptions.quarantine(
        flow=flow, business_key=f"message#{message_id}", reasons=[problem.reason], team=owner_of(problem.reason),
        now=rt.clock.now(), detail=storable(f"{model.__name__}: {problem.detail}"),
    )
    return None


def storable(text: str, limit: int = _DETAIL_CHARS) -> str:
    """Text any store and log accepts: encodable (lone surrogates escaped) and cut to `limit` characters."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= limit else f"{safe[:limit]}... ({len(safe)} characters)"
