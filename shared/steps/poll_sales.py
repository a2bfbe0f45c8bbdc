"""Safety-net poll: every authorised sale changed since the cursor goes to intake, which dedupes."""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from shared.models.messages import IntakeMessage
from shared.runtime import Runtime

logger = Logger(child=True)

FEED = "cin7_core.sales"


def poll_sales(rt: Runtime) -> dict[str, int | str]:
    """List changes since (cursor - overlap), enqueue them, then advance the cursor to the newest seen.

    The overlap re-reads a few minutes on every poll so a sale stamped just before the previous poll's
    read (clock skew, slow commit at the source) is never skipped; intake makes the re-read harmless.
    The cursor only moves after every message is enqueued, so a failed poll re-reads, never skips.
    """
    now = rt.clock.now()
    overlap = timedelta(minutes=rt.config.source.poll_overlap_minutes)
    cursor = rt.cursors.get(FEED)
    since = (cursor - overlap) if cursor else (now - timedelta(days=1))
    newest = cursor or since
    messages: list[IntakeMessage] = []
    for change in rt.source.orders_changed_since(since):
        messages.append(IntakeMessage(
            client=rt.config.client, source=rt.source.name, source_id=change.source_id,
            order_number=change.order_number, trigger="poll", event_type=f"poll:{change.status}",
            source_updated_at=change.updated_at,
        ))
        newest = max(newest, change.updated_at)
    rt.send_batch("order-intake", list(messages))
    rt.cursors.advance(FEED, newest, now, previous=cursor)
    logger.info("poll done",
                extra={"since": since.isoformat(), "enqueued": len(messages), "cursor": newest.isoformat()})
    return {"enqueued": len(messages), "since": since.isoformat(), "cursor": newest.isoformat()}
