"""order_submit records the warehouse's order id on the source order where the source keeps one: after the
ledger, so the order is at the warehouse whatever that write does; a transient failure is recorded again on
redelivery, a refusal opens an exception and leaves the order where it is."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.errors import PermanentError, TransientError
from shared.models import Address, Order, OrderLine, ReasonCode
from shared.models.messages import SubmitMessage
from shared.runtime import Runtime
from shared.steps.order_submit import submit_order
from shared.stores.ledger import Stage
from tests.steps.conftest import Steps


class Recorder:
    """A source that keeps warehouse ids, failing as told."""

    def __init__(self, failures: list[Exception]):
        self.failures = failures
        self.recorded: list[tuple[str, str]] = []

    def record_warehouse_order(self, source_id: str, warehouse_order_id: str, as_read: Order | None = None) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.recorded.append((source_id, warehouse_order_id))


def message(steps: Steps) -> SubmitMessage:
    steps.warehouse.add_product("TEE-BLK-M")
    order = Order(
        source="cin7_core",
        source_id="00000000-0000-0000-0000-000000000001",
        order_number="SO-1",
        status="ORDERED",
        authorised=True,
        lines=(OrderLine(sku="TEE-BLK-M", quantity=Decimal(2), unit_price=Decimal("12.50")),),
        shipping_address=Address(name="Jo Smith", line1="1 High St", city="Leeds", postcode="LS1 1AA", country="GB"),
        updated_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return SubmitMessage(
        client=steps.rt.config.client,
        source=order.source,
        source_id=order.source_id,
        client_reference="EXA-SO-1",
        courier_service="RM48",
        order=order,
    )


@pytest.fixture
def recorder(steps: Steps, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    found = Recorder([])
    monkeypatch.setattr(Runtime, "warehouse_id_recorder", property(lambda self: found))
    return found


def test_the_warehouse_id_is_recorded_at_the_source_once_the_order_is_created(steps: Steps, recorder: Recorder) -> None:
    submit = message(steps)
    result = submit_order(submit, steps.rt)
    assert result["outcome"] == "created"
    assert recorder.recorded == [(submit.source_id, result["warehouse_order_id"])]


def test_a_transient_failure_is_recorded_again_when_the_record_is_redelivered(steps: Steps, recorder: Recorder) -> None:
    # Given a source whose first write fails transiently
    recorder.failures.append(TransientError("503 from the source"))
    submit = message(steps)
    # When submit runs: the order is created and in the ledger, then the write fails the record
    with pytest.raises(TransientError):
        submit_order(submit, steps.rt)
    entry = steps.rt.ledger.get(submit.order_key)
    assert entry is not None and entry.stage == Stage.SUBMITTED and entry.warehouse_order_id
    assert recorder.recorded == []
    # And the redelivery creates nothing more and records the id
    again = submit_order(submit, steps.rt)
    assert again["outcome"] == "already_submitted"
    assert len(steps.warehouse.orders) == 1
    assert recorder.recorded == [(submit.source_id, entry.warehouse_order_id)]


def test_a_refused_write_opens_an_exception_and_the_order_stays_submitted(steps: Steps, recorder: Recorder) -> None:
    recorder.failures.append(PermanentError(ReasonCode.SOURCE_REJECTED, "sync_channel_id is not set"))
    submit = message(steps)
    assert submit_order(submit, steps.rt)["outcome"] == "created"
    [exception] = steps.rt.exceptions.list()
    assert (exception.flow, exception.reason, exception.team.value) == (
        "order_sync",
        ReasonCode.SOURCE_REJECTED,
        "operations",
    )
    assert "sync_channel_id is not set" in exception.detail
    entry = steps.rt.ledger.get(submit.order_key)
    assert entry is not None and entry.stage == Stage.SUBMITTED
