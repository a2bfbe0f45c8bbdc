"""Shipment mapping: Scend despatched orders and parcels -> canonical Shipment, Shipment -> Cin7 pick/pack/ship,
Cin7 tasks read back."""

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
    FulfilmentTask,
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
from shared.connectors.scend.mapping import (
    format_since,
    parent_reference,
    parse_despatched_order,
    parse_items,
    parse_parcels,
    parse_scend_datetime,
    to_despatch,
)
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.shipment import Shipment, ShipmentLine

EVENTS = Path(__file__).resolve().parent.parent / "events"
SALE_ID = "3f6b2a9c-5d14-4e8b-9a27-c1e0f4d8b317"
TASK_ID = "cde5fb4a-1dac-4e9a-bc33-5dfa14eedb57"
DESPATCHED = datetime(2026, 11, 23, 10, 3, 10, tzinfo=UTC)


def page() -> list[dict[str, Any]]:
    return json.loads((EVENTS / "scend_despatched_orders_page.json").read_text())


def parcels_of(order_id: int) -> list[dict[str, Any]]:
    return json.loads((EVENTS / "scend_order_shipments.json").read_text())[str(order_id)]


def row(**changes: Any) -> dict[str, Any]:
    base = copy.deepcopy(page()[0])
    base.update(changes)
    return {key: value for key, value in base.items() if value is not ...}


def despatch(
    raw: dict[str, Any], parcels: list[dict[str, Any]] | None = None, reference: str | None = None
) -> Shipment:
    """A row of the example page as the connector maps it (its parcel rows from the example too)."""
    order = parse_despatched_order(raw)
    label = f"order {order.ID}"
    items = parse_items(raw.get("OrderItems"), label)
    rows = parse_parcels(parcels if parcels is not None else parcels_of(raw["ID"]), label)
    return to_despatch(order, items, rows, reference or order.OrderNumber)


def parcel(
    parcel_id: str = "700101",
    *lines: tuple[str, str],
    tracking: tuple[str, ...] = ("JB498571351GB",),
    carrier: str = "Royal Mail",
    service: str = "Tracked 48",
    url: str = "",
) -> Shipment:
    return Shipment(
        warehouse="scend",
        parcel_id=parcel_id,
        warehouse_order_id="184467",
        client_reference="BRANDA-100045",
        despatched_at=DESPATCHED,
        carrier=carrier,
        service=service,
        tracking_numbers=tracking,
        tracking_url=url,
        lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(q)) for sku, q in (lines or (("TSHIRT-BLK-M", "1"),))),
        updated_at=DESPATCHED,
    )


# -- Scend despatched orders and parcel rows -> Shipment ------------------------------------------------


def test_a_despatched_order_maps_every_field_and_its_id_is_the_despatch_id() -> None:
    # Given the first despatched order of the example page and its one parcel row
    shipment = despatch(page()[0])
    # Then the despatch is keyed by the order's ID, the reference and lines come from the order, the
    # tracking number and courier from the parcel row
    assert shipment == Shipment(
        warehouse="scend",
        parcel_id="184467",
        warehouse_order_id="184467",
        client_reference="BRANDA-100045",
        despatched_at=DESPATCHED,
        carrier="Royal Mail",
        service="Royal Mail Tracked 48",
        tracking_numbers=("JB498571351GB",),
        tracking_url="https://www.royalmail.com/track-your-item#/tracking-results/JB498571351GB",
        lines=(ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),),
        updated_at=DESPATCHED,
    )


def test_parcel_rows_carry_no_order_number_and_need_none() -> None:
    # Given parcel rows as the card's Order/{id}/Shipments gives them (ID, OrderId, ParcelNo; no OrderNumber)
    rows = parcels_of(184468)
    assert all("OrderNumber" not in parcel_row and "ShipmentId" not in parcel_row for parcel_row in rows)
    # When mapped / Then one despatch with both parcels' numbers, named after the order
    shipment = despatch(page()[1])
    assert shipment.client_reference == "BRANDA-100046"
    assert shipment.tracking_numbers == ("15501234567890", "15501234567891")
    assert shipment.carrier == "DPD" and shipment.lines == (ShipmentLine(sku="MUG-WHT-11OZ", quantity=Decimal(2)),)


def test_the_split_off_part_is_named_after_the_order_it_was_split_from() -> None:
    # Given the second part of BRANDA-100045, split off and despatched a day later, and its Splits row
    splits = json.loads((EVENTS / "scend_order_splits.json").read_text())
    parent_id, parent_number = parent_reference(splits, "184490")
    assert (parent_id, parent_number) == ("184467", "BRANDA-100045")
    # And the original order is split from nothing
    assert parent_reference(splits, "184467") == (None, None)
    second = despatch(page()[4], reference=parent_number)
    first = despatch(page()[0])
    # Then both despatches name the order we sent, with their own ids, and the SKU spans the two
    assert {first.client_reference, second.client_reference} == {"BRANDA-100045"}
    assert first.parcel_id != second.parcel_id == "184490"
    assert [(line.sku, line.quantity) for line in first.lines + second.lines] == [
        ("TSHIRT-BLK-M", 1),
        ("TSHIRT-BLK-M", 1),
        ("MUG-WHT-11OZ", 1),
    ]
    assert second.despatched_at - first.despatched_at == timedelta(hours=26)
    # And a parcel row may name its tracking number Number (as the public client models it)
    assert second.tracking_numbers == ("JB498571365GB", "JB498571379GB")
    assert parse_despatched_order(page()[4]).is_split_part
    assert not parse_despatched_order(page()[0]).is_split_part  # Part 1 keeps the order's own number
    assert not parse_despatched_order(page()[1]).is_split_part


@pytest.mark.parametrize(
    ("parcels", "order_tracking", "expected"),
    [
        ([{"ID": 1, "TrackingNumber": "JB1"}, {"ID": 2, "TrackingNumber": "JB2"}], "JB1", ("JB1", "JB2")),
        ([{"ID": 1, "TrackingNumber": "JB1"}, {"ID": 2, "TrackingNumber": "JB1"}], "", ("JB1",)),
        ([{"ID": 1, "TrackingNumber": ""}], "JB9", ("JB9",)),
        ([], "15501234567890, 15501234567891", ("15501234567890", "15501234567891")),
        ([], "JB1;JB2", ("JB1", "JB2")),
        ([], "", ()),
        ([{"ID": 1, "TrackingNumber": " "}], None, ()),
    ],
    ids=["per-parcel", "dedupe", "blank-parcel-falls-back", "comma-string", "semicolon-string", "empty", "blank"],
)
def test_tracking_numbers_from_parcels_else_from_the_order(
    parcels: list[dict[str, Any]], order_tracking: str | None, expected: tuple[str, ...]
) -> None:
    # Empty strings mean none (card 3.5)
    assert despatch(row(TrackingNumber=order_tracking), parcels=parcels).tracking_numbers == expected


def test_lines_of_one_sku_are_merged_and_blank_fields_are_empty() -> None:
    # Given an invoiced order listing CAP-NVY-S twice, with no courier, tracking or parcel rows
    shipment = despatch(page()[2])
    # When mapped / Then one line of 2, and empty strings rather than None
    assert shipment.lines == (ShipmentLine(sku="CAP-NVY-S", quantity=Decimal(2)),)
    assert (shipment.carrier, shipment.service, shipment.tracking_numbers, shipment.tracking_url) == ("", "", (), "")


def test_the_despatch_date_is_the_feed_stamp_and_dates_are_utc() -> None:
    # Given a row with Z and a seven-digit fraction
    zulu = despatch(page()[1])
    assert zulu.updated_at == zulu.despatched_at == datetime(2026, 11, 23, 11, 30, 2, 481773, tzinfo=UTC)
    assert parse_scend_datetime("2026-11-23T10:03:10+01:00") == datetime(2026, 11, 23, 9, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"DespatchDate": None}, "DespatchDate"),
        ({"DespatchDate": "yesterday"}, "DespatchDate"),
        ({"ID": ...}, "ID"),
        ({"ID": True}, "ID"),
        ({"ID": ""}, "ID"),
        ({"OrderNumber": "  "}, "OrderNumber"),
        ({"OrderItems": [{"SKU": "TSHIRT-BLK-M", "Quantity": 0}]}, "OrderItems.0.Quantity"),
        ({"OrderItems": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1.5}]}, "OrderItems.0.Quantity"),
        ({"OrderItems": [{"SKU": "", "Quantity": 1}]}, "OrderItems.0.SKU"),
        ({"TrackingNumber": {"a": 1}}, "TrackingNumber"),
    ],
)
def test_a_malformed_order_row_is_payload_invalid_naming_the_field(changes: dict[str, Any], field: str) -> None:
    # Given a despatched order row with one field wrong
    # When mapped / Then PAYLOAD_INVALID, and the detail names the order and the field
    with pytest.raises(PermanentError) as caught:
        parse_despatched_order(row(**changes))
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID
    assert f"field '{field}'" in caught.value.detail
    assert "scend despatched order" in caught.value.detail


@pytest.mark.parametrize("items", [[], None, [{"SKU": "X"}], "CAP-NVY-S"])
def test_an_order_that_left_with_no_readable_items_is_payload_invalid(items: Any) -> None:
    with pytest.raises(PermanentError) as caught:
        parse_items(items, "order 184467")
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID and "order 184467: OrderItems" in caught.value.detail


def test_parcel_rows_that_are_not_an_array_are_payload_invalid() -> None:
    assert parse_parcels(None, "order 1") == []
    with pytest.raises(PermanentError, match="Shipments: expected an array"):
        parse_parcels({"Message": "An error has occurred."}, "order 1")


def test_a_row_that_is_not_an_object_is_payload_invalid() -> None:
    # Given a bare string where a row should be / When mapped / Then PAYLOAD_INVALID
    with pytest.raises(PermanentError, match="expected a JSON object"):
        parse_despatched_order("184467")


@given(st.lists(st.tuples(st.sampled_from(["A-1", "B-2", "C-3"]), st.integers(1, 50)), min_size=1, max_size=8))
def test_merged_lines_keep_every_unit(items: list[tuple[str, int]]) -> None:
    # Given any list of items (SKUs repeated) / When mapped / Then per-SKU totals are kept exactly
    shipment = despatch(row(OrderItems=[{"SKU": sku, "Quantity": q} for sku, q in items]), parcels=[])
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
    assert pick == {
        "TaskID": TASK_ID,
        "Status": "AUTHORISED",
        "Lines": [
            {"SKU": "TSHIRT-BLK-M", "Location": "Scend UK", "Quantity": 3},
            {"SKU": "MUG-WHT-11OZ", "Location": "Scend UK", "Quantity": 1},
        ],
    }
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
        assert line == {
            "ShipmentDate": "2026-11-23T10:03:10",
            "Carrier": "Royal Mail Tracked 48",
            "Box": "Parcel 700105",
            "IsShipped": True,
            "TrackingNumber": line["TrackingNumber"],
        }


def test_a_parcel_without_tracking_still_ships_on_one_line_without_a_url() -> None:
    # Given a parcel with no tracking number and no tracking page / When the ship request is built
    body = ship_request(TASK_ID, parcel(tracking=()))
    # Then one shipped line with an empty tracking number, and no TrackingURL field
    assert body["Lines"] == [
        {
            "ShipmentDate": "2026-11-23T10:03:10",
            "Carrier": "Royal Mail Tracked 48",
            "Box": "Parcel 700101",
            "IsShipped": True,
            "TrackingNumber": "",
        }
    ]


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
        FulfilmentTask(
            task_id=TASK_ID,
            pick_status="AUTHORISED",
            pack_status="AUTHORISED",
            ship_status="AUTHORISED",
            boxes=("Parcel 700101",),
            picked=(ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),),
            shipped=(ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),),
        ),
        FulfilmentTask(
            task_id="eaf93bc3-d900-4d7b-b4a4-895e0e806a58",
            pick_status="AUTHORISED",
            pack_status="AUTHORISED",
            ship_status="NOT AVAILABLE",
            boxes=("Parcel 700105",),
            picked=(
                ShipmentLine(sku="TSHIRT-BLK-M", quantity=Decimal(1)),
                ShipmentLine(sku="MUG-WHT-11OZ", quantity=Decimal(1)),
            ),
            shipped=(),
        ),
    ]
    assert new_task_id(body, SALE_ID) == "eaf93bc3-d900-4d7b-b4a4-895e0e806a58"


def test_a_ship_line_covering_several_boxes_ships_each_of_them() -> None:
    # Given a task packed in two boxes and one ship line listing both, not yet marked for a third
    body = {
        "SaleID": SALE_ID,
        "Fulfilments": [
            {
                "TaskID": TASK_ID,
                "FulfillmentNumber": 1,
                "Pick": {"Status": "AUTHORISED", "Lines": [{"SKU": "A", "Quantity": 3, "Location": "Scend UK"}]},
                "Pack": {
                    "Status": "AUTHORISED",
                    "Lines": [
                        {"SKU": "A", "Quantity": 1, "Box": "Box 1"},
                        {"SKU": "A", "Quantity": 1, "Box": "Box 2"},
                        {"SKU": "A", "Quantity": 1, "Box": "Box 3"},
                    ],
                },
                "Ship": {
                    "Status": "PARTIALLY AUTHORISED",
                    "Lines": [
                        {"Boxes": "Box 1, Box 2", "TrackingNumber": "T1", "IsShipped": True},
                        {"Boxes": "Box 3", "TrackingNumber": "", "IsShipped": None},
                    ],
                },
            }
        ],
    }
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
    pick, pack, ship = (
        pick_request(TASK_ID, shipment, "Scend UK"),
        pack_request(TASK_ID, shipment, "Scend UK"),
        ship_request(TASK_ID, shipment),
    )
    held_pick = {"TaskID": TASK_ID, "Status": "AUTHORISED", "Lines": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1.0}]}
    held_pack = {"Status": "AUTHORISED", "Lines": [{"SKU": "TSHIRT-BLK-M", "Quantity": 1, "Box": "Parcel 700105"}]}
    held_ship = {
        "Status": "AUTHORISED",
        "Lines": [{"Boxes": "Parcel 700105", "TrackingNumber": number, "IsShipped": True} for number in ("JB1", "JB2")],
    }
    # When compared with what the stage holds / Then only an authorised, identical stage counts as applied
    assert stage_applied("pick", held_pick, pick)
    assert stage_applied("pack", held_pack, pack)
    assert stage_applied("ship", held_ship, ship)
    assert not stage_applied("pick", {**held_pick, "Status": "DRAFT"}, pick)
    assert not stage_applied("pick", {**held_pick, "Lines": [{"SKU": "TSHIRT-BLK-M", "Quantity": 2}]}, pick)
    assert not stage_applied("pack", {**held_pack, "Lines": [{**held_pack["Lines"][0], "Box": "Parcel 1"}]}, pack)
    assert not stage_applied("ship", {**held_ship, "Lines": held_ship["Lines"][:1]}, ship)
    assert not stage_applied("ship", [held_ship], ship)
