"""Personal data never reaches a log line: the handlers' logger redacts it, child loggers included."""

from __future__ import annotations

import importlib
import io
import json
import logging

from aws_lambda_powertools import Logger

from shared import topology
from shared.redaction import RedactingFormatter, redact, redact_text


def test_free_text_loses_emails_phones_and_postcodes_but_keeps_order_facts() -> None:
    text = ("order SO-10001 (sku TEE-BLK-M, warehouse 184467) for jo.smith@example.com, call +44 7700 900123 "
            "or 0113 496 0000, deliver to LS1 1AA or D02 X285 at 2026-11-23T08:00:00+00:00")
    cleaned = redact_text(text)
    for secret in ("jo.smith@example.com", "7700 900123", "0113 496 0000", "LS1 1AA", "D02 X285"):
        assert secret not in cleaned
    for kept in ("SO-10001", "TEE-BLK-M", "184467", "2026-11-23T08:00:00+00:00"):
        assert kept in cleaned


def test_sensitive_keys_are_redacted_at_any_depth() -> None:
    value = {"order_key": "cin7_core#abc", "shipping": {"Line1": "1 High Street", "City": "Leeds",
                                                         "Contact": "Jo Smith", "Country": "GB"},
             "lines": [{"sku": "TEE-BLK-M", "quantity": 2}], "first_name": "Jo", "Email": "jo@example.com"}
    cleaned = redact(value)
    assert cleaned["order_key"] == "cin7_core#abc"
    assert cleaned["shipping"] == {"Line1": "[redacted]", "City": "[redacted]", "Contact": "[redacted]",
                                   "Country": "GB"}
    assert cleaned["lines"] == [{"sku": "TEE-BLK-M", "quantity": 2}]
    assert cleaned["first_name"] == "[redacted]" and cleaned["Email"] == "[redacted]"


def test_a_log_line_with_an_orders_address_email_and_phone_comes_out_redacted() -> None:
    # Given a handler logger with the redacting formatter and a child logger as the steps use
    stream = io.StringIO()
    parent = Logger(service="redaction-test", logger_formatter=RedactingFormatter(),
                    logger_handler=logging.StreamHandler(stream), level="INFO")
    child = Logger(service="redaction-test", child=True)
    address = {"Line1": "22 Mill Lane", "City": "Bristol", "Postcode": "BS1 4DJ", "Contact": "Sam Patel"}
    # When both log an order's personal data, in the message and in extra keys (error: the suite logs at ERROR)
    parent.info("order quarantined for sam.patel@example.com", extra={"address": address, "phone": "07700 900456"})
    child.error("parcel for 07700 900456 at BS1 4DJ", extra={"order": {"shipping_address": address,
                                                                         "order_number": "SO-7"}})
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


def test_every_hop_logs_through_the_redacting_formatter() -> None:
    for hop in topology.HOPS:
        module = importlib.import_module(hop.module)
        assert isinstance(module.logger.registered_formatter, RedactingFormatter), hop.name
