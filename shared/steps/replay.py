"""Rebuilding a quarantined record's message from its archived payload, with the code running now.

The inbox stores no message that carries personal data or did not parse; it stores where the payload is
archived and how to turn it back into a message (`PayloadReplay`). Rebuilding with current code is the
point: a parser or model fixed since the quarantine now accepts what it refused.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.connectors import registry
from shared.errors import PermanentError
from shared.stores.exceptions import ExceptionRecord, PayloadReplay


class ReplayRebuildError(ValueError):
    """The archived payload still does not make a message; the text says why (field paths, no values)."""


def rebuild(record: ExceptionRecord, payload: bytes, *, now: datetime) -> tuple[str, dict[str, Any]]:
    """(queue, message body) rebuilt from the archived payload as `record.replay_payload` says."""
    kind = record.replay_payload
    if kind == PayloadReplay.MESSAGE:
        if record.replay_queue is None:
            raise ReplayRebuildError("the exception names no queue for its archived message")
        try:
            body = json.loads(payload)
        except json.JSONDecodeError as error:
            raise ReplayRebuildError(
                f"the archived message is not JSON ({error.msg} at character {error.pos})"
            ) from None
        except UnicodeDecodeError:
            raise ReplayRebuildError("the archived message is not UTF-8 text") from None
        if not isinstance(body, dict):
            raise ReplayRebuildError(f"the archived message is a JSON {type(body).__name__}, not an object")
        return record.replay_queue, body
    rebuild_one = next(
        (
            found
            for platform in registry.known()
            if (found := registry.spec_for(platform).rebuilder(str(kind))) is not None
        ),
        None,
    )
    if rebuild_one is None:
        raise ReplayRebuildError(f"no rebuild is known for {kind}")
    try:
        queue, message = rebuild_one(record.client, payload, now, record.payload_key)
    except PermanentError as error:
        verb = "map" if str(kind).endswith("_row") else "parse"
        raise ReplayRebuildError(f"the archived payload still does not {verb}: {error.detail}") from None
    except ValueError as error:  # the payload parses but asks for nothing
        raise ReplayRebuildError(str(error)) from None
    return queue, message.model_dump(mode="json")
