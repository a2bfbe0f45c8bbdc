"""Reading a queue record into its message model: a body that does not parse is quarantined, not retried."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError

from shared.models import ReasonCode, owner_of
from shared.models.order import Model
from shared.runtime import Runtime

M = TypeVar("M", bound=Model)


def parse_or_quarantine(rt: Runtime, *, body: str, message_id: str, model: type[M], flow: str) -> M | None:
    """The message, or None after quarantining it: retrying a malformed body would only fill the DLQ."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        rt.exceptions.quarantine(
            flow=flow, business_key=f"message#{message_id}", reasons=[ReasonCode.PAYLOAD_INVALID],
            team=owner_of(ReasonCode.PAYLOAD_INVALID), now=rt.clock.now(),
            detail=f"{model.__name__} invalid: {error.errors(include_url=False)[:3]}",
        )
        return None
