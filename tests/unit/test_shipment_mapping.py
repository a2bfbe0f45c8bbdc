"""Shipment mapping: Scend parcel rows -> canonical Shipment, Shipment -> Cin7 pick/pack/ship, Cin7 tasks read back."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.connectors.cin7_core.mapping import (
    box_label,
    carrier_label,
    json_quantity,
    new_task_id,
    pack_request,
    parse_fulfilments,
    pick_request,
    ship_request,
    stage_applied,
)
from shared.connectors.scend.mapping import format_since, parse_scend_datetime, to_shipment
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.shipment import FulfilmentTask, Shipment, ShipmentLine

EVENTS = Path(__file__).resolve().parent.parent / "events"
SALE_ID = "3f6b2a9c-5d14-4e8b-9a27-c1e0f4d8b317"
TASK_ID = "cde5fb4a-1dac-4e9a-bc33-5dfa14eedb57"
DESPATCHED = datetime(2026, 11, 23, 10, 3, 10, tzinfo=UTC)


def page() -> list[dict[str, Any]]:
    return json.loads((EVENTS / "scend_shipments_page.json").read_text())


def row(**changes: Any) -> dict[str, Any]:
    base = copy.deepcopy(page()[0])
    base.update(changes)
    return {key: value for key, value in base.items() if value is not ...}


def parcel(parcel_id: str = "700101", *lines: tuple[str, str], tracking: tuple[str, ...] = ("JB498571351GB",),
           carrier: str = "Royal Mail", service: str = "Tracked 48", url: str = "") -> Shipment:
    return Shipment(
        warehouse="scend", parcel_id=parcel_id, warehouse_order_id="184467", client_reference="BRANDA-100045",
        despatched_at=DESPATCHED, carrier=carrier, service=service, tracking_numbers=tracking, tracking_url=url,
        lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(q)) for sku, q in (lines or (("TSHIRT-BLK-M", "1"),))),
        updated_at=DESPATCHED,
    )


# -- Scend parcel rows -> Shipment --------------------------------------------------------------------


def test_a_parcel_row_maps_every_field() -> None:
    # Given the first parcel of the example feed page
    # When it is mapped
    shipment = to_shipment(page()[0])
    # Then every canonical field comes from its Mintsoft-shaped field
    assert shipment == Shipment(
        warehouse="scend", parcel_id="700101", warehouse_order_id="184467", client_reference="BRANDA-100045",
        despatched_at=DESPATCHED, carrier="Royal Mail", service="Royal Mail Tracked 48",
        tracking_numbers=("JB498571351GB",),
        tracking_url="https://www.royalmail.com/track-your-item#/tracking-results/JB498571351GB",
        lines=(ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),), updated_at=DESPATCHED,
    )


def test_split_parcels_of_one_order_carry_the_same_sku() -> None:
    # Given the two parcels of order BRANDA-100045 (the T-shirt line split across them)
    first, second = to_shipment(page()[0]), to_shipment(page()[4])
    # When their lines are added up / Then both name the order, and the SKU spans the two parcels
    assert {first.client_reference, second.client_reference} == {"BRANDA-100045"}
    assert first.parcel_id != second.parcel_id
    assert [(line.sku, line.quantity) for line in first.lines + second.lines] == [
        ("TSHIRT-BLK-M", 1), ("TSHIRT-BLK-M", 1), ("MUG-WHT-11OZ", 1)]
    assert second.despatched_at - first.despatched_at == timedelta(hours=26)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"TrackingNumbers": ["JB1", "JB2"], "TrackingNumber": "JB1,JB2"}, ("JB1", "JB2")),
        ({"TrackingNumbers": None, "TrackingNumber": "15501234567890, 15501234567891"},
         ("15501234567890", "15501234567891")),
        ({"TrackingNumbers": ..., "TrackingNumber": "JB1;JB2"}, ("JB1", "JB2")),
        ({"TrackingNumbers": [], "TrackingNumber": ""}, ()),
        ({"TrackingNumbers": ["", " "], "TrackingNumber": None}, ()),
        ({"TrackingNumbers": ..., "TrackingNumber": ...}, ()),
        ({"TrackingNumbers": ["JB1", "JB1", " JB2 "]}, ("JB1", "JB2")),
        ({"TrackingNumbers": [], "TrackingNumber": "JB9"}, ("JB9",)),
    ],
    ids=["list", "comma-string", "semicolon-string", "empty-strings", "blank-list", "absent", "dedupe", "fallback"],
)
def test_tracking_numbers_from_a_list_or_a_separated_string(changes: dict[str, Any], expected: tuple[str, ...]) -> None:
    # Given tracking numbers in one of the shapes Mintsoft-based feeds use
    # When mapped / Then a clean tuple; empty strings mean none
    assert to_shipment(row(**changes)).tracking_numbers == expected


def test_lines_of_one_sku_are_merged_and_blank_carrier_fields_are_empty() -> None:
    # Given a parcel listing CAP-NVY-S twice and no courier or tracking
    shipment = to_shipment(page()[2])
    # When mapped / Then one line of 2, and empty strings rather than None
    assert shipment.lines == (ShipmentLine(sku="CAP-NVY-S", quantity=Decimal(2)),)
    assert (shipment.carrier, shipment.tracking_numbers, shipment.tracking_url) == ("", (), "")


def test_last_updated_falls_back_to_the_despatch_date_and_dates_are_utc() -> None:
    # Given a row with no LastUpdated, and one with Z and a seven-digit fraction
    no_stamp = to_shipment(row(LastUpdated=None))
    zulu = to_shipment(page()[1])
    # When mapped / Then the fallback applies and every date is timezone-aware UTC
    assert no_stamp.updated_at == no_stamp.despatched_at == DESPATCHED
    assert zulu.updated_at == datetime(2026, 11, 23, 11, 30, 2, 481773, tzinfo=UTC)
    assert parse_scend_datetime("2026-11-23T10:03:10+01:00") == datetime(2026, 11, 23, 9, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"DespatchDate": None}, "DespatchDate"),
        ({"DespatchDate": "yesterday"}, "DespatchDate"),
        ({"ShipmentId": ...}, "ShipmentId"),
        ({"ShipmentId": True}, "ShipmentId"),
        ({"ShipmentId": ""}, "ShipmentId"),
        ({"OrderId": None}, "OrderId"),
        ({"OrderNumber": "  "}, "OrderNumber"),
        ({"Items": []}, "Items"),
        ({"Items": None}, "Items"),
        ({"Items": [{"SKU": "TSHIRT-BLK-M", "Quantity": 0}]}, "Items.0.Quantity"),
        ({"Items": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1.5}]}, "Items.0.Quantity"),
        ({"Items": [{"SKU": "TSHIRT-BLK-M", "Quantity": "two"}]}, "Items.0.Quantity"),
        ({"Items": [{"SKU": "", "Quantity": 1}]}, "Items.0.SKU"),
        ({"TrackingNumbers": {"a": 1}}, "TrackingNumbers"),
        ({"TrackingNumbers": [123]}, "TrackingNumbers"),
    ],
)
def test_a_malformed_row_is_payload_invalid_naming_the_field(changes: dict[str, Any], field: str) -> None:
    # Given a parcel row with one field wrong
    # When mapped / Then PAYLOAD_INVALID, and the detail names the parcel and the field
    with pytest.raises(PermanentError) as caught:
        to_shipment(row(**changes))
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID
    assert f"field '{field}'" in caught.value.detail
    assert "scend shipment" in caught.value.detail


def test_a_row_that_is_not_an_object_is_payload_invalid() -> None:
    # Given a bare string where a row should be / When mapped / Then PAYLOAD_INVALID
    with pytest.raises(PermanentError, match="expected a JSON object"):
        to_shipment("700101")


@given(st.lists(st.tuples(st.sampled_from(["A-1", "B-2", "C-3"]), st.integers(1, 50)), min_size=1, max_size=8))
def test_merged_lines_keep_every_unit(items: list[tuple[str, int]]) -> None:
    # Given any list of items (SKUs repeated) / When mapped / Then per-SKU totals are kept exactly
    shipment = to_shipment(row(Items=[{"SKU": sku, "Quantity": q} for sku, q in items]))
    totals: dict[str, int] = {}
    for sku, quantity in items:
        totals[sku] = totals.get(sku, 0) + quantity
    assert {line.sku: line.quantity for line in shipment.lines} == totals
    assert [line.sku for line in shipment.lines] == list(dict.fromkeys(sku for sku, _ in items))


def test_since_is_sent_in_utc_truncated_to_the_second() -> None:
    # Given an aware cursor one hour ahead of UTC with a fraction, and a naive one
    aware = datetime(2026, 11, 23, 11, 3, 10, 999999, tzinfo=timezone(timedelta(hours=1)))
    # When formatted / Then UTC, never rounded up (a late cursor could skip a parcel)
    assert format_since(aware) == "2026-11-23T10:03:10"
    assert format_since(datetime(2026, 11, 23, 10, 3, 10)) == "2026-11-23T10:03:10"


# -- Shipment -> Cin7 fulfilment requests ----------------------------------------------------------------


def test_box_label_names_the_parcel_and_refuses_a_blank_id() -> None:
    # Given parcel ids / When labelled / Then "Parcel <id>"; a blank id is refused
    assert box_label("700101") == "Parcel 700101"
    assert box_label(" 700101 ") == "Parcel 700101"
    with pytest.raises(PermanentError):
        box_label(" ")


@pytest.mark.parametrize(
    ("carrier", "service", "expected"),
    [
        ("DPD", "Next Day", "DPD Next Day"),
        ("Royal Mail", "Royal Mail Tracked 48", "Royal Mail Tracked 48"),
        ("Royal Mail", "", "Royal Mail"),
        ("", "Collect in store", "Collect in store"),
        ("", "", ""),
    ],
)
def test_carrier_label_joins_carrier_and_service_without_repeating(carrier: str, service: str, expected: str) -> None:
    # Given a carrier and service / When labelled / Then one Cin7 Carrier text
    assert carrier_label(parcel(carrier=carrier, service=service)) == expected


def test_pick_and_pack_requests_carry_the_parcel_lines_once_per_sku() -> None:
    # Given a parcel listing one SKU twice
    shipment = parcel("700105", ("TSHIRT-BLK-M", "1"), ("MUG-WHT-11OZ", "1"), ("TSHIRT-BLK-M", "2"))
    # When the pick and pack requests are built
    pick = pick_request(TASK_ID, shipment, "Scend UK")
    pack = pack_request(TASK_ID, shipment, "Scend UK")
    # Then both are authorised, merged per SKU, integers on the wire, and pack uses the parcel's box
    assert pick == {"TaskID": TASK_ID, "Status": "AUTHORISED", "Lines": [
        {"SKU": "TSHIRT-BLK-M", "Location": "Scend UK", "Quantity": 3},
        {"SKU": "MUG-WHT-11OZ", "Location": "Scend UK", "Quantity": 1}]}
    assert pack["Lines"] == [{**line, "Box": "Parcel 700105"} for line in pick["Lines"]]
    assert json.loads(json.dumps(pack)) == pack


def test_ship_request_has_one_line_per_tracking_number_on_the_same_box() -> None:
    # Given a parcel carrying two tracking numbers and a tracking page
    shipment = parcel("700105", tracking=("JB498571365GB", "JB498571379GB"), url="https://rm.example/JB498571365GB")
    # When the ship request is built
    body = ship_request(TASK_ID, shipment)
    # Then two shipped lines share the box, date and carrier, and carry no TrackingURL (read-only on the card)
    assert body["TaskID"] == TASK_ID and body["Status"] == "AUTHORISED"
    assert [line["TrackingNumber"] for line in body["Lines"]] == ["JB498571365GB", "JB498571379GB"]
    for line in body["Lines"]:
        assert line == {"ShipmentDate": "2026-11-23T10:03:10", "Carrier": "Royal Mail Tracked 48",
                        "Box": "Parcel 700105", "IsShipped": True, "TrackingNumber": line["TrackingNumber"]}


def test_a_parcel_without_tracking_still_ships_on_one_line_without_a_url() -> None:
    # Given a parcel with no tracking number and no tracking page / When the ship request is built
    body = ship_request(TASK_ID, parcel(tracking=()))
    # Then one shipped line with an empty tracking number, and no TrackingURL field
    assert body["Lines"] == [{"ShipmentDate": "2026-11-23T10:03:10", "Carrier": "Royal Mail Tracked 48",
                              "Box": "Parcel 700101", "IsShipped": True, "TrackingNumber": ""}]


@pytest.mark.parametrize(("quantity", "expected"), [("1", 1), ("2.0", 2), ("1.5", 1.5), ("1.2345", 1.2345)])
def test_quantities_go_as_integers_when_whole(quantity: str, expected: float) -> None:
    # Given a Decimal quantity / When sent / Then an int when whole, else the exact float
    sent = json_quantity(Decimal(quantity), "SKU")
    assert sent == expected and type(sent) is type(expected)


@pytest.mark.parametrize("quantity", ["0", "-1", "0.5", "1.23456", "NaN"])
def test_quantities_below_one_or_too_fine_are_refused(quantity: str) -> None:
    # Given a quantity Cin7 would refuse / When sent / Then QUANTITY_INVALID naming the SKU
    with pytest.raises(PermanentError) as caught:
        json_quantity(Decimal(quantity), "TSHIRT-BLK-M")
    assert caught.value.reason is ReasonCode.QUANTITY_INVALID and "TSHIRT-BLK-M" in caught.value.detail


def test_pick_without_a_location_is_refused_before_any_call() -> None:
    # Given a blank location / When the pick request is built / Then refused
    with pytest.raises(PermanentError, match="location"):
        pick_request(TASK_ID, parcel(), " ")


# -- Cin7 fulfilments read back ---------------------------------------------------------------------


def test_fulfilments_report_boxes_picked_and_shipped_in_task_order() -> None:
    # Given a sale with task 1 shipped (parcel 700101) and task 2 packed but not shipped (parcel 700105)
    body = json.loads((EVENTS / "cin7_sale_fulfilment.json").read_text())
    # When parsed (the wire lists task 2 first, with upper-case GUIDs)
    tasks = parse_fulfilments(body, SALE_ID.upper())
    # Then tasks come in FulfillmentNumber order; shipped counts only boxes a ship line marks shipped
    assert tasks == [
        FulfilmentTask(task_id=TASK_ID, pick_status="AUTHORISED", pack_status="AUTHORISED",
                       ship_status="AUTHORISED", boxes=("Parcel 700101",),
                       picked=(ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),),
                       shipped=(ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),)),
        FulfilmentTask(task_id="eaf93bc3-d900-4d7b-b4a4-895e0e806a58", pick_status="AUTHORISED",
                       pack_status="AUTHORISED", ship_status="NOT AVAILABLE", boxes=("Parcel 700105",),
                       picked=(ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),
                               ShipmentLine(sku="MUG-WHT-11OZ", quantity=Decimal(1))),
                       shipped=()),
    ]
    assert new_task_id(body, SALE_ID) == "eaf93bc3-d900-4d7b-b4a4-895e0e806a58"


def test_a_ship_line_covering_several_boxes_ships_each_of_them() -> None:
    # Given a task packed in two boxes and one ship line listing both, not yet marked for a third
    body = {"SaleID": SALE_ID, "Fulfilments": [{
        "TaskID": TASK_ID, "FulfillmentNumber": 1,
        "Pick": {"Status": "AUTHORISED", "Lines": [{"SKU": "A", "Quantity": 3, "Location": "Scend UK"}]},
        "Pack": {"Status": "AUTHORISED", "Lines": [{"SKU": "A", "Quantity": 1, "Box": "Box 1"},
                                                   {"SKU": "A", "Quantity": 1, "Box": "Box 2"},
                                                   {"SKU": "A", "Quantity": 1, "Box": "Box 3"}]},
        "Ship": {"Status": "PARTIALLY AUTHORISED", "Lines": [
            {"Boxes": "Box 1, Box 2", "TrackingNumber": "T1", "IsShipped": True},
            {"Boxes": "Box 3", "TrackingNumber": "", "IsShipped": None}]},
    }]}
    # When parsed / Then two units shipped out of three packed
    [task] = parse_fulfilments(body, SALE_ID)
    assert task.boxes == ("Box 1", "Box 2", "Box 3")
    assert task.shipped == (ShipmentLine(sku="A", quantity=Decimal(2)),)


def test_fulfilments_of_another_sale_or_a_wrong_shape_are_payload_invalid() -> None:
    # Given a response for another sale, and one that is a bare list
    body = json.loads((EVENTS / "cin7_sale_fulfilment.json").read_text())
    # When parsed / Then PAYLOAD_INVALID either way
    with pytest.raises(PermanentError, match="is for sale"):
        parse_fulfilments(body, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(PermanentError, match="expected a JSON object"):
        parse_fulfilments(body["Fulfilments"], SALE_ID)


def test_stage_applied_tells_an_earlier_identical_write_from_a_different_one() -> None:
    # Given the pick, pack and ship a parcel asks for
    shipment = parcel("700105", ("TSHIRT-BLK-M", "1"), tracking=("JB1", "JB2"))
    pick, pack, ship = (pick_request(TASK_ID, shipment, "Scend UK"), pack_request(TASK_ID, shipment, "Scend UK"),
                        ship_request(TASK_ID, shipment))
    held_pick = {"TaskID": TASK_ID, "Status": "AUTHORISED", "Lines": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1.0}]}
    held_pack = {"Status": "AUTHORISED", "Lines": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1, "Box": "Parcel 700105"}]}
    held_ship = {"Status": "AUTHORISED", "Lines": [
        {"Boxes": "Parcel 700105", "TrackingNumber": number, "IsShipped": True} for number in ("JB1", "JB2")]}
    # When compared with what the stage holds / Then only an authorised, identical stage counts as applied
    assert stage_applied("pick", held_pick, pick)
    assert stage_applied("pack", held_pack, pack)
    assert stage_applied("ship", held_ship, ship)
    assert not stage_applied("pick", {**held_pick, "Status": "DRAFT"}, pick)
    assert not stage_applied("pick", {**held_pick, "Lines": [{"SKU": "TSHIRT-BLK-M", "Quantity": 2}]}, pick)
    assert not stage_applied("pack", {**held_pack, "Lines": [{**held_pack["Lines"][0], "Box": "Parcel 1"}]}, pack)
    assert not stage_applied("ship", {**held_ship, "Lines": held_ship["Lines"][:1]}, ship)
    assert not stage_applied("ship", [held_ship], ship)
