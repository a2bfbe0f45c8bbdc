"""Scend returns back to commercetools: a return booked in at the warehouse becomes addReturnInfo on the
order it came from, with the returned lines, and each item's return shipment state follows what the
warehouse did with the units (BackInStock, Unusable). Once only; an Action nobody mapped is quarantined,
not guessed. Judged by what the commercetools mock holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.models import ReasonCode
from shared.models.messages import ReturnMessage
from shared.steps.returns import ReturnResult, apply_return, poll_returns
from tests.steps.commercetools_scend import Pairing, fresh, running_pairing


@pytest.fixture(scope="module")
def started() -> Iterator[Pairing]:
    with running_pairing() as pairing:
        yield pairing


@pytest.fixture
def pairing(started: Pairing) -> Pairing:
    return fresh(started)


def returned(pairing: Pairing, reference: str) -> list[ReturnMessage]:
    """One returns poll; the messages it queued for this order reference."""
    poll_returns(pairing.rt)
    messages = [ReturnMessage.model_validate(body) for body in pairing.drain("return-writeback")]
    return [message for message in messages if message.notice.client_reference == reference]


def shipped_order(pairing: Pairing, number: str, lines: list[tuple[str, int]]) -> dict[str, str]:
    pairing.product(*(sku for sku, _ in lines))
    placed = pairing.order(number, lines)
    pairing.scend_sim.ship_now(int(placed["wid"]))
    return placed


def test_a_return_is_recorded_once_with_each_item_s_state_from_the_warehouse_s_disposition(pairing: Pairing) -> None:
    # Given a shipped order of two tees and a cap; the customer sends back both tees and the cap
    placed = shipped_order(pairing, "CT-3001", [("CT-TEE-21", 2), ("CT-CAP-21", 1)])
    pairing.clock.advance(3 * 86400)
    return_id = pairing.scend_sim.add_return(
        int(placed["wid"]),
        [("CT-TEE-21", 1, "Restock"), ("CT-TEE-21", 1, "Damaged"), ("CT-CAP-21", 1, "Restock")],
        reference="RTN-778",
    )
    # When the returns poll runs and its message is consumed
    [message] = returned(pairing, placed["reference"])
    assert message.notice.return_id == str(return_id)
    assert apply_return(message, pairing.rt) == ReturnResult.RECORDED
    # Then the order holds one return: the lines and quantities, each item in the state its units are in
    order = pairing.ct_order(placed["id"])
    line_of = {item["variant"]["sku"]: item["id"] for item in order["lineItems"]}
    [info] = order["returnInfo"]
    assert info["returnTrackingId"] == "RTN-778"
    assert [(item["lineItemId"], item["quantity"], item["shipmentState"]) for item in info["items"]] == [
        (line_of["CT-TEE-21"], 1, "BackInStock"),
        (line_of["CT-TEE-21"], 1, "Unusable"),
        (line_of["CT-CAP-21"], 1, "BackInStock"),
    ]
    # And the same return again (the next poll re-reads the day) writes nothing
    version = order["version"]
    [again] = returned(pairing, placed["reference"])
    assert apply_return(again, pairing.rt) == ReturnResult.DUPLICATE
    assert pairing.ct_order(placed["id"])["version"] == version


def test_a_return_waits_until_booked_in_and_an_unmapped_action_is_quarantined(pairing: Pairing) -> None:
    placed = shipped_order(pairing, "CT-3002", [("CT-TEE-22", 1)])
    pending = pairing.scend_sim.add_return(int(placed["wid"]), [("CT-TEE-22", 1, "Restock")], confirmed=False)
    # Not booked in yet: nothing to record
    assert returned(pairing, placed["reference"]) == []
    pairing.scend_sim.confirm_return(pending)
    [message] = returned(pairing, placed["reference"])
    assert apply_return(message, pairing.rt) == ReturnResult.RECORDED
    # An Action the client's table does not name: quarantined naming the setting, the order untouched
    other = shipped_order(pairing, "CT-3003", [("CT-TEE-23", 1)])
    pairing.scend_sim.add_return(int(other["wid"]), [("CT-TEE-23", 1, "Refurbish")])
    assert returned(pairing, other["reference"]) == []
    [raised] = [e for e in pairing.rt.exceptions.list() if "Refurbish" in e.detail]
    assert raised.reason == ReasonCode.PAYLOAD_INVALID and "return_actions" in raised.detail
    assert pairing.ct_order(other["id"]).get("returnInfo", []) == []
