"""ScendClient against an httpx mock transport: classification, retries on virtual time, duplicate guard."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.http import Disposition, classify
from shared.connectors.scend import RULES, ScendClient
from shared.errors import AuthError, NotFoundError, PermanentError, RateLimitedError, TransientError
from shared.models import Address, Order, OrderLine, ReasonCode, WarehouseOrderRef

EVENTS = Path(__file__).resolve().parent.parent / "events"
BASE_URL = "https://api.scend.test/api/"
API_KEY = "ms-test-key"
REFERENCE = "BRANDA-100045"
CLOUDFLARE_PAGE = b"<html><head><title>Access denied</title></head><body>error code: 1015</body></html>"


def event(name: str) -> object:
    return json.loads((EVENTS / name).read_text())


def card_order(**changes: object) -> Order:
    """The reference card's example: 2 x 12.50 + 2.50 VAT each, shipping 3.29 + 0.66 VAT = 33.95."""
    order = Order(
        source="cin7_core",
        source_id="6f1c2d7e-0000-4000-8000-000000000045",
        order_number="SO-01822",
        status="ORDERED",
        authorised=True,
        delivery_service="Tracked 48",
        currency="GBP",
        lines=(
            OrderLine(
                sku="TSHIRT-BLK-M",
                quantity=Decimal("2"),
                unit_price=Decimal("12.50"),
                tax=Decimal("5.00"),
                total=Decimal("25.00"),
            ),
        ),
        shipping_address=Address(
            name="Jo Smith", line1="1 High St", city="Leeds", postcode="LS1 1AA", country="GB", email="jo@example.com"
        ),
        shipping_total=Decimal("3.29"),
        tax_total=Decimal("5.66"),
        total=Decimal("33.95"),
    )
    return order.model_copy(update=changes)


class Transport:
    """Answers each request with the next scripted response (the last one repeats) and records requests."""

    def __init__(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]):
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = min(len(self.requests), len(self.responses)) - 1
        answer = self.responses[index]
        return answer(request) if callable(answer) else answer


def make_client(transport: Transport, clock: VirtualClock | None = None, max_attempts: int = 3) -> ScendClient:
    return ScendClient(
        BASE_URL,
        API_KEY,
        client_id=27,
        warehouse_id=3,
        retry=RetryConfig(max_attempts=max_attempts, base_delay_seconds=1.0, max_delay_seconds=20.0),
        clock=clock or VirtualClock(),
        http=httpx.Client(transport=httpx.MockTransport(transport)),
    )


def refused(message: str) -> httpx.Response:
    return httpx.Response(
        200,
        json=[
            {
                "OrderId": 0,
                "OrderNumber": REFERENCE,
                "Success": False,
                "OrderStatusId": 0,
                "OrderStatus": None,
                "Message": message,
            }
        ],
    )


# -- classification table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (200, b"[]", Disposition.OK),
        (200, b"", Disposition.OK),
        (200, CLOUDFLARE_PAGE, Disposition.RETRY),
        (429, CLOUDFLARE_PAGE, Disposition.RATE_LIMITED),
        (401, b'{"Message":"Authorization has been denied for this request."}', Disposition.AUTH),
        (403, b"{}", Disposition.AUTH),
        (404, b"{}", Disposition.NOT_FOUND),
        (408, b"", Disposition.RETRY),
        (500, b"{}", Disposition.RETRY),
        (502, b"<html>Bad gateway</html>", Disposition.RETRY),
        (400, b'{"Message":"The request is invalid."}', Disposition.PERMANENT),
        (422, b"{}", Disposition.PERMANENT),
        (302, b"", Disposition.RETRY),
    ],
)
def test_rules_classify_scend_responses(status: int, content: bytes, expected: Disposition) -> None:
    # Given a response as Scend (or Cloudflare in front of it) would send it
    response = httpx.Response(status, content=content, request=httpx.Request("GET", BASE_URL + "Order/1"))
    # When it is classified / Then the table gives the expected disposition
    rule = classify(response, RULES)
    assert rule.disposition is expected
    if expected is Disposition.PERMANENT:
        assert rule.reason is ReasonCode.WAREHOUSE_REJECTED


# -- create_order -------------------------------------------------------------------------------


def test_create_order_returns_the_new_warehouse_order() -> None:
    # Given Scend accepts the order
    transport = Transport(httpx.Response(200, json=event("scend_create_order_response.json")))
    client = make_client(transport)
    # When we create it
    ref = client.create_order(card_order(), REFERENCE, "Royal Mail Tracked 48")
    # Then the reference carries Scend's order id, and one authenticated PUT /api/Order was sent
    assert ref == WarehouseOrderRef(warehouse_order_id="184467", client_reference=REFERENCE, status="new", created=True)
    [request] = transport.requests
    assert (request.method, request.url.path) == ("PUT", "/api/Order")
    assert request.headers["ms-apikey"] == API_KEY
    body = json.loads(request.content)
    assert body["OrderNumber"] == REFERENCE
    assert body["ExternalOrderReference"] == "SO-01822"
    assert body["CourierService"] == "Royal Mail Tracked 48"
    assert (body["ClientId"], body["WarehouseId"], body["Channel"]) == (27, 3, "API")
    assert (body["FirstName"], body["LastName"], body["Country"]) == ("Jo", "Smith", "GB")
    assert body["OrderItems"] == [{"SKU": "TSHIRT-BLK-M", "Quantity": 2, "UnitPrice": 12.5, "UnitPriceVat": 2.5}]


def test_create_order_sends_money_exactly() -> None:
    # Given amounts that floats cannot hold exactly (0.1 + 0.2, 33.95, 1.10 x 3)
    order = card_order(
        lines=(OrderLine(sku="PEN-RED", quantity=Decimal("3"), unit_price=Decimal("1.10"), tax=Decimal("0.66")),),
        shipping_total=Decimal("0.1") + Decimal("0.2"),
        tax_total=Decimal("0.72"),
        total=Decimal("33.95"),
    )
    transport = Transport(httpx.Response(200, json=event("scend_create_order_response.json")))
    # When the order is sent
    make_client(transport).create_order(order, REFERENCE, "Royal Mail Tracked 48")
    # Then every amount on the wire reads back as exactly the Decimal we meant
    content = transport.requests[0].content.decode()
    body = json.loads(content, parse_float=Decimal)
    assert body["OrderValue"] == Decimal("33.95")
    assert body["ShippingTotalExVat"] == Decimal("0.3")
    assert body["ShippingTotalVat"] == Decimal("0.06")
    assert body["TotalVat"] == Decimal("0.72")
    assert body["OrderItems"][0]["UnitPrice"] == Decimal("1.1")
    assert body["OrderItems"][0]["UnitPriceVat"] == Decimal("0.22")
    assert "0000000" not in content and "9999999" not in content


def test_duplicate_reference_resolves_to_the_existing_order() -> None:
    # Given Scend already holds the reference (a lost response earlier), and search finds it
    transport = Transport(
        refused(f"Order with OrderNumber '{REFERENCE}' already exists"),
        httpx.Response(200, json=event("scend_order_search.json")),
    )
    # When we create it again
    ref = make_client(transport).create_order(card_order(), REFERENCE, "Royal Mail Tracked 48")
    # Then the existing order is returned, marked as not created by this call
    assert ref == WarehouseOrderRef(
        warehouse_order_id="184467", client_reference=REFERENCE, status="picking", created=False
    )
    search = transport.requests[1]
    assert (search.method, search.url.path, search.url.params["OrderNumber"]) == ("GET", "/api/Order/Search", REFERENCE)


def test_duplicate_that_search_cannot_see_yet_is_transient() -> None:
    # Given Scend says "already exists" but its search does not show the order yet
    transport = Transport(refused(f"Order with OrderNumber '{REFERENCE}' already exists"), httpx.Response(200, json=[]))
    # When we create / Then the message is retried later rather than quarantined or duplicated
    with pytest.raises(TransientError, match="does not find"):
        make_client(transport).create_order(card_order(), REFERENCE, "Royal Mail Tracked 48")


def test_unknown_sku_is_refused_as_sku_unknown() -> None:
    # Given Scend does not know a SKU on the order
    transport = Transport(refused("Product with SKU 'TSHIRT-BLK-M' not found"))
    # When we create / Then it is a permanent SKU problem, owned by ecommerce, and not retried
    with pytest.raises(PermanentError) as caught:
        make_client(transport).create_order(card_order(), REFERENCE, "Royal Mail Tracked 48")
    assert caught.value.reason is ReasonCode.SKU_UNKNOWN
    assert "TSHIRT-BLK-M" in caught.value.detail
    assert len(transport.requests) == 1


def test_other_refusal_is_warehouse_rejected_with_the_message() -> None:
    # Given Scend refuses for a reason we do not recognise
    message = "Courier Service 'Carrier Pigeon' is not valid for this client"
    transport = Transport(refused(message))
    # When we create / Then the refusal keeps Scend's words
    with pytest.raises(PermanentError) as caught:
        make_client(transport).create_order(card_order(), REFERENCE, "Carrier Pigeon")
    assert caught.value.reason is ReasonCode.WAREHOUSE_REJECTED
    assert caught.value.detail == message


def test_bad_request_is_warehouse_rejected() -> None:
    # Given Scend answers 400 to a malformed body
    transport = Transport(httpx.Response(400, json={"Message": "The request is invalid."}))
    # When we create / Then it is permanent, with no retry
    with pytest.raises(PermanentError) as caught:
        make_client(transport).create_order(card_order(), REFERENCE, "Royal Mail Tracked 48")
    assert caught.value.reason is ReasonCode.WAREHOUSE_REJECTED
    assert len(transport.requests) == 1


# -- transport behaviour ------------------------------------------------------------------------


def test_cloudflare_429_is_retried_after_at_least_five_virtual_seconds() -> None:
    # Given Cloudflare throttles once with Retry-After: 0 and an HTML page
    clock = VirtualClock()
    transport = Transport(
        httpx.Response(429, content=CLOUDFLARE_PAGE, headers={"Retry-After": "0", "Content-Type": "text/html"}),
        httpx.Response(200, json=event("scend_create_order_response.json")),
    )
    client = make_client(transport, clock)
    # When we create the order
    ref = client.create_order(card_order(), REFERENCE, "Royal Mail Tracked 48")
    # Then it succeeds after waiting at least 5 s of virtual time, not the 0 s Cloudflare suggested
    assert ref.warehouse_order_id == "184467"
    assert clock.slept >= 5.0
    assert (client.stats.calls, client.stats.throttled, client.stats.retries) == (2, 1, 1)


def test_persistent_throttling_escapes_as_rate_limited() -> None:
    # Given Cloudflare throttles every call
    clock = VirtualClock()
    transport = Transport(httpx.Response(429, content=CLOUDFLARE_PAGE, headers={"Retry-After": "0"}))
    # When we search / Then after max_attempts the throttle escapes for SQS to redeliver later
    with pytest.raises(RateLimitedError):
        make_client(transport, clock).find_order(REFERENCE)
    assert len(transport.requests) == 3
    assert clock.slept >= 10.0


def test_server_errors_are_retried_then_transient_after_max_attempts() -> None:
    # Given Scend keeps failing with 503
    transport = Transport(httpx.Response(503, text="Service Unavailable"))
    # When we search / Then exactly max_attempts calls are made before a TransientError
    with pytest.raises(TransientError):
        make_client(transport, max_attempts=4).find_order(REFERENCE)
    assert len(transport.requests) == 4


def test_server_error_then_success_recovers() -> None:
    # Given one 500 and then an answer
    transport = Transport(
        httpx.Response(500, json={"Message": "An error has occurred."}),
        httpx.Response(200, json=event("scend_order_search.json")),
    )
    # When we search / Then the retry answers
    ref = make_client(transport).find_order(REFERENCE)
    assert ref is not None and ref.warehouse_order_id == "184467"
    assert len(transport.requests) == 2


def test_refused_api_key_is_an_auth_error_without_retry() -> None:
    # Given the key is wrong or expired
    transport = Transport(httpx.Response(401, json={"Message": "Authorization has been denied for this request."}))
    # When we call / Then AuthError, after a single call
    with pytest.raises(AuthError):
        make_client(transport).find_order(REFERENCE)
    assert len(transport.requests) == 1


def test_non_json_success_body_is_transient() -> None:
    # Given a proxy answers 200 with an HTML page
    transport = Transport(
        httpx.Response(200, content=b"<html><body>Please wait...</body></html>", headers={"Content-Type": "text/html"})
    )
    # When we search / Then it is retried and escapes as transient, never parsed as "no order"
    with pytest.raises(TransientError):
        make_client(transport).find_order(REFERENCE)
    assert len(transport.requests) == 3


# -- reads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected_id"),
    [
        ("BRANDA-100045", "184467"),  # exact row, listed after a partial match
        ("BRANDA-10004", None),  # only partial matches
        ("branda-100045", None),  # case differs
    ],
)
def test_find_order_counts_exact_order_numbers_only(reference: str, expected_id: str | None) -> None:
    # Given a search answer holding partial matches around the exact one
    transport = Transport(httpx.Response(200, json=event("scend_order_search.json")))
    # When we look a reference up
    ref = make_client(transport).find_order(reference)
    # Then only an exact OrderNumber counts
    assert (ref.warehouse_order_id if ref else None) == expected_id
    if ref:
        assert ref.created is False and ref.client_reference == reference


def test_find_order_treats_404_as_absent() -> None:
    # Given a search that answers 404 for no rows
    transport = Transport(httpx.Response(404, json={"Message": "No orders found"}))
    # When we look up / Then the order is simply not there
    assert make_client(transport).find_order(REFERENCE) is None


def test_known_skus_matches_exact_case_with_one_search_per_distinct_sku() -> None:
    # Given a partial, case-insensitive product search
    catalogue = ["TSHIRT-BLK-M", "TSHIRT-BLK-M-2", "MUG-WHT-11OZ"]

    def search(request: httpx.Request) -> httpx.Response:
        text = request.url.params["Search"].lower()
        return httpx.Response(
            200, json=[{"ID": i, "SKU": sku, "Name": sku} for i, sku in enumerate(catalogue) if text in sku.lower()]
        )

    transport = Transport(search)
    # When we ask about exact, wrong-case, partial and repeated SKUs
    known = make_client(transport).known_skus(["TSHIRT-BLK-M", "tshirt-blk-m", "MUG", "TSHIRT-BLK-M", " "])
    # Then only the exact spelling is known, at one call per distinct non-blank SKU
    assert known == {"TSHIRT-BLK-M"}
    assert [r.url.params["Search"] for r in transport.requests] == ["TSHIRT-BLK-M", "tshirt-blk-m", "MUG"]
    assert all(r.url.path == "/api/Product/Search" for r in transport.requests)


def test_order_status_carries_scends_own_code_and_the_neutral_status() -> None:
    # Given an order that has been despatched (OrderStatusId 4)
    transport = Transport(httpx.Response(200, json={"ID": 184467, "OrderNumber": REFERENCE, "OrderStatusId": 4}))
    # When we read its status / Then Scend's code and name travel with the neutral "despatched"
    status = make_client(transport).order_status("184467")
    assert (status.code, status.name, status.status) == ("4", "Despatched", "despatched")
    assert transport.requests[0].url.path == "/api/Order/184467"


def test_order_status_of_unknown_order_is_not_found() -> None:
    # Given Scend has no such order
    transport = Transport(httpx.Response(404, json={"Message": "Order not found"}))
    # When we read / Then NotFoundError
    with pytest.raises(NotFoundError):
        make_client(transport).order_status("999999")


def test_unexpected_search_shape_is_permanent_payload_invalid() -> None:
    # Given a search answer without the fields we rely on
    transport = Transport(httpx.Response(200, json=[{"Reference": REFERENCE}]))
    # When we search / Then the problem is named rather than read as "no order"
    with pytest.raises(PermanentError) as caught:
        make_client(transport).find_order(REFERENCE)
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID


def test_the_state_listing_is_one_page_of_orders_changed_in_this_client_and_warehouse() -> None:
    # Given two orders changed since 07:55, one cancelled
    rows = [
        {"ID": 1, "OrderNumber": "EXA-1", "OrderStatusId": 1, "LastUpdated": "2026-11-23T08:00:00"},
        {"ID": 2, "OrderNumber": "EXA-2", "OrderStatusId": 3, "LastUpdated": "2026-11-23T08:05:00"},
    ]
    transport = Transport(httpx.Response(200, json=rows))
    # When the monitor lists them
    states = make_client(transport).order_states_since(datetime(2026, 11, 23, 7, 55, tzinfo=UTC))
    # Then one call of the largest page in our client and warehouse, each order with its status and last change
    assert len(transport.requests) == 1
    params = transport.requests[0].url.params
    assert transport.requests[0].url.path == "/api/Order/List"
    assert dict(params) == {
        "SinceLastUpdated": "2026-11-23T07:55:00",
        "Limit": "100",
        "PageNo": "1",
        "ClientId": "27",
        "WarehouseId": "3",
    }
    assert [(s.warehouse_order_id, s.client_reference, s.status) for s in states] == [
        ("1", "EXA-1", "new"),
        ("2", "EXA-2", "cancelled"),
    ]
    assert states[1].updated_at == datetime(2026, 11, 23, 8, 5, tzinfo=UTC)


def test_a_state_listing_that_is_not_an_array_is_payload_invalid() -> None:
    transport = Transport(httpx.Response(200, json={"Message": "odd"}))
    with pytest.raises(PermanentError) as caught:
        make_client(transport).order_states_since(datetime(2026, 11, 23, tzinfo=UTC))
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID
