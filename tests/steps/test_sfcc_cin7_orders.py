"""SFCC orders into Cin7 Core exactly once, and what Cin7 ships back to SFCC: the release poll, intake, submit,
the despatch poll and the write-back run as in a deployment (moto stores, the SFCC and Cin7 Core simulators
over HTTP), and the export status follows the sale.

The failures this guards against: a second sale for one order (a lost export-status write, a lost ledger),
an order never posted, a sale whose totals differ from what the customer paid, and a shipment told to the
shop twice or never.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators.base import FaultKind, FaultPlan, Request
from sandbox.simulators.cin7_core import VAT_RULE
from sandbox.simulators.cin7_core_sales import Cin7CoreSalesSimulator
from sandbox.simulators.sfcc import SfccSimulator, sample_order
from shared.clock import VirtualClock
from shared.config import ClientConfig, RetryConfig, load_client_config
from shared.connectors.cin7_core.order_target import sale_totals
from shared.connectors.registry import spec_for
from shared.connectors.sfcc.mapping import format_sfcc_datetime
from shared.connectors.spec import Role
from shared.errors import TransientError
from shared.flows.cancellation import Outcome
from shared.models.messages import CancelRequest, CancelState, IntakeMessage, ShipmentMessage, SubmitMessage
from shared.runtime import Runtime
from shared.steps import cancellation
from shared.steps.despatch import apply_shipment, poll_despatches
from shared.steps.order_intake import take_in
from shared.steps.order_submit import submit_order
from shared.steps.poll_sales import poll_sales
from tests.steps.conftest import empty

EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "clients" / "example-sfcc-cin7.yaml"
RETRIES = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=0.5, timeout_seconds=5)
SKU = "701643632930"


class ContractContext:
    def __init__(self, clock: VirtualClock):
        self.clock = clock
        self.http_timeout = 5.0
        self.user_agent = "hopline/sfcc-cin7-steps"

    def budget(self, key: str, calls: int, per_seconds: float) -> Any:
        from shared.connectors.http import TokenBucket

        return TokenBucket(100_000, per_seconds, self.clock, capacity=100_000)


@dataclass
class Pairing:
    local: LocalHopline
    sfcc_sim: SfccSimulator
    cin7_sim: Cin7CoreSalesSimulator
    sfcc: Any
    cin7: Any
    clock: VirtualClock

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.local.runtime
        return runtime

    def drain(self, queue: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        url = self.local.queue_urls[queue]
        bodies: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def cycle(self) -> dict[str, list[str]]:
        """One poll, then intake of what it listed, then submit of what intake released."""
        poll_sales(self.rt)
        taken = [take_in(IntakeMessage.model_validate(body), self.rt).value for body in self.drain("order-intake")]
        submitted = [
            str(submit_order(SubmitMessage.model_validate(body), self.rt)["outcome"])
            for body in self.drain("order-submit")
        ]
        cancels = [str(body["source_id"]) for body in self.drain("cancel-requests")]
        self.clock.advance(60)
        return {"intake": taken, "submit": submitted, "cancels": cancels}

    def ship_back(self) -> list[str]:
        """One despatch poll at Cin7, then the write-back of every parcel it listed."""
        poll_despatches(self.rt)
        applied = [
            apply_shipment(ShipmentMessage.model_validate(body), self.rt).value
            for body in self.drain("shipment-writeback")
        ]
        self.clock.advance(60)
        return applied

    def cancel_at_sfcc(self, order_no: str) -> str:
        """The shopper's order is cancelled in SFCC; the next poll announces it, and the cancellation runs
        its state machine's path (look up, the route and the warehouse's choice as the topology renders
        them, cancel, record). The outcome."""
        from shared import topology

        self.sfcc_sim.orders[order_no].update(status="cancelled", lastModified=format_sfcc_datetime(self.clock.now()))
        self.clock.advance(60)
        poll_sales(self.rt)
        [body] = self.drain("cancel-requests")
        self.drain("order-intake")
        state = CancelState(request=CancelRequest.model_validate(body))
        state = state.model_copy(update={"lookup": cancellation.look_up(state, self.rt)})
        machine = topology.state_machine("cancellation")
        where, allows = machine.state("WhereIsTheOrder"), machine.state("WarehouseAllowsCancel")
        assert isinstance(where, topology.ChoiceState) and isinstance(allows, topology.ChoiceState)
        assert state.lookup is not None
        if where.routes(self.rt.config)[state.lookup.route] == "ReadWarehouseStatus":
            state = state.model_copy(update={"warehouse": cancellation.read_status(state, self.rt)})
            assert state.warehouse is not None
            if allows.routes(self.rt.config)[state.warehouse.code] == "CancelAtWarehouse":
                state = state.model_copy(update={"cancel": cancellation.cancel_at_warehouse(state, self.rt)})
        return cancellation.record(state, self.rt).outcome

    def open_cancel_exceptions(self, order_no: str) -> list[str]:
        return [
            str(e.reason)
            for e in self.rt.exceptions.list()
            if e.flow == cancellation.FLOW and e.business_key == f"sfcc#{order_no}"
        ]

    def sale_id(self, order_no: str) -> str:
        [sale] = self.cin7_sim.sales_by_external_id(f"EXS-{order_no}")
        return str(sale["ID"])

    def place(self, order_no: str, **changes: Any) -> dict[str, Any]:
        order = {**sample_order(order_no, self.clock.now(), site_id=self.sfcc_sim.site_id), **changes}
        self.sfcc_sim.add_order(order)
        return order


class LoseFirstAnswer(FaultPlan):
    """The first answer to one write is lost after the write landed (a dropped connection)."""

    def __init__(self, method: str, path_end: str):
        super().__init__()
        self.method, self.path_end, self.lost = method, path_end, False

    def draw(self, request: Request | None = None) -> str | None:
        wanted = request is not None and request.method == self.method and request.path.lower().endswith(self.path_end)
        if wanted and not self.lost:
            self.lost = True
            return FaultKind.LOST_RESPONSE
        return None


@pytest.fixture(scope="module")
def config() -> ClientConfig:
    return load_client_config(EXAMPLE)


@pytest.fixture(scope="module")
def hopline(config: ClientConfig) -> Iterator[LocalHopline]:
    with mock_aws(config=MOTO_CONFIG):
        local = LocalHopline(config, VirtualClock())
        local.start()
        yield local


@pytest.fixture
def pairing(hopline: LocalHopline, config: ClientConfig) -> Iterator[Pairing]:
    empty(hopline)
    clock = hopline.clock
    sfcc_sim = SfccSimulator("hopline-orders", "s3cret", clock=clock)
    cin7_sim = Cin7CoreSalesSimulator("acct-1", "key-1", clock=clock, calls_per_minute=100_000)
    sfcc_sim.start()
    cin7_sim.start()
    sfcc_settings = config.platforms["sfcc"].model_copy(
        update={
            "organization_id": sfcc_sim.organization_id,
            "auth_url": sfcc_sim.url + "dwsso/oauth2/access_token",
            "scapi_base_url": sfcc_sim.url,
            "ocapi_base_url": sfcc_sim.url,
            "retry": RETRIES,
        }
    )
    cin7_settings = config.platforms["cin7"].model_copy(
        update={
            "base_url": f"{cin7_sim.url}ExternalApi/v2/",
            "sales": config.platforms["cin7"].sales.model_copy(update={"tax_rule": VAT_RULE}),  # type: ignore[attr-defined]
        }
    )
    sfcc = spec_for("sfcc").build(
        "sfcc",
        sfcc_settings,
        {"client_id": "hopline-orders", "client_secret": "s3cret"},
        RETRIES,
        ContractContext(clock),
    )
    cin7 = spec_for("cin7_core").build(
        "cin7", cin7_settings, {"account_id": "acct-1", "application_key": "key-1"}, RETRIES, ContractContext(clock)
    )
    rt: Runtime = hopline.runtime
    for role in (Role.ORDER_SOURCE, Role.CANCEL_SOURCE, Role.SHIPMENT_TARGET):
        rt.override(role, sfcc)
    for role in (Role.ORDER_TARGET, Role.CANCEL_TARGET, Role.SHIPMENT_SOURCE):
        rt.override(role, cin7)
    cin7_sim.add_product(SKU, "Flat Front Pant")
    yield Pairing(hopline, sfcc_sim, cin7_sim, sfcc, cin7, clock)
    sfcc.close()
    cin7.close()
    sfcc_sim.stop()
    cin7_sim.stop()


def test_an_order_becomes_one_authorised_sale_with_the_shops_totals_and_is_claimed_exported(pairing: Pairing) -> None:
    placed = pairing.place("00001001")
    first = pairing.cycle()
    assert first["intake"] == ["released"] and first["submit"] == ["created"]
    [sale] = pairing.cin7_sim.sales_by_external_id("EXS-00001001")
    assert sale["Status"] == "ORDERED" and sale["Order"]["Status"] == "AUTHORISED"
    assert sale["CustomerReference"] == "00001001" and sale["Customer"] == "Web Customers GBP"
    # Totals to the cent: orderTotal, taxTotal, shippingTotal
    assert sale_totals(sale, "Shipping") == (
        Decimal(str(placed["orderTotal"])),
        Decimal(str(placed["taxTotal"])),
        Decimal(str(placed["shippingTotal"])),
    )
    # The next listing finds it at the target and claims it at SFCC; then it is no longer listed
    second = pairing.cycle()
    assert second["intake"] == ["duplicate"] and second["submit"] == []
    assert pairing.sfcc_sim.orders["00001001"]["exportStatus"] == "exported"
    assert pairing.cycle()["intake"] == []
    assert len(pairing.cin7_sim.sales_by_external_id("EXS-00001001")) == 1


def test_a_failed_export_status_write_after_the_sale_exists_makes_no_second_sale(
    pairing: Pairing, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairing.place("00001002")
    failures: list[str] = []

    def refuse(order_no: str, status: str) -> None:
        failures.append(status)
        raise TransientError("SFCC PUT export-status: 503 load shedding")

    monkeypatch.setattr(pairing.sfcc, "set_export_status", refuse)
    assert pairing.cycle()["submit"] == ["created"]
    # The order is still listed as ready, twice more, and every listing fails to claim it: no second sale
    for _ in range(2):
        assert pairing.cycle()["intake"] == ["duplicate"]
    assert failures == ["exported", "exported"]
    assert pairing.sfcc_sim.orders["00001002"]["exportStatus"] == "ready"
    assert pairing.rt.tally["export_status_failed"] == 2
    # Even with the ledger lost, the reference search at Cin7 finds the sale it already made
    pairing.rt.table("ledger").delete_item(Key=pairing.rt.ledger._key("sfcc#00001002"))
    assert pairing.cycle()["submit"] == ["found"]  # create_order searched first and made none
    assert len(pairing.cin7_sim.sales_by_external_id("EXS-00001002")) == 1
    assert pairing.cin7_sim.sales_created == 1
    monkeypatch.undo()
    pairing.cycle()
    assert pairing.sfcc_sim.orders["00001002"]["exportStatus"] == "exported"
    assert pairing.cin7_sim.sales_created == 1


def test_an_order_cancelled_before_export_is_never_posted(pairing: Pairing) -> None:
    pairing.place("00001003", status="cancelled")
    done = pairing.cycle()
    assert done["intake"] == [] and done["cancels"] == ["00001003"]
    assert pairing.cin7_sim.sales_by_external_id("EXS-00001003") == []


def test_a_quarantined_order_is_marked_failed_at_sfcc_and_not_posted(pairing: Pairing) -> None:
    pairing.place("00001004", currency="G8P")  # not an ISO 4217 code
    assert pairing.cycle()["intake"] == ["quarantined"]
    assert pairing.sfcc_sim.orders["00001004"]["exportStatus"] == "failed"
    assert pairing.cin7_sim.sales_created == 0


def test_a_part_shipment_then_the_rest_reach_sfcc_as_part_shipped_then_shipped_and_completed(pairing: Pairing) -> None:
    # Given an order posted to Cin7 (2 units of one item)
    pairing.place("00001005")
    pairing.cycle()
    sale_id = pairing.sale_id("00001005")
    # When Cin7's team ships one unit, and the despatch poll and write-back run
    pairing.cin7_sim.fulfil(sale_id, {SKU: 1}, tracking="JB000000051GB", carrier="Royal Mail")
    pairing.clock.advance(60)
    assert pairing.ship_back() == ["applied"]
    order = pairing.sfcc_sim.orders["00001005"]
    # Then SFCC shows it part shipped with the tracking in the configured c_ attributes, still open
    assert order["shippingStatus"] == "part_shipped" and order["status"] == "new"
    assert order["c_trackingNumbers"] == "JB000000051GB" and order["c_carrier"] == "Royal Mail"
    # When the second unit ships on a new task
    pairing.cin7_sim.fulfil(sale_id, {SKU: 1}, tracking="JB000000052GB", carrier="Royal Mail", box="Box 2")
    pairing.clock.advance(60)
    # Then only the new parcel is applied (the first, re-listed by the overlap, is on the order: not sent again)
    assert pairing.ship_back() == ["applied"]
    order = pairing.sfcc_sim.orders["00001005"]
    assert order["shippingStatus"] == "shipped" and order["status"] == "completed"
    assert order["c_trackingNumbers"].split(",") == ["JB000000051GB", "JB000000052GB"]
    entry = pairing.rt.ledger.get("sfcc#00001005")
    assert entry is not None and len(entry.shipments) == 2


def test_a_cin7_shipment_applied_again_changes_nothing_at_sfcc(pairing: Pairing) -> None:
    pairing.place("00001006")
    pairing.cycle()
    pairing.cin7_sim.fulfil(pairing.sale_id("00001006"), {SKU: 2}, tracking="JB000000061GB")
    pairing.clock.advance(60)
    poll_despatches(pairing.rt)
    [body] = pairing.drain("shipment-writeback")
    message = ShipmentMessage.model_validate(body)
    assert apply_shipment(message, pairing.rt).value == "applied"
    after_first = dict(pairing.sfcc_sim.orders["00001006"])
    assert after_first["shippingStatus"] == "shipped" and after_first["status"] == "completed"
    writes = sum(n for call, n in pairing.sfcc_sim.requests.items() if not call.startswith("GET"))
    # The same shipment delivered again (an SQS redelivery, a replay): the ledger knows it, no call is made
    assert apply_shipment(message, pairing.rt).value == "duplicate"
    assert pairing.sfcc_sim.orders["00001006"] == after_first
    assert sum(n for call, n in pairing.sfcc_sim.requests.items() if not call.startswith("GET")) == writes
    # Even without the ledger's record, SFCC's own c_ record keeps the parcel from counting twice
    pairing.sfcc.write_shipment("00001006", message.shipment, location="", progress={}, remember=lambda _: None)
    again = pairing.sfcc_sim.orders["00001006"]
    for field in ("c_trackingNumbers", "c_carrier", "c_hoplineShipments", "shippingStatus", "status"):
        assert again[field] == after_first[field]


def exported(pairing: Pairing, order_no: str) -> str:
    """An order posted to Cin7 and claimed exported at SFCC; its sale id."""
    pairing.place(order_no)
    pairing.cycle()
    pairing.cycle()
    assert pairing.sfcc_sim.orders[order_no]["exportStatus"] == "exported"
    return pairing.sale_id(order_no)


def test_an_order_cancelled_at_sfcc_after_export_voids_its_cin7_sale_before_pick(pairing: Pairing) -> None:
    sale_id = exported(pairing, "00001007")
    assert pairing.cancel_at_sfcc("00001007") == Outcome.CANCELLED_AT_WAREHOUSE
    assert pairing.cin7_sim.sale(sale_id)["Status"] == "VOIDED"
    assert pairing.open_cancel_exceptions("00001007") == []


def test_a_cancel_after_pick_is_authorised_is_not_voided_and_is_raised_for_operations(pairing: Pairing) -> None:
    sale_id = exported(pairing, "00001008")
    pairing.cin7_sim.fulfil(sale_id, {SKU: 2}, tracking="", until="pick")
    assert pairing.cancel_at_sfcc("00001008") == Outcome.REFUSED_TOO_LATE
    assert pairing.cin7_sim.sale(sale_id)["Status"] != "VOIDED"
    assert pairing.open_cancel_exceptions("00001008") == ["cancel_too_late"]


def test_a_cancel_after_cin7_shipped_is_refused_as_a_return(pairing: Pairing) -> None:
    sale_id = exported(pairing, "00001009")
    pairing.cin7_sim.fulfil(sale_id, {SKU: 2}, tracking="JB000000091GB")
    assert pairing.cancel_at_sfcc("00001009") == Outcome.REFUSED_RETURN_STARTED
    assert pairing.cin7_sim.sale(sale_id)["Status"] != "VOIDED"
    assert pairing.open_cancel_exceptions("00001009") == ["cancel_return_started"]


def test_a_lost_answer_to_the_order_stage_keeps_the_sale_it_wrote(pairing: Pairing) -> None:
    # Given Cin7 writes the order stage but its answer never arrives, so the retry meets an authorised stage
    pairing.cin7_sim.faults = LoseFirstAnswer("POST", "/sale/order")
    pairing.place("00001005")
    # When the order is taken in and submitted
    assert pairing.cycle()["submit"] == ["created"]
    # Then the one sale stays authorised under its reference: not abandoned, voided or quarantined
    assert pairing.cin7_sim.faults.lost
    [sale] = pairing.cin7_sim.sales_by_external_id("EXS-00001005")
    assert sale["Status"] == "ORDERED" and sale["Order"]["Status"] == "AUTHORISED"
    assert pairing.cin7_sim.sales_by_external_id("EXS-00001005~refused") == []
    assert pairing.cin7_sim.sales_created == 1


def test_a_header_whose_answer_was_lost_is_finished_not_recorded_as_the_order(pairing: Pairing) -> None:
    # Given the sale header lands at Cin7 but its answer is lost (not retried in-call: POST sale is not idempotent)
    pairing.cin7_sim.faults = LoseFirstAnswer("POST", "/sale")
    placed = pairing.place("00001006")
    poll_sales(pairing.rt)
    [intake] = pairing.drain("order-intake")
    take_in(IntakeMessage.model_validate(intake), pairing.rt)
    [submit] = pairing.drain("order-submit")
    message = SubmitMessage.model_validate(submit)
    with pytest.raises(TransientError):
        submit_order(message, pairing.rt)
    # When the queue delivers the submit again (it looks the reference up first)
    assert submit_order(message, pairing.rt)["outcome"] == "found"
    # Then the header it found is finished: one authorised sale with the shop's totals, not a bare header
    [sale] = pairing.cin7_sim.sales_by_external_id("EXS-00001006")
    assert sale["Status"] == "ORDERED" and sale["Order"]["Status"] == "AUTHORISED"
    assert sale_totals(sale, "Shipping") == (
        Decimal(str(placed["orderTotal"])),
        Decimal(str(placed["taxTotal"])),
        Decimal(str(placed["shippingTotal"])),
    )
    assert pairing.cin7_sim.sales_created == 1
