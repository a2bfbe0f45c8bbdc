"""Safety-net poll: every authorised sale changed since the cursor goes to intake, which dedupes."""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from shared.models.messages import IntakeMessage
from shared.runtime import Runtime
from shared.steps.polling import poll_feed

logger = Logger(child=True)

FEED = "cin7_core.sales"


def poll_sales(rt: Runtime) -> dict[str, int | str]:
    """Authorised sales changed since the cursor go to intake, which dedupes against the ledger."""
    result = poll_feed(
        rt, feed=FEED, overlap_minutes=rt.config.source.poll_overlap_minutes, first_lookback=timedelta(days=1),
        read=rt.source.orders_changed_since, stamp=lambda change: change.updated_at, queue="order-intake",
        to_message=lambda change: IntakeMessage(
            client=rt.config.client, source=rt.source.name, source_id=change.source_id,
            order_number=change.order_number, trigger="poll", event_type=f"poll:{change.status}",
            source_updated_at=change.updated_at,
        ),
    )
    logger.info("poll done", extra=result)
    return result
