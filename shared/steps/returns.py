"""Returns back: poll the warehouse's booked-in returns, record each on the order it came from once.

The order's platform decides how a return is written (commercetools: addReturnInfo, then the return
shipment state per item from the warehouse's disposition); this step finds the order by our reference
and keeps what cannot be applied visible and replayable.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.messages import ReturnMessage
from shared.runtime import Runtime
from shared.steps.polling import poll_feed
from shared.steps.records import quarantine_with_replay

logger = Logger(child=True)

FLOW = "return_writeback"


class ReturnResult(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


def poll_returns(rt: Runtime) -> dict[str, Any]:
    """Returns booked in since the cursor go to the return queue; unreadable rows are quarantined."""
    pipeline = rt.config.returns
    return poll_feed(
        rt,
        feed=f"{rt.return_source.name}.returns",
        overlap_minutes=pipeline.poll_overlap_minutes,
        first_lookback=timedelta(days=pipeline.first_lookback_days),
        read=rt.return_source.returns_since,
        stamp=lambda notice: notice.returned_on,
        to_message=lambda notice: ReturnMessage(client=rt.config.client, trigger="poll", notice=notice),
        queue="return-writeback",
        flow=FLOW,
        unreadable_kind="warehouse-return-unreadable",
    )


def apply_return(message: ReturnMessage, rt: Runtime) -> ReturnResult:
    """Record one return on its order; an order we do not know, or a return its platform refuses, is
    quarantined with the message to replay once fixed."""
    notice = message.notice
    order_key = rt.ledger.find_by_reference(notice.client_reference)
    if order_key is None:
        _quarantine(
            rt,
            message,
            ReasonCode.RETURN_ORDER_UNKNOWN,
            f"return {notice.return_id} is for {notice.client_reference}, which the ledger does not know",
        )
        return ReturnResult.QUARANTINED
    now = rt.clock.now()
    rt.archive.put(order_key=order_key, kind="warehouse-return", body=notice.model_dump(mode="json"), now=now)
    try:
        wrote = rt.return_target.record_return(order_key.split("#", 1)[1], notice)
    except PermanentError as error:
        _quarantine(rt, message, ReasonCode.WRITEBACK_REJECTED, error.detail, order_key=order_key)
        return ReturnResult.QUARANTINED
    rt.exceptions.resolve(FLOW, message.business_key, by=f"{FLOW}:{message.trigger}", now=rt.clock.now())
    logger.info("return recorded", extra={"order_key": order_key, "return_id": notice.return_id, "written": wrote})
    return ReturnResult.RECORDED if wrote else ReturnResult.DUPLICATE


def _quarantine(
    rt: Runtime, message: ReturnMessage, reason: ReasonCode, detail: str, order_key: str | None = None
) -> None:
    quarantine_with_replay(
        rt,
        flow=FLOW,
        business_key=message.business_key,
        message=message,
        body=message.notice.model_dump(mode="json"),
        kind="warehouse-return-quarantined",
        queue="return-writeback",
        reason=reason,
        detail=detail,
        order_key=order_key,
    )
    logger.warning("return quarantined", extra={"reason_code": reason.value, "detail": detail})
