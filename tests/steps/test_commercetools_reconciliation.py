"""Daily reconciliation of Scend against commercetools: a despatch written back agrees; one whose tracking
never reached the order and an order cancelled at the shop but picked at Scend are gaps, in a dated report
in the archive, counted for the alarm."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from shared.steps.despatch import apply_shipment
from shared.steps.reconcile_orders import reconcile_orders
from tests.steps.commercetools_scend import Pairing, fresh, running_pairing

PICKED = 17


@pytest.fixture(scope="module")
def started() -> Iterator[Pairing]:
    with running_pairing() as pairing:
        yield pairing


@pytest.fixture
def pairing(started: Pairing) -> Pairing:
    return fresh(started)


def test_gaps_between_scend_and_the_shop_are_reported_by_kind(pairing: Pairing) -> None:
    pairing.product("CT-TEE-31")
    agreed = pairing.order("CT-4001", [("CT-TEE-31", 1)])
    unrecorded = pairing.order("CT-4002", [("CT-TEE-31", 1)])
    cancelled = pairing.order("CT-4003", [("CT-TEE-31", 1)])
    # One despatch written back, one left at the warehouse only; one order cancelled in the shop after picking
    pairing.scend_sim.ship_now(int(agreed["wid"]))
    [message] = pairing.despatched(agreed["reference"])
    apply_shipment(message, pairing.rt)
    pairing.scend_sim.ship_now(int(unrecorded["wid"]))
    pairing.scend_sim.set_status(int(cancelled["wid"]), PICKED)
    pairing.now_at_mock()
    pairing.seeder.update(f"orders/{cancelled['id']}", [{"action": "changeOrderState", "orderState": "Cancelled"}])
    # When the daily reconciliation runs
    result = reconcile_orders(pairing.rt)
    # Then the two gaps are counted and the dated report names them by kind
    assert result["compared"] == 3 and result["gaps"] == 2
    assert f"/order-reconciliation/{pairing.clock.now():%Y-%m-%d}/" in result["report"]
    bucket = pairing.local.names.buckets["archive"]
    body = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=result["report"])["Body"].read())
    assert {(gap["reference"], gap["kind"]) for gap in body["gaps"]} == {
        (unrecorded["reference"], "despatch_not_at_shop"),
        (cancelled["reference"], "cancelled_at_shop_only"),
    }
    assert body["by_kind"] == {"despatch_not_at_shop": 1, "cancelled_at_shop_only": 1}
