"""One polling shape for every feed: read changes since (cursor - overlap), enqueue, then move the cursor.

The overlap re-reads a few minutes on every poll, so a record stamped just before the previous read
(clock skew, slow commit at the source) is never skipped. Consumers are idempotent, so a re-read is
harmless. The cursor moves only after every message is enqueued: a failed poll re-reads, never skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from shared.models.feed import Rejected
from shared.models.order import Model
from shared.runtime import Runtime

T = TypeVar("T")


def poll_feed(
    rt: Runtime,
    *,
    feed: str,
    overlap_minutes: int,
    first_lookback: timedelta,
    read: Callable[[datetime], Iterable[T | Rejected]],
    stamp: Callable[[T], datetime],
    to_message: Callable[[T], Model],
    queue: str,
    flow: str = "",
    unreadable_kind: str = "unreadable",
) -> dict[str, int | str]:
    """Rows the feed could not map come back as `Rejected` among its records: they are quarantined under
    `flow` (archived as `unreadable_kind`), and never hold the cursor back."""
    now = rt.clock.now()
    cursor = rt.cursors.get(feed)
    since = (cursor - timedelta(minutes=overlap_minutes)) if cursor else (now - first_lookback)
    newest = cursor or since
    messages: list[Model] = []
    rejected: list[Rejected] = []
    for item in read(since):
        if isinstance(item, Rejected):
            rejected.append(item)
            continue
        messages.append(to_message(item))
        newest = max(newest, stamp(item))
    rt.send_batch(queue, messages)
    unreadable = quarantine_unreadable(rt, flow=flow or feed, kind=unreadable_kind, rows=rejected)
    rt.cursors.advance(feed, newest, now, previous=cursor)
    return {"enqueued": len(messages), "since": since.isoformat(), "cursor": newest.isoformat(),
            "unreadable": unreadable}


def quarantine_unreadable(rt: Runtime, *, flow: str, kind: str, rows: Iterable[Rejected]) -> int:
    """Rows a feed could not map: archived and quarantined, never silently dropped."""
    from shared.models import ReasonCode, owner_of

    now = rt.clock.now()
    count = 0
    for rejected in rows:
        key = rt.archive.put(order_key=None, kind=kind, body={"row": rejected.row, "error": rejected.detail}, now=now)
        rt.exceptions.quarantine(flow=flow, business_key=key, reasons=[ReasonCode.PAYLOAD_INVALID],
                                 team=owner_of(ReasonCode.PAYLOAD_INVALID), detail=rejected.detail, now=now,
                                 payload_key=key)
        count += 1
    return count
