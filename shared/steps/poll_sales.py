"""Safety-net poll: every authorised sale changed since the cursor goes to intake, which dedupes."""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from shared.connectors.roles import Role
from shared.models.messages import CancelRequest, IntakeMessage
from shared.runtime import Runtime
from shared.steps.polling import poll_feed

logger = Logger(child=True)


def poll_sales(rt: Runtime) -> dict[str, int | str]:
    """Authorised sales changed since the cursor go to intake, which dedupes against the ledger; voided
    ones go to cancellation, where a repeat starts no second execution."""
    # Cursors are named by the source's type ("cin7_core.sales"), so a second source never shares one.
    result = poll_feed(
        rt,
        feed=f"{rt.order_source.name}.sales",
        overlap_minutes=rt.config.orders.poll_overlap_minutes,
        first_lookback=timedelta(days=1),
        read=rt.order_source.orders_changed_since,
        stamp=lambda change: change.updated_at,
        queue="order-intake",
        to_message=lambda change: IntakeMessage(
            client=rt.config.client,
            source=rt.order_source.name,
            source_id=change.source_id,
            order_number=change.order_number,
            trigger="poll",
            event_type=f"poll:{change.status}",
            source_updated_at=change.updated_at,
        ),
    )
    if rt.config.pipelines.cancellation is None:  # no cancellation pipeline: voids are not this stack's to act on
        logger.info("poll done", extra=result)
        return result
    voided_at = f"voided at {rt.config.spec(rt.config.platform_for(Role.CANCEL_SOURCE)).title}"
    voided = poll_feed(
        rt,
        feed=f"{rt.cancel_source.name}.voided_sales",
        overlap_minutes=rt.config.orders.poll_overlap_minutes,
        first_lookback=timedelta(days=1),
        read=rt.cancel_source.cancelled_since,
        stamp=lambda change: change.updated_at,
        queue="cancel-requests",
        to_message=lambda change: CancelRequest(
            client=rt.config.client,
            source=rt.order_source.name,
            source_id=change.source_id,
            order_number=change.order_number,
            requested_at=change.updated_at,
            reason=voided_at,
            trigger="poll",
            event_type=f"poll:{change.status}",
        ),
    )
    result["cancels_enqueued"] = voided["enqueued"]
    logger.info("poll done", extra=result)
    return result
