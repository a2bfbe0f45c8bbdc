"""Cin7CoreClient as a ShipmentTarget against the Cin7 Core simulator: pick, pack, ship, partial shipments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.simulators.base import FaultKind, FaultPlan
from sandbox.simulators.cin7_core import Cin7CoreSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.cin7_core import Cin7CoreClient
from shared.connectors.cin7_core.mapping import box_label
from shared.errors import NotFoundError, PermanentError, TransientError
from shared.models import ReasonCode
from shared.models.shipment import Shipment, ShipmentLine

ACCOUNT_ID = "acct-sandbox"
APPLICATION_KEY = "key-sandbox"
RETRY = RetryConfig(max_attempts=3, base_delay_seconds=1, max_delay_seconds=20, timeout_seconds=5)
LOCATION = "Scend UK"
DESPATCHED = datetime(2026, 11, 23, 10, 3, 10, tzinfo=UTC)


class ScriptedFaults(FaultPlan):
    """Faults in a fixed order, one per request (None = no fault), then none: exact and seed-free."""

    def __init__(self, *script: str | None):
        super().__init__()
        self.script = list(script)

    def draw(self, request: object = None) -> str | None:
        return self.script.pop(0) if self.script else None


@pytest.fixture
def simulator(clock: VirtualClock) -> Iterator[Cin7CoreSimulator]:
    sim = Cin7CoreSimulator(ACCOUNT_ID, APPLICATION_KEY, clock=clock)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def client(simulator: Cin7CoreSimulator, clock: VirtualClock) -> Iterator[Cin7CoreClient]:
    client = Cin7CoreClient(f"{simulator.url}ExternalApi/v2/", ACCOUNT_ID, APPLICATION_KEY, retry=RETRY, clock=clock)
    yield client
    client.close()


def add_sale(sim: Cin7CoreSimulator, **options: Any) -> str:
    """2 x TEE-BLK-M and 1 x CAP-NVY-S, authorised, picked from Scend UK."""
    return sim.add_sale(
        order_number="SO-00001",
        lines=[("TEE-BLK-M", 2, Decimal("12.50")), ("CAP-NVY-S", 1, Decimal("8.95"))],
        **options,
    )


def parcel(parcel_id: str, *lines: tuple[str, int], tracking: tuple[str, ...] = ()) -> Shipment:
    return Shipment(
        warehouse="scend",
        parcel_id=parcel_id,
        warehouse_order_id="50001",
        client_reference="BRANDA-1",
        despatched_at=DESPATCHED,
        carrier="Royal Mail",
        service="Royal Mail Tracked 48",
        tracking_numbers=tracking or (f"JB{parcel_id:0>9}GB",),
        tracking_url="",
        lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(q)) for sku, q in lines),
        updated_at=DESPATCHED,
    )


FIRST = parcel("700101", ("TEE-BLK-M", 1))
SECOND = parcel("700102", ("TEE-BLK-M", 1), ("CAP-NVY-S", 1), tracking=("JB498571365GB", "JB498571379GB"))


def apply(client: Cin7CoreClient, sale_id: str, task_id: str, shipment: Shipment) -> None:
    client.authorise_pick(sale_id, task_id, shipment, LOCATION)
    client.authorise_pack(sale_id, task_id, shipment, LOCATION)
    client.authorise_ship(sale_id, task_id, shipment)


def posts(sim: Cin7CoreSimulator) -> dict[str, int]:
    return {route.split("/")[-1]: count for route, count in sim.requests.items() if route.startswith("POST")}


def test_a_two_parcel_shipment_is_written_back_over_two_tasks(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient
) -> None:
    # Given an authorised 2-line sale: one fulfilment task, nothing picked
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    assert (task.pick_status, task.boxes, task.picked, task.shipped) == ("NOT AVAILABLE", (), (), ())
    # When the first parcel (1 of the 2 T-shirts) is applied on the initial task
    apply(client, sale_id, task.task_id, FIRST)
    # Then the sale is partly shipped, with the parcel's box and tracking number
    sale = simulator.sale(sale_id)
    assert (
        sale["CombinedPickingStatus"],
        sale["CombinedPackingStatus"],
        sale["CombinedShippingStatus"],
        sale["FulFilmentStatus"],
    ) == ("PARTIALLY PICKED", "PARTIALLY PACKED", "PARTIALLY SHIPPED", "PARTIALLY FULFILLED")
    assert simulator.shipped_quantities(sale_id) == {"TEE-BLK-M": 1}
    # When the second parcel arrives: a new task is added (the first task's pick is authorised) and applied
    simulator.requests.clear()
    second_task = client.add_fulfilment(sale_id)
    apply(client, sale_id, second_task, SECOND)
    # Then it cost four calls, the sale is Advanced and shipped in full, with all three tracking numbers
    assert posts(simulator) == {"fulfilment": 1, "pick": 1, "pack": 1, "ship": 1}
    assert sum(simulator.requests.values()) == 4
    sale = simulator.sale(sale_id)
    assert sale["Type"] == "Advanced Sale"
    assert (
        sale["CombinedPickingStatus"],
        sale["CombinedPackingStatus"],
        sale["CombinedShippingStatus"],
        sale["FulFilmentStatus"],
    ) == ("PICKED", "PACKED", "SHIPPED", "FULFILLED")
    assert simulator.shipped_quantities(sale_id) == {"TEE-BLK-M": Decimal(2), "CAP-NVY-S": Decimal(1)}
    assert simulator.tracking_numbers(sale_id) == ["JB000700101GB", "JB498571365GB", "JB498571379GB"]
    assert sale["CombinedTrackingNumbers"] == "JB000700101GB, JB498571365GB, JB498571379GB"
    # And the sale read (GET sale) carries the same fulfilments
    assert client.get_sale(sale_id)["Fulfilments"] == simulator.fulfilments(sale_id)


def test_fulfilments_report_boxes_and_shipped_quantities(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given both parcels applied, the second one only picked and packed so far
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    apply(client, sale_id, task.task_id, FIRST)
    second_task = client.add_fulfilment(sale_id)
    client.authorise_pick(sale_id, second_task, SECOND, LOCATION)
    client.authorise_pack(sale_id, second_task, SECOND, LOCATION)
    # When the fulfilments are read
    first, second = client.fulfilments(sale_id)
    # Then each task names its parcel's box; only the shipped box counts as shipped
    assert (first.task_id, first.boxes, first.ship_status) == (task.task_id, (box_label("700101"),), "AUTHORISED")
    assert first.shipped == (ShipmentLine(sku="TEE-BLK-M", quantity=Decimal(1)),)
    assert (second.task_id, second.boxes, second.pack_status, second.ship_status) == (
        second_task,
        (box_label("700102"),),
        "AUTHORISED",
        "NOT AVAILABLE",
    )
    assert second.picked == (
        ShipmentLine(sku="TEE-BLK-M", quantity=Decimal(1)),
        ShipmentLine(sku="CAP-NVY-S", quantity=Decimal(1)),
    )
    assert second.shipped == ()
    # And the sale is not shipped in full until the second ship is authorised
    assert simulator.sale(sale_id)["CombinedShippingStatus"] == "PARTIALLY SHIPPED"
    client.authorise_ship(sale_id, second_task, SECOND)
    assert simulator.sale(sale_id)["CombinedShippingStatus"] == "SHIPPED"
    assert client.fulfilments(sale_id)[1].shipped == second.picked


def test_a_single_parcel_ships_a_simple_sale_in_full(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given an authorised sale / When one parcel carries every unit
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    client.authorise_pick(sale_id, task.task_id, parcel("9", ("TEE-BLK-M", 2), ("CAP-NVY-S", 1)), LOCATION)
    # Then the simple sale's status follows the blueprint table stage by stage
    assert simulator.sale(sale_id)["Status"] == "PICKED"
    client.authorise_pack(sale_id, task.task_id, parcel("9", ("TEE-BLK-M", 2), ("CAP-NVY-S", 1)), LOCATION)
    assert simulator.sale(sale_id)["Status"] == "PACKED"
    client.authorise_ship(sale_id, task.task_id, parcel("9", ("TEE-BLK-M", 2), ("CAP-NVY-S", 1)))
    sale = simulator.sale(sale_id)
    assert (sale["Type"], sale["CombinedShippingStatus"], sale["FulFilmentStatus"]) == (
        "Simple Sale",
        "SHIPPED",
        "FULFILLED",
    )
    assert sale["Fulfilments"][0]["FulFilmentStatus"] == "FULFILLED"


def test_an_over_pick_is_refused_naming_the_sku(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given both T-shirts picked and shipped on the first task
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    apply(client, sale_id, task.task_id, parcel("700101", ("TEE-BLK-M", 2)))
    second_task = client.add_fulfilment(sale_id)
    # When a second parcel claims another T-shirt
    with pytest.raises(PermanentError) as caught:
        client.authorise_pick(sale_id, second_task, parcel("700102", ("TEE-BLK-M", 1)), LOCATION)
    # Then Cin7 refuses it, naming the SKU and what is left, and nothing was picked
    assert caught.value.reason is ReasonCode.SOURCE_REJECTED and caught.value.status == 400
    assert "TEE-BLK-M" in caught.value.detail and "0 left to pick" in caught.value.detail
    assert client.fulfilments(sale_id)[1].picked == ()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((("TEE-BLK-M", 3),), "'TEE-BLK-M' exceeds the 2 left to pick"),
        ((("SOCK-RED-L", 1),), "SKU 'SOCK-RED-L' is not on sale order"),
    ],
)
def test_pick_quantities_and_skus_are_checked_against_the_order(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient, lines: tuple[tuple[str, int], ...], message: str
) -> None:
    # Given a fresh sale / When a parcel asks for more than ordered, or a SKU the order lacks
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    with pytest.raises(PermanentError) as caught:
        client.authorise_pick(sale_id, task.task_id, parcel("1", *lines), LOCATION)
    # Then refused with a message naming the SKU
    assert message in caught.value.detail


def test_an_unknown_location_is_refused(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given a sale held at Scend UK / When picked from a location Cin7 does not know / Then refused by name
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    with pytest.raises(PermanentError, match="Location 'Main Warehouse' not found"):
        client.authorise_pick(sale_id, task.task_id, FIRST, "Main Warehouse")


def test_stages_must_come_in_order(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given a fresh task / When packed before picking, or shipped before packing / Then refused
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    with pytest.raises(PermanentError, match="pick must be AUTHORISED before packing"):
        client.authorise_pack(sale_id, task.task_id, FIRST, LOCATION)
    client.authorise_pick(sale_id, task.task_id, FIRST, LOCATION)
    with pytest.raises(PermanentError, match="pack must be AUTHORISED before shipping"):
        client.authorise_ship(sale_id, task.task_id, FIRST)


def test_a_second_shipment_on_a_shipped_task_is_refused_but_a_repeat_is_harmless(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient
) -> None:
    # Given the first parcel shipped on the first task
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    apply(client, sale_id, task.task_id, FIRST)
    # When the same parcel's ship is sent again (a redelivered message)
    simulator.requests.clear()
    client.authorise_ship(sale_id, task.task_id, FIRST)
    # Then Cin7 refused the POST, the client read the sale's tasks back (the card's GET sale/fulfilment)
    # and found the ship done: nothing duplicated
    assert simulator.requests["POST /externalapi/v2/sale/fulfilment/ship"] == 1
    assert simulator.requests["GET /externalapi/v2/sale/fulfilment"] == 1
    assert sum(simulator.requests.values()) == 2
    assert len(simulator.fulfilments(sale_id)[0]["Ship"]["Lines"]) == 1
    # When a different parcel is shipped on the same task
    with pytest.raises(PermanentError) as caught:
        client.authorise_ship(sale_id, task.task_id, parcel("700101", ("TEE-BLK-M", 1), tracking=("JB999999999GB",)))
    # Then it is refused: the task's shipment is already authorised
    assert "already authorised" in caught.value.detail
    assert simulator.tracking_numbers(sale_id) == ["JB000700101GB"]


@pytest.mark.parametrize("stage", ["pick", "pack", "ship"])
def test_a_stage_whose_response_was_lost_is_resent_harmlessly(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient, stage: str
) -> None:
    # Given a task brought up to the stage before `stage`
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    steps = {
        "pick": lambda: client.authorise_pick(sale_id, task.task_id, SECOND, LOCATION),
        "pack": lambda: client.authorise_pack(sale_id, task.task_id, SECOND, LOCATION),
        "ship": lambda: client.authorise_ship(sale_id, task.task_id, SECOND),
    }
    order = list(steps)
    for earlier in order[: order.index(stage)]:
        steps[earlier]()
    before = simulator.fulfilments(sale_id)[0]
    # When the stage is written but its response is lost on the way back
    simulator.faults = ScriptedFaults(FaultKind.LOST_RESPONSE)
    steps[stage]()
    # Then the client re-sent it in-process, Cin7 refused the repeat, and the read-back found it applied
    assert simulator.faults_injected[FaultKind.LOST_RESPONSE] == 1
    assert simulator.requests[f"POST /externalapi/v2/sale/fulfilment/{stage}"] == 2
    assert client.stats.retries == 1
    after = simulator.fulfilments(sale_id)[0]
    assert after[stage.title()]["Status"] == "AUTHORISED"
    held = after[stage.title()]["Lines"]
    assert len(held) == (2 if stage != "ship" else len(SECOND.tracking_numbers))  # written once, not twice
    assert before[stage.title()]["Lines"] == []


def test_a_lost_add_fulfilment_is_not_resent_and_the_blank_task_can_be_found(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient
) -> None:
    # Given the first parcel applied
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    apply(client, sale_id, task.task_id, FIRST)
    # When adding the second task loses its response
    simulator.faults = ScriptedFaults(FaultKind.LOST_RESPONSE)
    with pytest.raises(TransientError):
        client.add_fulfilment(sale_id)
    # Then it was sent once (not re-sent in-process), and the task it made is there to reuse
    assert simulator.requests["POST /externalapi/v2/sale/fulfilment"] == 1
    assert len(simulator.tasks_added) == 1
    _, blank = client.fulfilments(sale_id)
    assert (blank.task_id, blank.pick_status, blank.boxes) == (simulator.tasks_added[0], "DRAFT", ())
    # And a blind repeat is refused rather than making a third task
    with pytest.raises(PermanentError, match="non AUTHORISED Pick"):
        client.add_fulfilment(sale_id)
    assert len(client.fulfilments(sale_id)) == 2


def test_add_fulfilment_is_refused_until_the_first_pick_is_authorised(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient
) -> None:
    # Given a sale whose only task is not picked yet
    sale_id = add_sale(simulator)
    # When a second task is asked for
    with pytest.raises(PermanentError) as caught:
        client.add_fulfilment(sale_id)
    # Then Cin7 refuses it, and the sale stays a simple sale with one task
    assert caught.value.reason is ReasonCode.SOURCE_REJECTED
    assert "non AUTHORISED Pick" in caught.value.detail
    assert simulator.sale(sale_id)["Type"] == "Simple Sale"
    assert len(client.fulfilments(sale_id)) == 1


def test_only_authorised_orders_have_and_take_fulfilments(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given a draft sale order
    sale_id = add_sale(simulator, status="ORDERING", order_status="DRAFT")
    # When its fulfilments are read / Then there are none, and none can be added
    assert client.fulfilments(sale_id) == []
    with pytest.raises(PermanentError, match="not AUTHORISED"):
        client.add_fulfilment(sale_id)
    # When the order is authorised / Then its first task appears
    simulator.update_sale(sale_id, OrderStatus="AUTHORISED", Status="ORDERED")
    [task] = client.fulfilments(sale_id)
    # When the order goes back to draft / Then its task takes no pick
    simulator.update_sale(sale_id, OrderStatus="DRAFT")
    with pytest.raises(PermanentError, match="not AUTHORISED"):
        client.authorise_pick(sale_id, task.task_id, FIRST, LOCATION)


def test_unknown_sales_and_tasks(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given ids Cin7 does not hold
    missing = "00000000-0000-4000-8000-000000000001"
    # When read or written / Then the sale is not found, and the task is refused by id
    with pytest.raises(NotFoundError):
        client.fulfilments(missing)
    with pytest.raises(PermanentError) as caught:
        client.authorise_pick(missing, missing, FIRST, LOCATION)
    assert caught.value.reason is ReasonCode.SOURCE_REJECTED and caught.value.status == 400
    assert f"TaskID = '{missing}' not found" in caught.value.detail


def test_fulfilment_writes_are_lost_response_targets(simulator: Cin7CoreSimulator) -> None:
    # Given every route the simulator serves / When the write routes are listed
    writes = sorted(pattern.pattern for method, pattern, _, is_write in simulator.routes if is_write)
    # Then every fulfilment POST is one (a LOST_RESPONSE fault applies to it), and so are the sale's
    # note (PUT) and void (DELETE) that cancellation writes
    assert len(writes) == 4
    assert sum("fulfilment" in pattern for pattern in writes) == 2
    methods = {method for method, _, _, is_write in simulator.routes if is_write}
    assert methods == {"POST", "PUT", "DELETE"}


def test_stage_endpoints_validate_the_request_like_cin7(simulator: Cin7CoreSimulator, client: Cin7CoreClient) -> None:
    # Given raw calls with Cin7's headers on a fresh task
    sale_id = add_sale(simulator)
    [task] = client.fulfilments(sale_id)
    headers = {"api-auth-accountid": ACCOUNT_ID, "api-auth-applicationkey": APPLICATION_KEY}
    base = f"{simulator.url}ExternalApi/v2/sale/fulfilment/"
    with httpx.Client(headers=headers) as http:
        # When the status is not one Cin7 accepts, a quantity is below 1, or the body is not an object
        bad_status = http.post(base + "pick", json={"TaskID": task.task_id, "Status": "PICKED", "Lines": []})
        zero = http.post(
            base + "pick",
            json={
                "TaskID": task.task_id,
                "Status": "AUTHORISED",
                "Lines": [{"SKU": "TEE-BLK-M", "Location": LOCATION, "Quantity": 0}],
            },
        )
        not_object = http.post(base + "pick", json=[task.task_id])
        read = http.get(base.rstrip("/"), params={"SaleID": sale_id})
    # Then each is a 400 error list, and the stage reads back untouched
    for response in (bad_status, zero, not_object):
        assert response.status_code == 400 and response.json()[0]["ErrorCode"] == 400
    assert "Quantity 0" in zero.json()[0]["Exception"]
    assert read.json()["Fulfilments"][0]["Pick"] == {"Status": "NOT AVAILABLE", "Lines": []}


# -- answers the card does not describe -------------------------------------------------------------------

SALE = "916ab4c0-6ccb-4c93-873d-0603859050e4"
TASK = "eaf93bc3-d900-4d7b-b4a4-895e0e806a58"


def scripted_client(
    answers: dict[tuple[str, str], Any], log: list[tuple[str, str]], clock: VirtualClock
) -> Cin7CoreClient:
    """A client whose transport answers (method, path) from `answers` (a response, or a list of them in turn)."""

    def handle(request: httpx.Request) -> httpx.Response:
        key = (request.method, request.url.path.removeprefix("/ExternalApi/v2/"))
        log.append(key)
        answer = answers.get(key, httpx.Response(405, json=[{"ErrorCode": 405, "Exception": "Method not allowed"}]))
        return answer.pop(0) if isinstance(answer, list) else answer

    return Cin7CoreClient(
        "https://inventory.test/ExternalApi/v2/",
        ACCOUNT_ID,
        APPLICATION_KEY,
        retry=RETRY,
        clock=clock,
        http=httpx.Client(transport=httpx.MockTransport(handle)),
    )


def shipped_task(tracking: tuple[str, ...]) -> dict[str, Any]:
    box = box_label("700101")
    return {
        "TaskID": TASK,
        "FulfillmentNumber": 1,
        "Pick": {"Status": "AUTHORISED", "Lines": []},
        "Pack": {"Status": "AUTHORISED", "Lines": []},
        "Ship": {
            "Status": "AUTHORISED",
            "Lines": [
                {
                    "ShipmentDate": "2026-11-23T00:00:00",
                    "Carrier": "Royal Mail",
                    "Boxes": box,
                    "TrackingNumber": number,
                    "TrackingURL": "",
                    "IsShipped": True,
                }
                for number in tracking
            ],
        },
    }


def test_a_ship_refused_as_already_authorised_with_our_tracking_is_done_in_the_same_delivery(
    clock: VirtualClock,
) -> None:
    # Given a ship whose first answer was lost, so the re-send is refused inside a 200 (as Cin7 does), and a
    # Cin7 that does not serve GET sale/fulfilment/ship (not on the card)
    log: list[tuple[str, str]] = []
    refused = httpx.Response(200, json=[{"ErrorCode": 400, "Exception": "Shipment is already AUTHORISED"}])
    client = scripted_client(
        {
            ("POST", "sale/fulfilment/ship"): [httpx.Response(502, text="<html>502</html>"), refused],
            ("GET", "sale/fulfilment"): httpx.Response(
                200, json={"SaleID": SALE, "Fulfilments": [shipped_task(FIRST.tracking_numbers)]}
            ),
        },
        log,
        clock,
    )
    # When the ship is written
    client.authorise_ship(SALE, TASK, FIRST)
    # Then it counts as done after reading the sale's tasks with the card's GET sale/fulfilment?SaleID=
    assert log == [("POST", "sale/fulfilment/ship"), ("POST", "sale/fulfilment/ship"), ("GET", "sale/fulfilment")]


def test_a_ship_refused_for_another_shipment_is_still_refused(clock: VirtualClock) -> None:
    # Given a task already shipped with someone else's tracking number
    refused = httpx.Response(200, json=[{"ErrorCode": 400, "Exception": "Shipment is already AUTHORISED"}])
    client = scripted_client(
        {
            ("POST", "sale/fulfilment/ship"): refused,
            ("GET", "sale/fulfilment"): httpx.Response(
                200, json={"SaleID": SALE, "Fulfilments": [shipped_task(("JB999999999GB",))]}
            ),
        },
        [],
        clock,
    )
    # When our parcel is shipped on it / Then Cin7's refusal stands
    with pytest.raises(PermanentError, match="already AUTHORISED"):
        client.authorise_ship(SALE, TASK, FIRST)


@pytest.mark.parametrize(
    "answer",
    [
        {
            "SaleID": SALE,
            "Fulfilments": [
                shipped_task(()) | {"TaskID": "cde5fb4a-1dac-4e9a-bc33-5dfa14eedb57"},
                {"TaskID": TASK, "FulfillmentNumber": 2, "Pick": {"Status": "DRAFT"}},
            ],
        },
        {"TaskID": TASK.upper(), "FulfillmentNumber": 2, "Pick": {"Status": "DRAFT", "Lines": []}},
        [{"TaskID": TASK, "FulfillmentNumber": 2}],
    ],
    ids=["the sale's fulfilments", "the new task", "the new task in a list"],
)
def test_add_fulfilment_reads_either_answer(clock: VirtualClock, answer: Any) -> None:
    # Given POST sale/fulfilment answered with the sale's task list (the reference's example) or the new task
    log: list[tuple[str, str]] = []
    client = scripted_client({("POST", "sale/fulfilment"): httpx.Response(200, json=answer)}, log, clock)
    # When a task is added / Then its id is read from the answer, in one call
    assert client.add_fulfilment(SALE) == TASK
    assert log == [("POST", "sale/fulfilment")]


def test_add_fulfilment_with_an_answer_naming_no_task_reads_the_tasks_back(clock: VirtualClock) -> None:
    # Given a POST sale/fulfilment answered with an empty body
    log: list[tuple[str, str]] = []
    client = scripted_client(
        {
            ("POST", "sale/fulfilment"): httpx.Response(200, json={}),
            ("GET", "sale/fulfilment"): httpx.Response(
                200,
                json={
                    "SaleID": SALE,
                    "Fulfilments": [
                        shipped_task(("JB000700101GB",)) | {"TaskID": "cde5fb4a-1dac-4e9a-bc33-5dfa14eedb57"},
                        {
                            "TaskID": TASK,
                            "FulfillmentNumber": 2,
                            "Pick": {"Status": "DRAFT", "Lines": []},
                            "Pack": {"Status": "NOT AVAILABLE", "Lines": []},
                            "Ship": {"Status": "NOT AVAILABLE", "Lines": []},
                        },
                    ],
                },
            ),
        },
        log,
        clock,
    )
    # When a task is added / Then the new task (the one DRAFT pick) is found by reading the tasks back
    assert client.add_fulfilment(SALE) == TASK
    assert log == [("POST", "sale/fulfilment"), ("GET", "sale/fulfilment")]


@pytest.mark.parametrize("answer", ["task", "sale"])
def test_the_simulator_answers_add_fulfilment_either_way_and_the_client_follows(
    clock: VirtualClock, answer: str
) -> None:
    simulator = Cin7CoreSimulator(ACCOUNT_ID, APPLICATION_KEY, clock=clock, fulfilment_answer=answer)
    simulator.start()
    try:
        client = Cin7CoreClient(
            f"{simulator.url}ExternalApi/v2/", ACCOUNT_ID, APPLICATION_KEY, retry=RETRY, clock=clock
        )
        sale_id = add_sale(simulator)
        [task] = client.fulfilments(sale_id)
        apply(client, sale_id, task.task_id, FIRST)
        simulator.requests.clear()
        added = client.add_fulfilment(sale_id)
        assert added == simulator.tasks_added[0]
        assert sum(simulator.requests.values()) == 1
    finally:
        simulator.stop()


# -- the sale note (PUT sale: not on the card, documented in Cin7's reference) ------------------------------


def test_a_note_is_written_once_with_the_header_fields_the_reference_requires(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient
) -> None:
    # Given a sale with a note of its own
    sale_id = add_sale(simulator)
    simulator.update_sale(sale_id, Note="gift wrap")
    # When a line is added, twice (a retry after a lost response)
    assert client.add_note(sale_id, "cancellation: cancelled at the warehouse") is True
    assert client.add_note(sale_id, "cancellation: cancelled at the warehouse") is False
    # Then the note holds both, once; PUT sale carried ID, the customer and the location as the reference asks
    assert simulator.sale(sale_id)["Note"] == "gift wrap\n[Hopline] cancellation: cancelled at the warehouse"
    assert simulator.notes_written == 1
    assert simulator.requests["PUT /externalapi/v2/sale"] == 1


def test_a_note_cin7_refuses_or_that_would_be_too_long_is_raised(clock: VirtualClock) -> None:
    # Given a Cin7 that refuses edits to voided sales (the reference does not say either way)
    simulator = Cin7CoreSimulator(ACCOUNT_ID, APPLICATION_KEY, clock=clock, edit_voided_sales=False)
    simulator.start()
    try:
        client = Cin7CoreClient(
            f"{simulator.url}ExternalApi/v2/", ACCOUNT_ID, APPLICATION_KEY, retry=RETRY, clock=clock
        )
        voided = add_sale(simulator)
        simulator.void_sale(voided)
        # When a note is written to the voided sale / Then the refusal comes back as a permanent error
        with pytest.raises(PermanentError, match="VOIDED and cannot be changed"):
            client.add_note(voided, "cancellation: cancelled")
        # And a note that would pass Cin7's 1024 characters is refused without a call
        long = add_sale(simulator)
        simulator.update_sale(long, Note="x" * 1000)
        simulator.requests.clear()
        with pytest.raises(PermanentError, match="1024"):
            client.add_note(long, "cancellation: " + "y" * 40)
        assert "PUT /externalapi/v2/sale" not in simulator.requests
        # And a Cin7 without PUT sale at all (it is not on the card) refuses the note the same way
        simulator.sale_header_edits = False
        with pytest.raises(PermanentError, match="does not support http method 'PUT'"):
            client.add_note(add_sale(simulator), "cancellation: cancelled")
    finally:
        simulator.stop()


def test_the_tasks_read_with_the_sale_let_each_parcel_be_written_without_a_read(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient
) -> None:
    # Given a sale as intake read it: its one open task is the order's write-back token
    sale_id = add_sale(simulator)
    order, _ = client.read_order(sale_id)
    [token] = order.writeback_tokens
    claimed: dict[str, str] = {}

    def remember_for(parcel_id: str) -> Any:
        return lambda task_id: claimed.__setitem__(parcel_id, task_id)

    # When the first parcel is written back with that token
    simulator.requests.clear()
    client.write_shipment(
        sale_id, FIRST, location=LOCATION, progress={}, remember=remember_for(FIRST.parcel_id), known=(token,)
    )
    # Then it cost pick, pack and ship, no read, on the intake's task
    assert dict(simulator.requests) == {
        "POST /externalapi/v2/sale/fulfilment/pick": 1,
        "POST /externalapi/v2/sale/fulfilment/pack": 1,
        "POST /externalapi/v2/sale/fulfilment/ship": 1,
    }
    assert claimed == {FIRST.parcel_id: token}
    # When the second parcel comes: the token is held, so a task is added and written, still no read
    simulator.requests.clear()
    client.write_shipment(
        sale_id,
        SECOND,
        location=LOCATION,
        progress=dict(claimed),
        remember=remember_for(SECOND.parcel_id),
        known=(token,),
    )
    assert posts(simulator) == {"fulfilment": 1, "pick": 1, "pack": 1, "ship": 1}
    assert sum(simulator.requests.values()) == 4
    assert claimed[SECOND.parcel_id] == simulator.tasks_added[-1]
    assert simulator.shipped_quantities(sale_id) == {"TEE-BLK-M": 2, "CAP-NVY-S": 1}
    assert simulator.tracking_numbers(sale_id) == [*FIRST.tracking_numbers, *SECOND.tracking_numbers]


def test_a_known_task_picked_by_hand_sends_the_parcel_to_a_new_task_after_a_read(
    simulator: Cin7CoreSimulator, client: Cin7CoreClient
) -> None:
    # Given the intake's task, picked in Cin7 by someone else after intake read the sale
    sale_id = add_sale(simulator)
    order, _ = client.read_order(sale_id)
    [token] = order.writeback_tokens
    client.authorise_pick(sale_id, token, parcel("by-hand", ("CAP-NVY-S", 1)), LOCATION)
    claimed: list[str] = []
    # When the first parcel is written back with the stale token
    client.write_shipment(sale_id, FIRST, location=LOCATION, progress={}, remember=claimed.append, known=(token,))
    # Then the refused pick sends it to a read, and the parcel goes to a new task, claimed before its writes
    assert claimed == [token, simulator.tasks_added[-1]]
    tasks = client.fulfilments(sale_id)
    assert [t.task_id for t in tasks if box_label(FIRST.parcel_id) in t.boxes] == [simulator.tasks_added[-1]]
    assert simulator.shipped_quantities(sale_id) == {"TEE-BLK-M": 1}


def test_a_later_parcel_after_an_unseen_add_reuses_the_blank_task(clock: VirtualClock) -> None:
    # Given a sale whose first parcel is written, and a second parcel whose add landed with its answer lost
    with Cin7CoreSimulator(ACCOUNT_ID, APPLICATION_KEY, clock=clock) as sim:
        client = Cin7CoreClient(f"{sim.url}ExternalApi/v2/", ACCOUNT_ID, APPLICATION_KEY, retry=RETRY, clock=clock)
        sale_id = add_sale(sim)
        [token] = client.read_order(sale_id)[0].writeback_tokens
        client.write_shipment(sale_id, FIRST, location=LOCATION, progress={}, remember=lambda _t: None, known=(token,))
        sim.faults = ScriptedFaults(FaultKind.LOST_RESPONSE)
        progress = {FIRST.parcel_id: token}
        with pytest.raises(TransientError):
            client.write_shipment(sale_id, SECOND, location=LOCATION, progress=progress, remember=lambda _t: None)
        [blank] = sim.tasks_added
        # When the parcel is delivered again
        claimed: list[str] = []
        client.write_shipment(sale_id, SECOND, location=LOCATION, progress=progress, remember=claimed.append)
        # Then the second add is refused, the tasks are read, and the blank task carries the parcel: no third task
        assert claimed == [blank]
        assert sim.tasks_added == [blank]
        assert sim.shipped_quantities(sale_id) == {"TEE-BLK-M": 2, "CAP-NVY-S": 1}
        client.close()
