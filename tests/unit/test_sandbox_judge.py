"""The sandbox judges each sale from what the platforms hold, and the CLI fails the day on any bad verdict."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cli.main import main
from sandbox import scenario
from sandbox.scenario import DayResult, PlannedSale, failures, judge_sale, order_problems

SERVICES = {"Royal Mail Tracked 48": "RM-TRACKED-48"}
SALE: dict[str, Any] = {
    "Carrier": "Royal Mail Tracked 48",
    "Status": "ORDERED",
    "ShippingAddress": {
        "Line1": "1 High Street",
        "City": "Leeds",
        "Postcode": "LS1 1AA",
        "Country": "United Kingdom",
        "Contact": "Jo Smith",
    },
    "Order": {
        "Lines": [
            {"SKU": "TEE-BLK-M", "Quantity": 2},
            {"SKU": "CAP-NVY-S", "Quantity": 1},
            {"SKU": "TEE-BLK-M", "Quantity": 1},
        ]
    },
}
ORDER: dict[str, Any] = {
    "ID": 50001,
    "OrderNumber": "EXA-SO-1",
    "OrderStatusId": 15,
    "FirstName": "Jo",
    "LastName": "Smith",
    "Address1": "1 High Street",
    "Town": "Leeds",
    "PostCode": "LS1 1AA",
    "Country": "GB",
    "CourierService": "RM-TRACKED-48",
    "OrderItems": [{"SKU": "CAP-NVY-S", "Quantity": 1}, {"SKU": "TEE-BLK-M", "Quantity": 3}],
}


def changed(**fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(ORDER), **fields}


def planned(expected: str = "warehouse", cancel: str | None = None) -> PlannedSale:
    return PlannedSale("s-1", "SO-1", "valid", expected, cancel=cancel)


def judge(
    orders: list[dict[str, Any]],
    sale: PlannedSale | None = None,
    *,
    stage: str | None = "submitted",
    reasons: frozenset[str] = frozenset(),
) -> tuple[str, str]:
    return judge_sale(
        sale or planned(), SALE, orders, services=SERVICES, default_service=None, stage=stage, open_reasons=set(reasons)
    )


def test_the_warehouse_copy_of_the_sale_is_right_only_with_its_lines_address_and_service() -> None:
    assert order_problems(SALE, [ORDER], SERVICES) == []
    # One unit short, another town, another service, another postcode: each is named
    assert order_problems(
        SALE, [changed(OrderItems=[{"SKU": "TEE-BLK-M", "Quantity": 2}, {"SKU": "CAP-NVY-S", "Quantity": 1}])], SERVICES
    ) == [
        "lines {'CAP-NVY-S': Decimal('1'), 'TEE-BLK-M': Decimal('2')} != "
        "{'CAP-NVY-S': Decimal('1'), 'TEE-BLK-M': Decimal('3')}"
    ]
    assert order_problems(SALE, [changed(Town="York")], SERVICES) == ["town 'York' != 'Leeds'"]
    assert order_problems(SALE, [changed(CourierService="DPD-NEXT-DAY")], SERVICES) == [
        "service 'DPD-NEXT-DAY' != 'RM-TRACKED-48'"
    ]
    assert order_problems(SALE, [changed(PostCode="LS1 1AB")], SERVICES) == ["postcode 'LS1 1AB' != 'LS1 1AA'"]
    assert order_problems(SALE, [changed(PostCode=" ls1  1aa ")], SERVICES) == []


def test_a_sale_is_judged_by_the_warehouse_not_by_the_ledger() -> None:
    # The ledger says submitted; the warehouse has nothing: lost
    assert judge([], stage="submitted")[0] == "lost"
    # The warehouse holds it with the wrong quantity: wrong, whatever the ledger says
    assert judge([changed(OrderItems=[{"SKU": "TEE-BLK-M", "Quantity": 3}])])[0] == "wrong_at_warehouse"
    # Twice under one reference: duplicated
    assert judge([ORDER, changed(ID=50002)])[0] == "duplicated"
    assert judge([ORDER]) == ("as_expected", "at the warehouse")


def test_bad_orders_must_not_be_at_the_warehouse_and_must_carry_their_reason() -> None:
    bad = planned(expected="postcode_invalid")
    assert judge([ORDER], bad)[0] == "bad_order_reached_warehouse"
    assert judge([], bad, stage="quarantined", reasons=frozenset({"postcode_invalid"}))[0] == "as_expected"
    assert judge([], bad, stage="quarantined", reasons=frozenset({"sku_invalid"}))[0] == "wrong_outcome"
    assert judge([], planned(expected="held"), stage="held")[0] == "as_expected"


def test_cancellations_are_judged_by_the_warehouse_status() -> None:
    # Expected cancelled: nothing live at Scend (never sent, or cancelled there)
    assert judge([], planned(cancel="before_submit"))[0] == "as_expected"
    assert judge([changed(OrderStatusId=3)], planned(cancel="before_pick"))[0] == "as_expected"
    assert judge([ORDER], planned(cancel="before_pick")) == ("wrong_outcome", "live at the warehouse")
    # Too late: the order stays at Scend, as sent, and operations hold the refusal
    late = planned(cancel="after_pick")
    assert judge([changed(OrderStatusId=20)], late, reasons=frozenset({"cancel_too_late"}))[0] == "as_expected"
    assert judge([changed(OrderStatusId=20)], late)[0] == "wrong_outcome"
    assert judge([changed(OrderStatusId=3)], late, reasons=frozenset({"cancel_too_late"}))[0] == "wrong_outcome"


HEALTHY = {
    "lost": 0,
    "duplicate_warehouse_orders": 0,
    "wrong_outcome": 0,
    "wrong_at_warehouse": 0,
    "bad_orders_reached_warehouse": 0,
    "despatches_not_written_back": 0,
    "duplicate_shipments_applied": 0,
    "cancels_wrong": 0,
    "skus_pushed_above_master_available": 0,
    "spikes_pushed": 0,
}


@pytest.mark.parametrize("verdict", sorted(HEALTHY))
def test_every_bad_verdict_fails_the_day(verdict: str) -> None:
    assert failures(HEALTHY) == []
    assert len(failures({**HEALTHY, verdict: 1})) == 1


@pytest.mark.parametrize(
    ("verdict", "code"),
    [
        (None, 0),
        ("bad_orders_reached_warehouse", 1),
        ("lost", 1),
        ("wrong_at_warehouse", 1),
        ("despatches_not_written_back", 1),
    ],
)
def test_sandbox_run_exits_non_zero_on_a_bad_verdict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], verdict: str | None, code: int
) -> None:
    summary = {**HEALTHY, **({verdict: 2} if verdict else {})}
    monkeypatch.setattr(scenario, "run_day", lambda options, after=None: DayResult(summary=summary, wall_seconds=0))
    assert main(["sandbox", "run", "--orders", "1", "--json"]) == code
    out = capsys.readouterr()
    assert json.loads(out.out)[verdict or "lost"] == (2 if verdict else 0)
    assert ("the day is not healthy" in out.err) == (verdict is not None)


def test_the_day_judges_decimal_quantities_exactly() -> None:
    sale = copy.deepcopy(SALE)
    sale["Order"]["Lines"] = [{"SKU": "TEE-BLK-M", "Quantity": 2.0}]
    assert order_problems(sale, [changed(OrderItems=[{"SKU": "TEE-BLK-M", "Quantity": 2}])], SERVICES) == []
    assert order_problems(sale, [changed(OrderItems=[{"SKU": "TEE-BLK-M", "Quantity": 1}])], SERVICES) != []


class _Cin7:
    requests: dict[str, int] = {}

    def __init__(self, tracking: dict[str, list[str]]):
        self.tracking = tracking

    def tracking_numbers(self, sale_id: str) -> list[str]:
        return self.tracking.get(sale_id, [])

    def order_voided(self, sale_id: str) -> bool:
        return False

    def fulfilments(self, sale_id: str) -> list[dict[str, Any]]:
        return []


class _Scend:
    requests: dict[str, int] = {}

    def __init__(self, despatches: list[dict[str, Any]]):
        self._despatches = despatches

    def despatches(self) -> list[dict[str, Any]]:
        return self._despatches


class _Local:
    class config:  # noqa: N801 - the attribute path the judge reads
        class orders:  # noqa: N801
            reference_prefix = "EXA"

    def __init__(self, last_poll: str):
        from datetime import datetime

        ran = datetime.fromisoformat(last_poll).timestamp()
        self.schedule_runs = {"poll_despatches": [(ran - 1, ran)]}


def test_a_parcel_that_left_after_the_last_despatch_poll_is_in_flight_not_missing() -> None:
    """Judged at the platforms: a despatch the day's polls could have seen must be on the Cin7 sale; one the
    warehouse made after the last poll is counted apart, and one before it that is not on the sale is missing."""
    sales = [PlannedSale("s-1", "SO-1", "valid", "warehouse"), PlannedSale("s-2", "SO-2", "valid", "warehouse")]
    despatch = {"Parcels": [{"ID": 1}], "Items": []}
    day = [
        {
            **despatch,
            "DespatchId": 1,
            "OrderNumber": "EXA-SO-1",
            "DespatchDate": "2026-11-23T13:00:00+00:00",
            "TrackingNumbers": ["T1"],
        },
        {
            **despatch,
            "DespatchId": 2,
            "OrderNumber": "EXA-SO-1",
            "DespatchDate": "2026-11-23T16:28:26+00:00",
            "TrackingNumbers": ["T2"],
        },
        {
            **despatch,
            "DespatchId": 3,
            "OrderNumber": "EXA-SO-2",
            "DespatchDate": "2026-11-23T15:00:00+00:00",
            "TrackingNumbers": ["T3"],
        },
    ]
    summary = scenario._despatch_summary(
        _Local("2026-11-23T16:13:09+00:00"), _Cin7({"s-1": ["T1"]}), _Scend(day), {}, [], sales
    )
    assert summary["shipments_seen"] == 3  # every despatch the warehouse made of the day's sales
    assert summary["despatches_after_last_poll"] == 1
    assert summary["despatches_written_back"] == 1
    assert summary["despatches_not_written_back"] == 1
    assert summary["despatches_missing"] == [{"order": "SO-2", "despatch": 3, "tracking": ["T3"]}]
