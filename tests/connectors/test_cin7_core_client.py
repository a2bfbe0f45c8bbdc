"""Cin7CoreClient against an httpx mock transport: paging, throttling, errors in 200 bodies, retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.cin7_core import RULES, Cin7CoreClient
from shared.connectors.cin7_core.order_target import Cin7CoreConnector
from shared.connectors.http import Disposition, classify
from shared.errors import AuthError, NotFoundError, PermanentError, RateLimitedError, TransientError
from shared.models import ReasonCode

EVENTS = Path(__file__).resolve().parent.parent / "events"
BASE_URL = "https://inventory.dearsystems.test/ExternalApi/v2/"
ACCOUNT_ID = "704ef231-cd93-49c9-a201-26b4b5d0d35b"
APPLICATION_KEY = "0342a546-e0c2-0dff-f0be-6a5e17154033"
SALE_ID = "3f6b2a9c-5d14-4e8b-9a27-c1e0f4d8b317"
RETRY = RetryConfig(max_attempts=3, base_delay_seconds=1, max_delay_seconds=20)

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def sale_json() -> dict[str, Any]:
    return json.loads((EVENTS / "cin7_sale.json").read_text())


class Transport:
    """Answers each request with the next scripted response (the last one repeats) and records requests."""

    def __init__(self, *answers: Answer):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return answer(request) if callable(answer) else answer


def make_client(transport: Transport, clock: VirtualClock, **options: Any) -> Cin7CoreClient:
    http = httpx.Client(transport=httpx.MockTransport(transport))
    return Cin7CoreClient(BASE_URL, ACCOUNT_ID, APPLICATION_KEY, retry=RETRY, clock=clock, http=http, **options)


def error_body(code: int, message: str = "error") -> list[dict[str, Any]]:
    return [{"ErrorCode": code, "Exception": message}]


# -- classification table -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (200, json.dumps({"ID": SALE_ID}).encode(), Disposition.OK),
        (204, b"", Disposition.OK),
        (200, json.dumps(error_body(503, "60 calls per minute")).encode(), Disposition.RATE_LIMITED),
        (200, json.dumps({"ErrorCode": "429", "Exception": "Too many"}).encode(), Disposition.RATE_LIMITED),
        (200, json.dumps(error_body(404, "Sale not found")).encode(), Disposition.NOT_FOUND),
        (200, json.dumps(error_body(403, "Incorrect credentials")).encode(), Disposition.AUTH),
        (200, json.dumps(error_body(400, "Quantity must be 1 or more")).encode(), Disposition.PERMANENT),
        (200, json.dumps([{"Note": "x"}, {"ErrorCode": 500, "Exception": "oops"}]).encode(), Disposition.PERMANENT),
        (200, json.dumps({"ErrorCode": None}).encode(), Disposition.PERMANENT),
        (200, b"<html>ErrorCode page from a proxy</html>", Disposition.OK),
        (200, json.dumps({"Note": "customer asked about ErrorCode 503"}).encode(), Disposition.OK),
        (503, json.dumps(error_body(503, "60 calls per minute")).encode(), Disposition.RATE_LIMITED),
        (429, b"", Disposition.RATE_LIMITED),
        (401, b"", Disposition.AUTH),
        (403, json.dumps(error_body(403)).encode(), Disposition.AUTH),
        (404, b"", Disposition.NOT_FOUND),
        (408, b"", Disposition.RETRY),
        (500, b"", Disposition.RETRY),
        (502, b"<html>502 Bad Gateway</html>", Disposition.RETRY),
        (400, json.dumps(error_body(400)).encode(), Disposition.PERMANENT),
        (405, b"", Disposition.PERMANENT),
        (302, b"", Disposition.PERMANENT),
    ],
)
def test_classification_table(status: int, content: bytes, expected: Disposition) -> None:
    # Given a response as Cin7 (or something in front of it) might send
    response = httpx.Response(status, content=content, request=httpx.Request("GET", BASE_URL + "sale"))
    # When the table classifies it
    rule = classify(response, RULES)
    # Then the disposition is the one the reference card implies
    assert rule.disposition is expected
    if expected is Disposition.PERMANENT:
        assert rule.reason is ReasonCode.SOURCE_REJECTED


# -- reading sales ---------------------------------------------------------------------------------


def test_fetch_order_is_one_call_with_auth_headers(clock: VirtualClock) -> None:
    # Given Cin7 returns a full sale
    transport = Transport(httpx.Response(200, json=sale_json()))
    client = make_client(transport, clock)
    # When the order is fetched
    order = client.fetch_order(SALE_ID)
    # Then exactly one GET sale?ID= was made, carrying both auth headers
    assert len(transport.requests) == 1
    request = transport.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/ExternalApi/v2/sale"
    assert request.url.params["ID"] == SALE_ID
    assert request.headers["api-auth-accountid"] == ACCOUNT_ID
    assert request.headers["api-auth-applicationkey"] == APPLICATION_KEY
    assert order.order_number == "SO-00417"
    assert order.total == Decimal("69.95")
    assert client.stats.calls == 1


def test_get_sale_returns_the_raw_json_for_archiving(clock: VirtualClock) -> None:
    # Given Cin7 returns a full sale
    transport = Transport(httpx.Response(200, json=sale_json()))
    # When the raw sale is read
    raw = make_client(transport, clock).get_sale(SALE_ID)
    # Then it is the body as sent, including fields the mapping ignores
    assert raw == sale_json()


def test_a_response_for_another_sale_is_refused(clock: VirtualClock) -> None:
    # Given Cin7 answers with a different sale than asked for
    transport = Transport(httpx.Response(200, json={**sale_json(), "ID": "00000000-0000-4000-8000-000000000001"}))
    # When the sale is read / Then it is refused as an invalid payload
    with pytest.raises(PermanentError) as caught:
        make_client(transport, clock).get_sale(SALE_ID)
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID


def test_changes_are_paged_by_total_and_limit(clock: VirtualClock) -> None:
    # Given 5 authorised sales changed since the window start, served 2 per page
    rows = [
        {
            "SaleID": f"00000000-0000-4000-8000-00000000000{n}",
            "OrderNumber": f"SO-0{n}",
            "Status": "ORDERED",
            "OrderStatus": "AUTHORISED",
            "Updated": f"2026-11-23T08:0{n}:00.000Z",
        }
        for n in range(1, 6)
    ]

    def page(request: httpx.Request) -> httpx.Response:
        number, limit = int(request.url.params["page"]), int(request.url.params["limit"])
        return httpx.Response(
            200, json={"Total": 5, "Page": number, "SaleList": rows[(number - 1) * limit : number * limit]}
        )

    transport = Transport(page)
    client = make_client(transport, clock, page_limit=2)
    # When the changes since 07:55 are listed
    changes = list(client.orders_changed_since(datetime(2026, 11, 23, 7, 55, tzinfo=UTC)))
    # Then three pages were read (ceil(5 / 2)) with Cin7's filters, and every sale came back in order;
    # the paging parameters are spelled as the card writes them, page and limit
    assert [int(r.url.params["page"]) for r in transport.requests] == [1, 2, 3]
    for request in transport.requests:
        assert request.url.path == "/ExternalApi/v2/saleList"
        assert request.url.params["limit"] == "2"
        assert "Page" not in request.url.params and "Limit" not in request.url.params
        assert request.url.params["UpdatedSince"] == "2026-11-23T07:55:00"
        assert request.url.params["OrderStatus"] == "AUTHORISED"
    assert [c.order_number for c in changes] == ["SO-01", "SO-02", "SO-03", "SO-04", "SO-05"]
    assert changes[0].updated_at == datetime(2026, 11, 23, 8, 1, tzinfo=UTC)


def test_one_unfiltered_listing_names_ready_voided_and_other_sales(clock: VirtualClock) -> None:
    # Given sales changed since 07:55: one authorised, one voided, one a draft, one backordered
    rows = [
        {
            "SaleID": f"00000000-0000-4000-8000-00000000000{n}",
            "OrderNumber": f"SO-0{n}",
            "Status": status,
            "OrderStatus": order_status,
            "Updated": f"2026-11-23T08:0{n}:00.000Z",
        }
        for n, (status, order_status) in enumerate(
            [("ORDERED", "AUTHORISED"), ("VOIDED", "VOIDED"), ("DRAFT", "DRAFT"), ("BACKORDERED", "AUTHORISED")],
            start=1,
        )
    ]
    transport = Transport(httpx.Response(200, json={"Total": 4, "Page": 1, "SaleList": rows}))
    # When the combined listing is read
    changes = list(make_client(transport, clock).changes_since(datetime(2026, 11, 23, 7, 55, tzinfo=UTC)))
    # Then one call, no status filter, and each row says where it goes (intake decides on backorders)
    assert len(transport.requests) == 1
    params = transport.requests[0].url.params
    assert params["UpdatedSince"] == "2026-11-23T07:55:00"
    assert not any(key.lower().endswith("status") for key in params)
    assert [(c.change.order_number, c.kind.value) for c in changes] == [
        ("SO-01", "ready"),
        ("SO-02", "cancelled"),
        ("SO-03", "other"),
        ("SO-04", "ready"),
    ]


def test_one_page_of_changes_is_one_call(clock: VirtualClock) -> None:
    # Given nothing changed
    transport = Transport(httpx.Response(200, json={"Total": 0, "Page": 1, "SaleList": []}))
    # When the changes are listed
    changes = list(make_client(transport, clock).orders_changed_since(datetime(2026, 11, 23, tzinfo=UTC)))
    # Then one call sufficed
    assert changes == []
    assert len(transport.requests) == 1


def test_updated_since_is_sent_in_utc(clock: VirtualClock) -> None:
    # Given a window start in another time zone
    transport = Transport(httpx.Response(200, json={"Total": 0, "Page": 1, "SaleList": []}))
    since = datetime(2026, 11, 23, 10, 30, 15, 999000, tzinfo=timezone(timedelta(hours=2)))
    # When the changes are listed
    list(make_client(transport, clock).orders_changed_since(since))
    # Then UpdatedSince is the same instant in UTC, yyyy-MM-ddTHH:mm:ss
    assert transport.requests[0].url.params["UpdatedSince"] == "2026-11-23T08:30:15"


def test_a_sale_seen_twice_while_paging_is_yielded_once(clock: VirtualClock) -> None:
    # Given a sale that moved from page 1 to page 2 while we paged (it was updated meanwhile)
    row = {"SaleID": SALE_ID, "OrderNumber": "SO-1", "Status": "ORDERED", "Updated": "2026-11-23T08:00:00Z"}
    transport = Transport(
        httpx.Response(200, json={"Total": 2, "Page": 1, "SaleList": [row]}),
        httpx.Response(200, json={"Total": 2, "Page": 2, "SaleList": [row | {"Updated": "2026-11-23T08:05:00"}]}),
    )
    # When the changes are listed one per page
    changes = list(make_client(transport, clock, page_limit=1).orders_changed_since(clock.now()))
    # Then it is yielded once
    assert [c.source_id for c in changes] == [SALE_ID]


def test_page_limit_outside_cin7_range_is_refused(clock: VirtualClock) -> None:
    # Given / When a page size Cin7 does not accept / Then construction fails
    with pytest.raises(ValueError, match="1-1000"):
        make_client(Transport(httpx.Response(200)), clock, page_limit=1001)


# -- throttling and retries -------------------------------------------------------------------------


def test_503_throttle_is_retried_after_at_least_five_seconds(clock: VirtualClock) -> None:
    # Given Cin7 answers 503 "60 calls per minute" once, then the sale
    transport = Transport(
        httpx.Response(503, json=error_body(503, "60 calls per minute")),
        httpx.Response(200, json=sale_json()),
    )
    client = make_client(transport, clock)
    # When the order is fetched
    order = client.fetch_order(SALE_ID)
    # Then it was retried after Cin7's minimum wait, on the virtual clock
    assert order.source_id == SALE_ID
    assert len(transport.requests) == 2
    assert clock.slept >= 5.0
    assert (client.stats.throttled, client.stats.retries) == (1, 1)


def test_throttle_reported_inside_a_200_body_is_retried(clock: VirtualClock) -> None:
    # Given Cin7 reports the limit inside an HTTP 200, then serves the sale
    transport = Transport(
        httpx.Response(200, json=error_body(503, "60 calls per minute")),
        httpx.Response(200, json=sale_json()),
    )
    client = make_client(transport, clock)
    # When the order is fetched
    client.fetch_order(SALE_ID)
    # Then the error body was treated as throttling
    assert len(transport.requests) == 2
    assert clock.slept >= 5.0
    assert client.stats.throttled == 1


def test_429_retry_after_is_honoured(clock: VirtualClock) -> None:
    # Given a 429 asking for 12 seconds, then the sale
    transport = Transport(
        httpx.Response(429, headers={"Retry-After": "12"}),
        httpx.Response(200, json=sale_json()),
    )
    # When the order is fetched
    make_client(transport, clock).fetch_order(SALE_ID)
    # Then the client waited exactly what Cin7 asked (more than the 5 s floor, less than the 20 s cap)
    assert clock.slept == pytest.approx(12.0)
    assert len(transport.requests) == 2


def test_throttling_that_never_ends_escapes_as_rate_limited(clock: VirtualClock) -> None:
    # Given Cin7 keeps answering 503
    transport = Transport(httpx.Response(503, json=error_body(503, "60 calls per minute")))
    # When the order is fetched / Then the throttle escapes after the configured attempts
    with pytest.raises(RateLimitedError):
        make_client(transport, clock).fetch_order(SALE_ID)
    assert len(transport.requests) == RETRY.max_attempts


def test_502_every_time_is_transient_after_exactly_max_attempts(clock: VirtualClock) -> None:
    # Given a gateway that keeps failing
    transport = Transport(httpx.Response(502, content=b"<html>502 Bad Gateway</html>"))
    # When the order is fetched
    with pytest.raises(TransientError) as caught:
        make_client(transport, clock).fetch_order(SALE_ID)
    # Then it gave up after exactly max_attempts calls, leaving the retry to SQS
    assert len(transport.requests) == RETRY.max_attempts
    assert not isinstance(caught.value, RateLimitedError)
    assert caught.value.status == 502


def test_non_json_200_is_transient(clock: VirtualClock) -> None:
    # Given a proxy page served with HTTP 200
    transport = Transport(httpx.Response(200, content=b"<html><body>Please wait...</body></html>"))
    # When the order is fetched / Then the error is transient, so the message is retried later
    with pytest.raises(TransientError, match="non-JSON"):
        make_client(transport, clock).fetch_order(SALE_ID)


# -- permanent answers -------------------------------------------------------------------------------


def test_error_inside_200_is_rejected_without_retry(clock: VirtualClock) -> None:
    # Given Cin7 refuses the request inside an HTTP 200
    transport = Transport(httpx.Response(200, json=error_body(400, "ID is not a valid Guid")))
    # When the order is fetched
    with pytest.raises(PermanentError) as caught:
        make_client(transport, clock).fetch_order(SALE_ID)
    # Then it is a permanent refusal with Cin7's text, not retried
    assert caught.value.reason is ReasonCode.SOURCE_REJECTED
    assert "not a valid Guid" in caught.value.detail
    assert len(transport.requests) == 1


def test_not_found_inside_200_is_not_found(clock: VirtualClock) -> None:
    # Given Cin7 reports a missing sale inside an HTTP 200
    transport = Transport(httpx.Response(200, json=error_body(404, "Sale not found")))
    # When the order is fetched / Then it is NotFoundError, once
    with pytest.raises(NotFoundError) as caught:
        make_client(transport, clock).fetch_order(SALE_ID)
    assert caught.value.reason is ReasonCode.SOURCE_NOT_FOUND
    assert len(transport.requests) == 1


def test_400_is_permanent_after_one_call(clock: VirtualClock) -> None:
    # Given Cin7 answers 400
    transport = Transport(httpx.Response(400, json=error_body(400, "Limit must be between 1 and 1000")))
    # When the changes are listed
    with pytest.raises(PermanentError) as caught:
        list(make_client(transport, clock).orders_changed_since(clock.now()))
    # Then exactly one call was made and the reason says the source refused
    assert len(transport.requests) == 1
    assert caught.value.reason is ReasonCode.SOURCE_REJECTED
    assert caught.value.status == 400


def test_403_is_an_auth_error(clock: VirtualClock) -> None:
    # Given wrong keys
    transport = Transport(httpx.Response(403, json=error_body(403, "Incorrect credentials!")))
    # When the order is fetched / Then AuthError, not retried
    with pytest.raises(AuthError):
        make_client(transport, clock).fetch_order(SALE_ID)
    assert len(transport.requests) == 1


def test_a_malformed_sale_list_is_payload_invalid(clock: VirtualClock) -> None:
    # Given a saleList page without Total
    transport = Transport(httpx.Response(200, json={"SaleList": []}))
    # When the changes are listed / Then the page is refused naming the field
    with pytest.raises(PermanentError, match="Total") as caught:
        list(make_client(transport, clock).orders_changed_since(clock.now()))
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID


def test_the_state_listing_is_one_page_of_a_thousand_read_as_get_sale_reads_a_stage(clock: VirtualClock) -> None:
    # Given 1,500 sales changed since 07:55, the first page holding one ordered, one shipped and one voided sale
    rows = [
        {
            "SaleID": f"00000000-0000-4000-8000-00000000000{n}".upper(),
            "Status": status,
            "OrderStatus": "AUTHORISED",
            "CombinedShippingStatus": shipping,
            "ExternalID": f"EXA-{n}",
            "Updated": "2026-11-23T08:00:00Z",
        }
        for n, (status, shipping) in enumerate(
            [("ORDERED", "NOT SHIPPED"), ("ORDERED", "SHIPPED"), ("VOIDED", "NOT SHIPPED")], start=1
        )
    ]
    transport = Transport(httpx.Response(200, json={"Total": 1500, "Page": 1, "SaleList": rows}))
    http = httpx.Client(transport=httpx.MockTransport(transport))
    client = Cin7CoreConnector(BASE_URL, ACCOUNT_ID, APPLICATION_KEY, retry=RETRY, clock=clock, http=http)
    # When the monitor lists them
    states = client.order_states_since(datetime(2026, 11, 23, 7, 55, tzinfo=UTC))
    # Then one call of the card's largest page, not a second page; ids as the ledger holds them (lower case)
    assert len(transport.requests) == 1
    params = transport.requests[0].url.params
    assert (params["UpdatedSince"], params["limit"], params["page"]) == ("2026-11-23T07:55:00", "1000", "1")
    assert [(s.warehouse_order_id[-1], s.client_reference, s.status) for s in states] == [
        ("1", "EXA-1", "new"),
        ("2", "EXA-2", "despatched"),
        ("3", "EXA-3", "cancelled"),
    ]
    assert states[0].warehouse_order_id == rows[0]["SaleID"].lower()
