"""Personal data never reaches the logs or the exception inbox: addresses, emails, phones and names are redacted.

The payload archive keeps the full payloads (encrypted, with retention); logs and the exception inbox are
read by more people and kept elsewhere, so every log line goes through redaction (`RedactingFormatter` for
the Powertools loggers, `RedactingFilter` on every stdlib logger via `module_logger`), and a validation
error is stored as field paths, error types and messages only (`field_errors`), never the values sent.

Powertools' data masking utility is not used: it masks known JSON paths of one document and needs
the `datamasking` extra (jsonpath-ng) in the Lambda layer, while a log line is free text plus
arbitrary `extra` keys. Redaction here is by key name (anywhere in the structure) and by pattern
(emails, phone numbers, UK/Irish postcodes in any case, street addresses) in every string value.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from pydantic import ValidationError

REDACTED = "[redacted]"

# Keys whose values are personal data wherever they appear (compared lower-case, without _ - and spaces).
# `name` is the recipient on an Address (a product line's name is redacted too: a small price for no gap).
SENSITIVE_KEYS = frozenset(
    {
        "address",
        "address1",
        "address2",
        "address3",
        "line1",
        "line2",
        "line3",
        "street",
        "street1",
        "street2",
        "streetaddress",
        "addressline",
        "addressline1",
        "addressline2",
        "addressline3",
        "fulladdress",
        "addresstext",
        "formattedaddress",
        "deliveryaddress",
        "shippingaddress",
        "billingaddress",
        "shippingaddressline",
        "deliveryinstructions",
        "postcode",
        "postalcode",
        "zip",
        "zipcode",
        "eircode",
        "city",
        "town",
        "county",
        "suburb",
        "contact",
        "contactname",
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "customername",
        "customer",
        "recipient",
        "recipientname",
        "deliveryname",
        "shippingname",
        "billingname",
        "company",
        "companyname",
        "email",
        "emailaddress",
        "phone",
        "phonenumber",
        "mobile",
        "mobilephone",
        "telephone",
        "tel",
    }
)
# Powertools' own keys: never rewritten (an account id in an ARN is not a phone number).
_METADATA_KEYS = frozenset(
    {
        "timestamp",
        "level",
        "location",
        "service",
        "xray_trace_id",
        "function_arn",
        "function_request_id",
        "function_name",
        "function_memory_size",
        "cold_start",
        "sampling_rate",
        "correlation_id",
    }
)
# Street words: the unambiguous ones in any case; those that are also everyday words or abbreviations
# (on its way, close to, 2 St) only capitalised, as an address writes them.
_STREET_WORDS = r"Street|Road|Lane|Avenue|Crescent|Gardens|Terrace|Grove|Square|Mews|Parade|Boulevard"
_CAPITALISED_STREET_WORDS = r"St|Rd|Ln|Ave|Close|Drive|Dr|Way|Court|Ct|Place|Pl|Cres|Hill|Sq|Row|Park|Walk|Green"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # National numbers with the area code in brackets: (0113) 496 0000, (020) 7946 0000.
    (re.compile(r"\(0\d{2,4}\)\s?\d{3,4}[\s-]?\d{3,4}(?![\w:/-])"), "[phone]"),
    # International (+44 ...) or national (0...) numbers of 10-13 digits with optional spaces/dashes.
    (
        re.compile(r"(?<![\w.:/-])(?:\+\d{1,3}[\s-]?(?:\(0\)\s?)?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w:/-])"),
        "[phone]",
    ),
    # Anything shaped like a UK postcode, valid or not (ZZ99 9ZZZ), in any case when spaced (sw1a 1aa);
    # unspaced only in capitals, so a lower-case hex id (an archive key's suffix) is not taken for one.
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2,3}\b", re.IGNORECASE), "[postcode]"),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2,3}\b"), "[postcode]"),
    # Irish Eircode (routing key + unique identifier), the same way.
    (re.compile(r"\b[AC-FHKNPRTV-Y]\d{2}\s+[AC-FHKNPRTV-Y\d]{4}\b", re.IGNORECASE), "[postcode]"),
    (re.compile(r"\b[AC-FHKNPRTV-Y]\d{2}[AC-FHKNPRTV-Y\d]{4}\b"), "[postcode]"),
    # A street address in free text: a house number, up to three words and a street word (22 Mill Lane).
    (re.compile(rf"\b\d{{1,4}}[A-Za-z]?,?\s+(?:[A-Za-z'-]+\s+){{0,3}}(?i:{_STREET_WORDS})\b\.?"), "[street]"),
    (
        re.compile(rf"\b\d{{1,4}}[A-Za-z]?,?\s+(?:[A-Za-z'-]+\s+){{0,3}}(?:{_CAPITALISED_STREET_WORDS})\b\.?"),
        "[street]",
    ),
)


def _normal(key: str) -> str:
    return re.sub(r"[\s_-]", "", key).lower()


def is_sensitive_key(key: str) -> bool:
    return _normal(key) in SENSITIVE_KEYS


def redact_text(text: str) -> str:
    """Emails, phone numbers, postcodes and street addresses in free text replaced by placeholders."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def redact(value: Any) -> Any:
    """A copy of `value` with sensitive keys' values replaced and patterns scrubbed from every string."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            key: (
                REDACTED if isinstance(key, str) and is_sensitive_key(key) and item not in (None, "") else redact(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    return value


def field_errors(error: ValidationError, limit: int = 3) -> str:
    """A validation error an operator can act on (field path, error type, message) with no value in it.

    pydantic's `errors()` carries `input` (the offending value, or the whole object) and `ctx` (which can
    echo it); both are left out, and the message is scrubbed as free text in case a validator quoted a value.
    """
    parts = []
    for item in error.errors(include_url=False, include_input=False, include_context=False)[:limit]:
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = "required field is missing" if item["type"] == "missing" else item["msg"]
        parts.append(redact_text(f"field '{field}' ({item['type']}): {message.removeprefix('Value error, ')}"))
    more = error.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class RedactingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON log line, redacted just before it is written."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        metadata = {key: value for key, value in log.items() if key in _METADATA_KEYS}
        cleaned = redact({key: value for key, value in log.items() if key not in _METADATA_KEYS})
        return super().serialize({**metadata, **cleaned})


# The attributes every LogRecord has: anything else on a record came in through `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Redacts a stdlib record in place (message, arguments, traceback text, `extra` values), so whatever
    handler writes it (the Lambda runtime's, a test's, a console's) writes no personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRIBUTES:
                setattr(record, key, REDACTED if is_sensitive_key(key) and value not in (None, "") else redact(value))
        return True


def _with_filter(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(existing, RedactingFilter) for existing in target.filters):
        target.addFilter(RedactingFilter())


def module_logger(name: str) -> logging.Logger:
    """A stdlib logger (for modules below the handlers, e.g. the connectors) whose records are redacted
    before any handler sees them: a logger's own filter runs for every record logged on it."""
    logger = logging.getLogger(name)
    _with_filter(logger)
    return logger


def hop_logger(**kwargs: Any) -> Logger:
    """The Logger every handler uses: Powertools structured logs through the redacting formatter.

    Child loggers (`Logger(child=True)` in shared/steps) write through this logger's handler, so
    their lines are redacted too. The root logger's handlers (the Lambda runtime's) get the redacting
    filter as well, for a library's record that propagates there.
    """
    for handler in logging.getLogger().handlers:
        _with_filter(handler)
    return Logger(logger_formatter=RedactingFormatter(), **kwargs)
