"""The Cin7 call budget table: each call named by the hop that sent it and by endpoint and purpose."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from sandbox.budget import cin7_budget, format_budget
from sandbox.simulators.cin7_core import call_flow, call_reason
from shared.runtime import Runtime

PREFIX = "/ExternalApi/v2/"


def test_a_call_is_named_by_endpoint_and_what_its_query_asks() -> None:
    assert call_reason("GET", f"{PREFIX}sale", {"ID": "x"}) == "GET sale: read one sale"
    assert call_reason("PUT", f"{PREFIX}sale", {}) == "PUT sale: note on the sale"
    assert call_reason("GET", f"{PREFIX}saleList", {"OrderStatus": "AUTHORISED"}) == (
        "GET saleList: authorised sales changed"
    )
    assert call_reason("GET", f"{PREFIX}salelist", {"status": "voided"}) == "GET saleList: voided sales changed"
    assert (
        call_reason("GET", f"{PREFIX}saleList", {"UpdatedSince": "2026-11-23T08:00:00", "limit": "100"})
        == "GET saleList: sales changed, any status"
    )
    assert call_reason("GET", f"{PREFIX}ref/productavailability", {"Sku": "TEE"}) == (
        "GET ref/productavailability: availability of one SKU"
    )
    assert call_reason("GET", f"{PREFIX}ref/productavailability", {"Location": "Scend UK", "limit": "1000"}) == (
        "GET ref/productavailability: availability page at one location"
    )
    assert call_reason("POST", f"{PREFIX}sale/fulfilment/ship", {}) == "POST sale/fulfilment/ship: authorise ship"
    assert call_reason("GET", f"{PREFIX}nope", {}) == "GET nope: unknown endpoint"


def test_the_flow_is_the_hop_the_user_agent_names() -> None:
    assert call_flow("hopline/order_intake") == "order_intake"
    assert call_flow("hopline") == "other"
    assert call_flow("python-httpx/0.28.1") == "other"
    hop = Runtime(environ={"POWERTOOLS_SERVICE_NAME": "hopline-apply_shipment"})
    assert hop.user_agent == "hopline/apply_shipment"
    assert Runtime(environ={}).user_agent == "hopline"


def test_the_table_adds_up_per_flow_and_per_released_order() -> None:
    calls = Counter(
        {
            ("order_intake", "GET sale: read one sale"): 10,
            ("apply_shipment", "POST sale/fulfilment/pick: authorise pick"): 8,
            ("apply_shipment", "POST sale/fulfilment/pack: authorise pack"): 8,
            ("other", "GET me: connectivity check"): 4,
        }
    )
    simulator = SimpleNamespace(calls=calls, throttled_by_flow=Counter({"apply_shipment": 2}))
    budget = cin7_budget(simulator, released=10)
    assert (budget["calls"], budget["per_released_order"], budget["orders_per_hour_one_key"]) == (30, 3.0, 1200.0)
    assert list(budget["flows"]) == ["apply_shipment", "order_intake", "other"]
    shipments = budget["flows"]["apply_shipment"]
    assert (shipments["pipeline"], shipments["calls"], shipments["per_released_order"], shipments["throttled"]) == (
        "shipments",
        16,
        1.6,
        2,
    )
    assert budget["flows"]["other"]["pipeline"] == "other"
    text = format_budget(budget)
    assert "apply_shipment [shipments]" in text and "(2 throttled)" in text
    assert "POST sale/fulfilment/pick: authorise pick" in text
    assert (
        cin7_budget(SimpleNamespace(calls=Counter(), throttled_by_flow=Counter()), released=0)["per_released_order"]
        is None
    )
