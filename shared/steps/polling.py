"""One polling shape for every feed: read changes since (cursor - overlap), enqueue, then move the cursor.

The overlap re-reads a few minutes on every poll, so a record stamped just before the previous read
(clock skew, slow commit at the source) is never skipped. Consumers are idempotent, so a re-read is
harmless. The cursor moves only after every message is enqueued: a failed poll re-reads, never skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from shared.models.order import Model
from shared.runtime import Runtime

T = TypeVar("T")


def poll_feed(
    rt: Runtime,
    *,
    feed: str,
    overlap_minutes: int,
    first_lookback: timedelta,
    read: Callable[[datetime], Iterable[T]],
    stamp: Callable[[T], datetime],
    to_message: Callable[[T], Model],
    queue: str,
) -> dict[str, int | str]:
    now = rt.clock.now()
    cursor = rt.cursors.get(feed)
    since = (cursor - timedelta(minutes=overlap_minutes)) if cursor else (now - first_lookback)
    newest = cursor or since
    messages: list[Model] = []
    for item in read(since):
        messages.append(to_message(item))
        newest = max(newest, stamp(item))
    rt.send_batch(queue, messages)
    rt.cursors.advance(feed, newest, now, previous=cursor)
    return {"enqueued": len(messages), "since": since.isoformat(), "cursor": newest.isoformat()}


def quarantine_unreadable(rt: Runtime, *, flow: str, kind: str, rows: Iterable[tuple[object, str]]) -> int:
    """Rows a feed could not map (raw row, why): archived and quarantined, never silently dropped."""
    from shared.models import ReasonCode, owner_of

    now = rt.clock.now()
    count = 0
    for row, detail in rows:
        key = rt.archive.put(order_key=None, kind=kind, body={"row": row, "error": detail}, now=now)
        rt.exceptions.quarantine(flow=flow, business_key=key, reasons=[ReasonCode.PAYLOAD_INVALID],
                                 team=owner_of(ReasonCode.PAYLOAD_INVALID), detail=detail, now=now, payload_key=key)
        count += 1
    return count
