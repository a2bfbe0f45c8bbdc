"""A commercetools order cancelled after it reached Scend: `OrderStateChanged -> Cancelled` (or the poll
of cancelled orders) starts the state-aware cancellation; cancelled at the warehouse while it may be, and
"too late" once picked, written on the order's notes field and raised as an exception for operations.
The state machine runs on moto with the real hops; judged by what the mock and the simulator hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared.connectors.commercetools.messages import cancel_request, parse_message
from shared.flows.cancellation import Outcome, execution_name
from shared.models import ReasonCode
from shared.models.messages import CancelRequest
from shared.steps.poll_sales import poll_sales
from tests.steps.commercetools_scend import Pairing, fresh, running_pairing

PICKED, CANCELLED = 17, 3


@pytest.fixture(scope="module")
def started() -> Iterator[Pairing]:
    with running_pairing() as pairing:
        yield pairing


@pytest.fixture
def pairing(started: Pairing) -> Pairing:
    return fresh(started)


def cancel_in_shop(pairing: Pairing, order_id: str) -> dict[str, Any]:
    pairing.clock.advance(60)
    pairing.now_at_mock()
    return pairing.seeder.update(f"orders/{order_id}", [{"action": "changeOrderState", "orderState": "Cancelled"}])


def run_cancellation(pairing: Pairing, request: CancelRequest) -> dict[str, Any]:
    """The request on the cancel queue, its consumer run, the execution it starts waited for."""
    pairing.rt.send("cancel-requests", request)
    pairing.local.drain_queue("cancel-requests")
    pairing.local.wait_for_executions()
    name = execution_name(request.client, request.order_key)
    [execution] = [e for e in pairing.local.executions() if e["name"] == name]
    assert execution["status"] == "SUCCEEDED", execution
    output: dict[str, Any] = json.loads(execution["output"])
    return output


def notes(pairing: Pairing, order_id: str) -> str:
    custom = pairing.ct_order(order_id).get("custom") or {}
    return str(custom.get("fields", {}).get(pairing.settings.notes_field, ""))


def test_cancelled_by_message_before_picking_is_cancelled_at_scend_and_noted(pairing: Pairing) -> None:
    # Given an order at Scend, not yet picked
    pairing.product("CT-TEE-11")
    placed = pairing.order("CT-2001", [("CT-TEE-11", 1)])
    # When the shop cancels it and its OrderStateChanged message arrives
    cancelled = cancel_in_shop(pairing, placed["id"])
    body = {
        "notificationType": "Message",
        "projectKey": pairing.settings.project_key,
        "id": f"msg-{placed['id']}",
        "version": 1,
        "sequenceNumber": 3,
        "resource": {"typeId": "order", "id": placed["id"]},
        "resourceVersion": cancelled["version"],
        "resourceUserProvidedIdentifiers": {"orderNumber": "CT-2001"},
        "type": "OrderStateChanged",
        "orderState": "Cancelled",
        "oldOrderState": "Open",
        "createdAt": cancelled["lastModifiedAt"],
        "lastModifiedAt": cancelled["lastModifiedAt"],
    }
    request = cancel_request(parse_message(json.dumps(body), pairing.settings), pairing.rt.config.client)
    assert request is not None
    result = run_cancellation(pairing, request)
    # Then Scend cancelled it, the ledger says so and the order's notes field tells the commerce team
    assert result["record"]["outcome"] == Outcome.CANCELLED_AT_WAREHOUSE
    [order] = [o for o in pairing.scend_sim.orders() if o["OrderNumber"] == placed["reference"]]
    assert order["OrderStatusId"] == CANCELLED
    assert pairing.rt.ledger.get(placed["key"]).stage == "cancelled"
    assert "cancelled at the warehouse" in notes(pairing, placed["id"])


def test_cancelled_after_picking_is_too_late_written_on_the_order_and_raised(pairing: Pairing) -> None:
    # Given an order Scend has picked
    pairing.product("CT-TEE-12")
    placed = pairing.order("CT-2002", [("CT-TEE-12", 2)])
    pairing.scend_sim.set_status(placed["wid"], PICKED)
    # When the shop cancels it and the poll of cancelled orders finds it
    cancel_in_shop(pairing, placed["id"])
    poll_sales(pairing.rt)
    pairing.drain("order-intake")  # the release side of the poll is not this test's
    [request] = [
        CancelRequest.model_validate(body)
        for body in pairing.drain("cancel-requests")
        if body["source_id"] == placed["id"]
    ]
    result = run_cancellation(pairing, request)
    # Then Scend was not asked to cancel and still holds it picked
    assert result["record"]["outcome"] == Outcome.REFUSED_TOO_LATE and not result.get("cancel")
    [order] = [o for o in pairing.scend_sim.orders() if o["OrderNumber"] == placed["reference"]]
    assert order["OrderStatusId"] == PICKED
    # And the order says so where the commerce team looks, once, and operations own an exception
    assert "NOT cancelled: too late" in notes(pairing, placed["id"])
    [raised] = [e for e in pairing.rt.exceptions.list() if e.business_key == placed["key"]]
    assert raised.reason == ReasonCode.CANCEL_TOO_LATE and raised.team == "operations"
    assert placed["reference"] in raised.detail
