"""One polling shape for every feed: read changes since (cursor - overlap), enqueue, then move the cursor.

The overlap re-reads a few minutes on every poll, so a record stamped just before the previous read
(clock skew, slow commit at the source) is never skipped. Consumers are idempotent, so a re-read is
harmless. The cursor moves only after every message is enqueued: a failed poll re-reads, never skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from shared.models.base import Model
from shared.models.feed import Rejected
from shared.runtime import Runtime
from shared.stores.exceptions import PayloadReplay

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
    replay_payload: PayloadReplay | None = None,
) -> dict[str, int | str]:
    """Rows the feed could not map come back as `Rejected` among its records: they are quarantined under
    `flow` (archived as `unreadable_kind`, replayable to `queue` when `replay_payload` says how to rebuild
    the message from the archived row), and never hold the cursor back."""
    counts, result = poll_routed(
        rt,
        feed=feed,
        overlap_minutes=overlap_minutes,
        first_lookback=first_lookback,
        read=read,
        stamp=stamp,
        route=lambda item: (queue, to_message(item)),
        unreadable_queue=queue,
        flow=flow,
        unreadable_kind=unreadable_kind,
        replay_payload=replay_payload,
    )
    return {"enqueued": counts.get(queue, 0), **result}


def poll_routed(
    rt: Runtime,
    *,
    feed: str,
    overlap_minutes: int,
    first_lookback: timedelta,
    read: Callable[[datetime], Iterable[T | Rejected]],
    stamp: Callable[[T], datetime],
    route: Callable[[T], tuple[str, Model] | None],
    unreadable_queue: str,
    flow: str = "",
    unreadable_kind: str = "unreadable",
    replay_payload: PayloadReplay | None = None,
) -> tuple[dict[str, int], dict[str, int | str]]:
    """One cursor, one read, each record sent to the queue `route` names (None: nothing to send; its stamp
    still moves the cursor). Returns the count sent per queue, and the window read."""
    now = rt.clock.now()
    cursor = rt.cursors.get(feed)
    since = (cursor - timedelta(minutes=overlap_minutes)) if cursor else (now - first_lookback)
    newest = cursor or since
    batches: dict[str, list[Model]] = {}
    rejected: list[Rejected] = []
    for item in read(since):
        if isinstance(item, Rejected):
            rejected.append(item)
            continue
        routed = route(item)
        if routed is not None:
            batches.setdefault(routed[0], []).append(routed[1])
        newest = max(newest, stamp(item))
    for queue, messages in batches.items():
        rt.send_batch(queue, messages)
    unreadable = quarantine_unreadable(
        rt,
        flow=flow or feed,
        kind=unreadable_kind,
        rows=rejected,
        replay_queue=unreadable_queue if replay_payload else None,
        replay_payload=replay_payload,
    )
    rt.cursors.advance(feed, newest, now, previous=cursor)
    return {queue: len(messages) for queue, messages in batches.items()}, {
        "since": since.isoformat(),
        "cursor": newest.isoformat(),
        "unreadable": unreadable,
    }


def quarantine_unreadable(
    rt: Runtime,
    *,
    flow: str,
    kind: str,
    rows: Iterable[Rejected],
    replay_queue: str | None = None,
    replay: Callable[[object], Model | None] | None = None,
    replay_payload: PayloadReplay | None = None,
) -> int:
    """Rows a feed could not map: archived and quarantined, never silently dropped.

    A row the connector names (`Rejected.key`) has one exception per kind and key, however often it is read
    again; a row without one is keyed by its archive key. Each exception points at its archived row. With
    `replay_queue`, it also says how to replay it: `replay`
    builds the message from the row (e.g. "re-read this SKU"), or `replay_payload` rebuilds it from the
    archived row with the mapping code running at replay time.
    """
    from shared.models import ReasonCode, owner_of
    from shared.steps.records import ROW_KEY_PREFIX

    now = rt.clock.now()
    count = 0
    for rejected in rows:
        row, detail = rejected.row, rejected.detail
        key = rt.archive.put(order_key=None, kind=kind, body={"row": row, "error": detail}, now=now)
        message = replay(row) if replay is not None and replay_queue else None
        rt.exceptions.quarantine(
            flow=flow,
            # A row with an id of its own is one exception however often a poll's overlap (or a cursor no
            # readable row moves) lists it again: re-opened and counted, pointing at its latest archive.
            business_key=f"{ROW_KEY_PREFIX}{kind}#{rejected.key}" if rejected.key else key,
            reasons=[ReasonCode.PAYLOAD_INVALID],
            team=owner_of(ReasonCode.PAYLOAD_INVALID),
            detail=detail,
            now=now,
            payload_key=key,
            replay_queue=replay_queue if (message is not None or replay_payload) else None,
            replay_message=message.model_dump(mode="json") if message is not None else None,
            replay_payload=replay_payload if message is None and replay_queue else None,
        )
        count += 1
    return count
