"""Cin7 Core webhooks: the shared-secret header check and thin sale-event parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.connectors.cin7_core.webhooks import SaleEvent, parse_sale_event, verify_shared_secret
from shared.errors import PermanentError
from shared.models import ReasonCode

EVENTS = Path(__file__).resolve().parent.parent / "events"
HEADER = "X-Hopline-Webhook-Secret"
SECRET = "s3cr3t-value-0123456789"


# -- shared secret ---------------------------------------------------------------------------------


def test_the_right_secret_is_accepted() -> None:
    # Given the header Cin7 was configured to send / When checked / Then accepted
    assert verify_shared_secret({HEADER: SECRET, "Content-Type": "application/json"}, HEADER, SECRET) is True


@pytest.mark.parametrize("name", ["x-hopline-webhook-secret", "X-HOPLINE-WEBHOOK-SECRET", "x-Hopline-Webhook-secret"])
def test_header_names_match_case_insensitively(name: str) -> None:
    # Given API Gateway lower-casing (or not) the header name / When checked / Then accepted
    assert verify_shared_secret({name: SECRET}, HEADER, SECRET) is True


@pytest.mark.parametrize(
    "headers",
    [
        {HEADER: "wrong"},
        {HEADER: SECRET + "x"},
        {HEADER: SECRET.upper()},
        {HEADER: ""},
        {"X-Other-Header": SECRET},
        {"Authorization": f"Bearer {SECRET}"},
        {},
    ],
)
def test_a_wrong_or_missing_secret_is_refused(headers: dict[str, str]) -> None:
    # Given a request without the right secret / When checked / Then refused
    assert verify_shared_secret(headers, HEADER, SECRET) is False


def test_an_empty_configured_secret_refuses_everything() -> None:
    # Given a misconfigured (empty) secret / When a request sends an empty header / Then it is still refused
    assert verify_shared_secret({HEADER: ""}, HEADER, "") is False
    assert verify_shared_secret({HEADER: "anything"}, HEADER, "") is False


def test_a_non_ascii_secret_is_compared_safely() -> None:
    # Given a secret with non-ASCII characters / When checked / Then compared as bytes without error
    assert verify_shared_secret({HEADER: "clé-secrète"}, HEADER, "clé-secrète") is True
    assert verify_shared_secret({HEADER: "cle-secrete"}, HEADER, "clé-secrète") is False


# -- event parsing ---------------------------------------------------------------------------------


def test_the_documented_order_authorised_payload_parses() -> None:
    # Given the payload Cin7 posts for Sale/OrderAuthorised
    body = (EVENTS / "cin7_webhook_order_authorised.json").read_bytes()
    # When parsed
    event = parse_sale_event(body)
    # Then the sale id is in the API's lower-case form
    assert event == SaleEvent(
        sale_id="3f6b2a9c-5d14-4e8b-9a27-c1e0f4d8b317", event_type="Sale/OrderAuthorised", order_number="SO-00417"
    )


def test_extra_keys_are_tolerated_and_str_bodies_accepted() -> None:
    # Given a Sale/Voided payload, which adds customer fields, as text
    body = json.dumps(
        {
            "SaleID": "91EE7B1D-BD35-4E43-B98A-DB86BE777624",
            "SaleOrderNumber": "SO-00044",
            "EventType": "Sale/Voided",
            "CustomerName": "DIISR",
            "CustomerContactEmail": "a@b.c",
        }
    )
    # When parsed / Then the extra keys are ignored
    assert parse_sale_event(body) == SaleEvent(
        sale_id="91ee7b1d-bd35-4e43-b98a-db86be777624", event_type="Sale/Voided", order_number="SO-00044"
    )


GUID = "91ee7b1d-bd35-4e43-b98a-db86be777624"


def test_a_byte_order_mark_is_tolerated() -> None:
    # Given a body starting with a UTF-8 BOM / When parsed / Then it parses
    body = b"\xef\xbb\xbf" + json.dumps({"SaleID": GUID.upper(), "EventType": "Sale/Backordered"}).encode()
    assert parse_sale_event(body).sale_id == GUID


def test_missing_event_type_and_order_number_are_blank() -> None:
    # Given only a SaleID / When parsed / Then the rest is blank, and an OrderNumber key is used when present
    assert parse_sale_event(f'{{"SaleID": "{GUID}"}}') == SaleEvent(sale_id=GUID)
    assert parse_sale_event(f'{{"SaleID": "{GUID}", "OrderNumber": "SO-9"}}').order_number == "SO-9"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "body is empty"),
        (b"not json", "body is not JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'[{"ID": "x", "SKU": "A", "Available": 3}]', "got an array"),
        (b'"SaleID"', "got str"),
        (b'{"SaleOrderNumber": "SO-1", "EventType": "Sale/OrderAuthorised"}', "field 'SaleID' is missing"),
        (b'{"SaleTaskID": "abc", "OrderNumber": "SO-1", "EventType": "Sale/ShipmentAuthorised"}', "SaleTaskID"),
        (b'{"SaleID": "   "}', "non-blank"),
        (b'{"SaleID": null}', "field 'SaleID' is missing"),
        (b'{"SaleID": 42}', "non-blank"),
    ],
)
def test_unusable_payloads_are_payload_invalid(body: bytes, fragment: str) -> None:
    # Given a body that does not name a sale
    # When parsed
    with pytest.raises(PermanentError) as caught:
        parse_sale_event(body)
    # Then it is PAYLOAD_INVALID with a message that says what is wrong
    assert caught.value.reason is ReasonCode.PAYLOAD_INVALID
    assert fragment in caught.value.detail
