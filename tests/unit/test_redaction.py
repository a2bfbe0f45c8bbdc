"""Personal data never reaches a log line: the handlers' logger redacts it, child loggers included."""

from __future__ import annotations

import importlib
import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from shared import topology
from shared.redaction import RedactingFormatter, redact, redact_text


def test_free_text_loses_emails_phones_and_postcodes_but_keeps_order_facts() -> None:
    text = (
        "order SO-10001 (sku TEE-BLK-M, warehouse 184467) for jo.smith@example.com, call +44 7700 900123 "
        "or 0113 496 0000, deliver to LS1 1AA or D02 X285 at 2026-11-23T08:00:00+00:00"
    )
    cleaned = redact_text(text)
    for secret in ("jo.smith@example.com", "7700 900123", "0113 496 0000", "LS1 1AA", "D02 X285"):
        assert secret not in cleaned
    for kept in ("SO-10001", "TEE-BLK-M", "184467", "2026-11-23T08:00:00+00:00"):
        assert kept in cleaned


def test_sensitive_keys_are_redacted_at_any_depth() -> None:
    value = {
        "order_key": "cin7_core#abc",
        "shipping": {"Line1": "1 High Street", "City": "Leeds", "Contact": "Jo Smith", "Country": "GB"},
        "lines": [{"sku": "TEE-BLK-M", "quantity": 2}],
        "first_name": "Jo",
        "Email": "jo@example.com",
    }
    cleaned = redact(value)
    assert cleaned["order_key"] == "cin7_core#abc"
    assert cleaned["shipping"] == {
        "Line1": "[redacted]",
        "City": "[redacted]",
        "Contact": "[redacted]",
        "Country": "GB",
    }
    assert cleaned["lines"] == [{"sku": "TEE-BLK-M", "quantity": 2}]
    assert cleaned["first_name"] == "[redacted]" and cleaned["Email"] == "[redacted]"


def test_a_log_line_with_an_orders_address_email_and_phone_comes_out_redacted() -> None:
    # Given a handler logger with the redacting formatter and a child logger as the steps use
    stream = io.StringIO()
    parent = Logger(
        service="redaction-test",
        logger_formatter=RedactingFormatter(),
        logger_handler=logging.StreamHandler(stream),
        level="INFO",
    )
    child = Logger(service="redaction-test", child=True)
    address = {"Line1": "22 Mill Lane", "City": "Bristol", "Postcode": "BS1 4DJ", "Contact": "Sam Patel"}
    # When both log an order's personal data, in the message and in extra keys (error: the suite logs at ERROR)
    parent.info("order quarantined for sam.patel@example.com", extra={"address": address, "phone": "07700 900456"})
    child.error(
        "parcel for 07700 900456 at BS1 4DJ", extra={"order": {"shipping_address": address, "order_number": "SO-7"}}
    )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    # Then neither line carries any of it, and the order's own facts remain
    assert len(lines) == 2
    raw = stream.getvalue()
    for secret in ("sam.patel@example.com", "22 Mill Lane", "Bristol", "BS1 4DJ", "Sam Patel", "07700 900456"):
        assert secret not in raw
    assert lines[0]["message"] == "order quarantined for [email]"
    assert lines[0]["address"] == "[redacted]" and lines[0]["phone"] == "[redacted]"
    assert lines[1]["order"] == {"shipping_address": "[redacted]", "order_number": "SO-7"}
    assert lines[1]["service"] == "redaction-test"


def test_every_hop_logs_through_the_redacting_formatter(fresh_handler_modules: None) -> None:
    for hop in topology.HOPS:
        module = importlib.import_module(hop.module)
        shape = getattr(module.lambda_handler, "hop", None)  # a kit-built handler carries its logger
        logger = shape.logger if shape is not None else module.logger
        assert isinstance(logger.registered_formatter, RedactingFormatter), hop.name


def test_postcodes_are_redacted_in_any_case_valid_or_only_postcode_shaped() -> None:
    for postcode in ("ZZ99 9ZZZ", "sw1a 1aa", "SW1A 1AA", "Ls1 1aa", "LS11AA", "EC1A1BB", "d02 x285"):
        assert postcode not in redact_text(f"quarantined: postcode {postcode} is not valid"), postcode


def test_phone_numbers_in_every_usual_format_are_redacted() -> None:
    for phone in (
        "(0113) 496 0000",
        "+44 113 496 0000",
        "07700 900123",
        "+447700900123",
        "0113-496-0000",
        "+44 (0)113 496 0000",
        "(020) 7946 0000",
    ):
        cleaned = redact_text(f"call {phone} before noon")
        assert phone not in cleaned and "[phone]" in cleaned, phone


def test_street_addresses_in_free_text_are_redacted() -> None:
    for street in ("22 Mill Lane", "1 High Street", "221B Baker St", "7 the old rectory road", "4 Elm Close"):
        assert street not in redact_text(f"deliver to {street}, Leeds"), street
    # while everyday words that are also street words keep a sentence readable
    assert redact_text("parcel 2 is on its way, close to 3 days") == "parcel 2 is on its way, close to 3 days"


def test_ids_timestamps_and_archive_keys_survive_redaction() -> None:
    kept = (
        "SO-10001",
        "TEE-BLK-M",
        "2026-11-23T08:00:00.000+00:00",
        "unmatched/acme/2026/11/23/20261123T080000.000-order-intake-message-ab1c2def.json",
        "cin7_core#1f0c3b2a-9d4e",
        "page 3 of 12",
    )
    for text in kept:
        assert redact_text(text) == text, text


def test_names_companies_address_lines_emails_and_phones_are_redacted_by_key() -> None:
    value = {
        "name": "Jo Smith",
        "first_name": "Jo",
        "last_name": "Smith",
        "company": "Smith & Co",
        "line1": "Flat 2",
        "line2": "The Maltings",
        "address_line_1": "Unit 4",
        "AddressLine2": "Mill Yard",
        "email": "jo@example.com",
        "phone": "0113 496 0000",
        "full_address": "Flat 2, The Maltings, Leeds",
        "delivery_instructions": "leave with number 4",
        "sku": "TEE-BLK-M",
        "country": "GB",
    }
    cleaned = redact(value)
    assert {key for key, item in cleaned.items() if item == "[redacted]"} == set(value) - {"sku", "country"}
    assert (cleaned["sku"], cleaned["country"]) == ("TEE-BLK-M", "GB")


def test_field_errors_name_the_field_and_problem_but_never_the_value() -> None:
    # Given an address whose fields have the wrong types and an unexpected extra field
    from pydantic import ValidationError

    from shared.models.order import Address
    from shared.redaction import field_errors

    bad = {
        "name": ["Jo Smith"],
        "line1": 22,
        "postcode": {"v": "sw1a 1aa"},
        "email": "jo@example.com",
        "nickname": "Jojo",
    }
    with pytest.raises(ValidationError) as raised:
        Address.model_validate(bad)
    assert "Jo Smith" in str(raised.value.errors())  # what pydantic itself would have stored
    text = field_errors(raised.value, limit=10)
    # Then each field is named with its error type, and none of the values appear
    for expected in (
        "field 'name' (string_type)",
        "field 'line1' (string_type)",
        "field 'postcode' (string_type)",
        "field 'nickname' (extra_forbidden)",
    ):
        assert expected in text, text
    for secret in ("Jo Smith", "22", "sw1a 1aa", "Jojo"):
        assert secret not in text


def test_a_connectors_stdlib_logger_writes_redacted_lines() -> None:
    # Given the Scend connector's module logger, written by a plain stdlib handler (as the Lambda runtime's)
    from shared.connectors.scend import client as scend_client

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s %(address)s"))
    scend_client.logger.addHandler(handler)
    try:
        # When it logs personal data in its arguments, its message and an extra key
        scend_client.logger.warning(
            "scend refused order for %s at %s: %s",
            "jo@example.com",
            "ZZ99 9ZZZ",
            "call (0113) 496 0000",
            extra={"address": {"line1": "22 Mill Lane"}},
        )
    finally:
        scend_client.logger.removeHandler(handler)
    # Then the line is written, with none of it
    line = stream.getvalue()
    assert line.startswith("WARNING scend refused order for [email] at [postcode]: call [phone]")
    for secret in ("jo@example.com", "ZZ99 9ZZZ", "0113", "22 Mill Lane"):
        assert secret not in line


def test_no_module_logs_through_a_bare_stdlib_logger() -> None:
    # Every logger in the package is a hop logger, a Powertools child logger or a module_logger.
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("shared", "functions", "sandbox", "cli"):
        for path in (root / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if "logging.getLogger(" in line and ".setLevel(" not in line and path.name != "redaction.py":
                    offenders.append(f"{path.relative_to(root)}:{number}")
    assert offenders == []
