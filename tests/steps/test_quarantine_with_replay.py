"""The one helper a write-back step quarantines with (returns, despatch): the payload archived under the
step's kind, then one exception pointing at it that carries the message to replay on the step's queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from shared.models import ReasonCode
from shared.models.messages import ReturnMessage
from shared.models.returns import ReturnDisposition, ReturnedLine, ReturnNotice
from shared.steps.records import quarantine_with_replay
from shared.stores.exceptions import ExceptionStatus
from tests.steps.conftest import Steps


def a_return(steps: Steps) -> ReturnMessage:
    notice = ReturnNotice(
        warehouse="scend",
        return_id="R-1",
        warehouse_order_id="50001",
        client_reference="EXA-SO-1",
        lines=(ReturnedLine(sku="TEE-BLK-M", quantity=1, disposition=ReturnDisposition.BACK_IN_STOCK),),
        returned_on=datetime(2026, 3, 2, tzinfo=UTC),
    )
    return ReturnMessage(client=steps.rt.config.client, trigger="poll", notice=notice)


def quarantine(steps: Steps, message: ReturnMessage, reason: ReasonCode) -> str:
    return quarantine_with_replay(
        steps.rt,
        flow="return_writeback",
        business_key=message.business_key,
        message=message,
        body=message.notice.model_dump(mode="json"),
        kind="warehouse-return-quarantined",
        queue="return-writeback",
        reason=reason,
        detail="the order refused it",
        order_key="cin7_core#abc",
    )


def test_the_payload_is_archived_and_the_exception_replays_the_message_as_a_replay(steps: Steps) -> None:
    message = a_return(steps)
    exception_id = quarantine(steps, message, ReasonCode.WRITEBACK_REJECTED)
    record = steps.rt.exceptions.get(exception_id)
    assert record is not None
    assert (record.flow, record.business_key, record.reason, record.team.value) == (
        "return_writeback",
        "scend#return#R-1",
        ReasonCode.WRITEBACK_REJECTED,
        "operations",
    )
    assert record.replay_queue == "return-writeback"
    assert record.replay_message == message.model_copy(update={"trigger": "replay"}).model_dump(mode="json")
    assert record.payload_key is not None and "warehouse-return-quarantined" in record.payload_key
    assert json.loads(steps.rt.archive.get(record.payload_key)) == message.notice.model_dump(mode="json")


def test_a_new_verdict_supersedes_the_record_s_other_reasons(steps: Steps) -> None:
    message = a_return(steps)
    first = quarantine(steps, message, ReasonCode.RETURN_ORDER_UNKNOWN)
    quarantine(steps, message, ReasonCode.WRITEBACK_REJECTED)
    superseded = steps.rt.exceptions.get(first)
    assert superseded is not None and superseded.status == ExceptionStatus.RESOLVED
