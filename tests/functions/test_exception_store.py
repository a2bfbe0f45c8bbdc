"""The exception inbox on moto: one exception per (flow, record, reason); none overwrites another."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from sandbox.local import create_table
from shared import topology
from shared.models import ReasonCode, Team
from shared.stores.exceptions import ExceptionStatus, ExceptionStore

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ORDER = "cin7_core#0b5e7c1e-0000-4000-8000-000000000001"


@pytest.fixture
def store(aws: None) -> ExceptionStore:
    spec = next(t for t in topology.TABLES if t.name == "exceptions")
    create_table(boto3.client("dynamodb"), "exceptions-test", spec)
    return ExceptionStore(boto3.resource("dynamodb").Table("exceptions-test"), "brand")


def test_a_later_exception_for_another_reason_never_overwrites_the_first(store: ExceptionStore) -> None:
    # Given a cancellation refused as too late, for operations to raise with the warehouse
    first = store.quarantine(
        flow="cancellation",
        business_key=ORDER,
        reasons=[ReasonCode.CANCEL_TOO_LATE],
        team=Team.OPERATIONS,
        detail="picked: raise it with the 3PL",
        now=NOW,
    )
    # When a later step of the same cancellation fails for its own reason
    second = store.quarantine(
        flow="cancellation",
        business_key=ORDER,
        reasons=[ReasonCode.CANCEL_FAILED],
        team=Team.OPERATIONS,
        detail="the note failed",
        now=NOW + timedelta(minutes=1),
    )
    # Then both stay open in the inbox, each with its own detail
    assert first != second
    open_now = {record.reason: record.detail for record in store.list()}
    assert open_now == {
        ReasonCode.CANCEL_TOO_LATE: "picked: raise it with the 3PL",
        ReasonCode.CANCEL_FAILED: "the note failed",
    }


def test_the_same_reason_again_counts_on_the_same_exception(store: ExceptionStore) -> None:
    for minute in range(3):
        store.quarantine(
            flow="order_intake",
            business_key=ORDER,
            reasons=[ReasonCode.POSTCODE_INVALID],
            team=Team.OPERATIONS,
            detail=f"try {minute}",
            now=NOW + timedelta(minutes=minute),
        )
    (record,) = store.list()
    assert record.attempts == 3 and record.detail == "try 2"


def test_a_superseding_verdict_closes_the_reasons_the_record_no_longer_has(store: ExceptionStore) -> None:
    # Given an order quarantined for its postcode, then (postcode fixed) for its delivery service
    store.quarantine(
        flow="order_intake",
        business_key=ORDER,
        reasons=[ReasonCode.POSTCODE_INVALID],
        team=Team.OPERATIONS,
        detail="LS1",
        now=NOW,
        supersede=True,
    )
    store.quarantine(
        flow="order_intake",
        business_key=ORDER,
        reasons=[ReasonCode.DELIVERY_SERVICE_UNMAPPED],
        team=Team.OPERATIONS,
        detail="Pigeon Post",
        now=NOW + timedelta(minutes=5),
        supersede=True,
    )
    # Then only the current reason is open; the fixed one is resolved as superseded
    assert [record.reason for record in store.list()] == [ReasonCode.DELIVERY_SERVICE_UNMAPPED]
    (closed,) = store.list(status=ExceptionStatus.RESOLVED)
    assert closed.reason == ReasonCode.POSTCODE_INVALID and closed.resolved_by == "superseded:delivery_service_unmapped"


def test_resolving_a_record_closes_every_reason_in_that_flow_and_no_other_flow(store: ExceptionStore) -> None:
    store.quarantine(
        flow="order_intake",
        business_key=ORDER,
        reasons=[ReasonCode.POSTCODE_INVALID],
        team=Team.OPERATIONS,
        detail="",
        now=NOW,
    )
    store.quarantine(
        flow="order_intake",
        business_key=ORDER,
        reasons=[ReasonCode.SKU_PENDING],
        team=Team.ECOMMERCE,
        detail="",
        now=NOW,
    )
    store.quarantine(
        flow="cancellation",
        business_key=ORDER,
        reasons=[ReasonCode.CANCEL_TOO_LATE],
        team=Team.OPERATIONS,
        detail="",
        now=NOW,
    )
    assert store.resolve("order_intake", ORDER, by="order_intake:replay", now=NOW) == 2
    assert [record.flow for record in store.list()] == ["cancellation"]
    assert store.resolve("order_intake", ORDER, by="order_intake:replay", now=NOW) == 0
    assert {record.flow for record in store.for_record(ORDER)} == {"order_intake", "cancellation"}


def test_one_flows_exceptions_in_a_status_come_from_its_own_index_partition(store: ExceptionStore) -> None:
    # Given open exceptions in three flows, one of them resolved again, and another client's in the same table
    for n, flow in enumerate(("order_stalled", "order_mismatch", "order_intake", "order_stalled")):
        store.quarantine(
            flow=flow,
            business_key=f"{ORDER}{n}",
            reasons=[ReasonCode.ORDER_STALLED],
            team=Team.OPERATIONS,
            detail="",
            now=NOW + timedelta(minutes=n),
        )
    store.resolve("order_stalled", f"{ORDER}3", by="order_stalled:moved_on", now=NOW)
    other = ExceptionStore(store.table, "another-brand")
    other.quarantine(
        flow="order_stalled",
        business_key=ORDER,
        reasons=[ReasonCode.ORDER_STALLED],
        team=Team.OPERATIONS,
        detail="",
        now=NOW,
    )
    # When the monitor asks for its two flows' open exceptions
    found = store.in_status(ExceptionStatus.OPEN, flows=("order_stalled", "order_mismatch"))
    # Then it gets exactly those, this client's only, as the by-status index with a filter would give
    assert sorted((r.flow, r.business_key) for r in found) == [
        ("order_mismatch", f"{ORDER}1"),
        ("order_stalled", f"{ORDER}0"),
    ]
    everything = store.in_status(ExceptionStatus.OPEN)
    assert sorted(r.id for r in found) == sorted(
        r.id for r in everything if r.flow in ("order_stalled", "order_mismatch")
    )


# Personal data of one customer, spelled as a source would send it.
PERSONAL = {
    "name": "Priya Raman",
    "company": "Raman Textiles",
    "line1": "22 Mill Lane",
    "line2": "Redland",
    "city": "Bristol",
    "postcode": "ZZ99 9ZZZ",
    "email": "priya.raman@example.com",
    "phone": "(0113) 496 0000",
}


def test_no_exception_record_holds_personal_data_only_the_archive_does(harness: Any) -> None:
    # Given an order whose postcode is invalid, quarantined by intake
    sale_id = harness.add_sale(
        "SO-51",
        email=PERSONAL["email"],
        phone=PERSONAL["phone"],
        address={
            "Contact": PERSONAL["name"],
            "Company": PERSONAL["company"],
            "Line1": PERSONAL["line1"],
            "Line2": PERSONAL["line2"],
            "City": PERSONAL["city"],
            "Postcode": PERSONAL["postcode"],
            "Country": "United Kingdom",
        },
    )
    harness.webhook(sale_id)
    harness.local.drain()
    # And a submit message whose address fields have the wrong types (pydantic would echo them as `input`)
    good = harness.add_sale("SO-52")
    harness.webhook(good)
    harness.local.drain_queue("order-intake")
    [message] = harness.queue_bodies("order-submit")
    bad_address = {
        "name": [PERSONAL["name"]],
        "company": {"legal": PERSONAL["company"]},
        "line1": PERSONAL["line1"],
        "line2": 22,
        "city": PERSONAL["city"],
        "postcode": PERSONAL["postcode"].lower(),
        "email": {"home": PERSONAL["email"]},
        "phone": [PERSONAL["phone"]],
        "country": "GB",
        "nickname": PERSONAL["name"],
    }
    body = json.dumps({**message, "order": {**message["order"], "shipping_address": bad_address}})
    harness.rt.sqs.send_message(QueueUrl=harness.local.queue_urls["order-submit"], MessageBody=body)
    harness.local.drain()
    # Then both are in the inbox, each saying what to fix
    records = {record.reason.value: record for record in harness.rt.exceptions.list()}
    assert set(records) == {"postcode_invalid", "payload_invalid"}
    assert "postcode is not a valid GB postcode" in records["postcode_invalid"].detail
    invalid = records["payload_invalid"].detail
    for field in ("order.shipping_address.name", "order.shipping_address.email", "order.shipping_address.nickname"):
        assert f"field '{field}'" in invalid, invalid
    # And no stored item holds any of the customer's data, in any case
    table = harness.rt.table("exceptions")
    stored = json.dumps(table.scan()["Items"], default=str).lower()
    for value in PERSONAL.values():
        assert value.lower() not in stored, value
    # While the archive keeps the payloads the exceptions point at, exactly as received
    assert harness.rt.archive.get(records["payload_invalid"].payload_key).decode() == body
    assert PERSONAL["line1"] in harness.rt.archive.get(records["postcode_invalid"].payload_key).decode()


def test_get_many_reads_what_get_reads_in_one_batch(store: ExceptionStore) -> None:
    ids = [
        store.quarantine(
            flow="order_intake",
            business_key=f"cin7_core#{n}",
            reasons=[ReasonCode.SKU_PENDING],
            team=Team.ECOMMERCE,
            detail="held",
            now=NOW,
        )
        for n in range(3)
    ]
    missing = store.exception_id("order_intake", "cin7_core#none", ReasonCode.SKU_PENDING)
    batched = ExceptionStore(store.table, "brand", boto3.resource("dynamodb"))
    found = batched.get_many([*ids, missing])
    assert set(found) == set(ids)
    assert all(found[key] == store.get(key) for key in ids)
    assert store.get_many([*ids, missing]) == found  # the store without a resource: one GetItem each
