"""Personal data never reaches the logs: addresses, emails, phone numbers and names are redacted.

The payload archive keeps the full payloads (encrypted, with retention); logs are read by more people
and kept elsewhere, so every log line a hop writes goes through `RedactingFormatter`.

Powertools' data masking utility is not used: it masks known JSON paths of one document and needs
the `datamasking` extra (jsonpath-ng) in the Lambda layer, while a log line is free text plus
arbitrary `extra` keys. Redaction here is by key name (anywhere in the structure) and by pattern
(emails, phone numbers, UK/Irish postcodes) in every string value.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED = "[redacted]"

# Keys whose values are personal data wherever they appear (compared lower-case, without _ - and spaces).
SENSITIVE_KEYS = frozenset({
    "address", "address1", "address2", "address3", "line1", "line2", "line3", "street", "addressline",
    "deliveryaddress", "shippingaddress", "billingaddress", "shippingaddressline", "postcode", "postalcode",
    "zip", "zipcode", "city", "town", "county", "suburb", "contact", "contactname", "firstname", "lastname",
    "fullname", "customername", "customer", "recipient", "company", "companyname", "email", "emailaddress",
    "phone", "phonenumber", "mobile", "telephone", "tel",
})
# Powertools' own keys: never rewritten (an account id in an ARN is not a phone number).
_METADATA_KEYS = frozenset({
    "timestamp", "level", "location", "service", "xray_trace_id", "function_arn", "function_request_id",
    "function_name", "function_memory_size", "cold_start", "sampling_rate", "correlation_id",
})
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # International (+44 ...) or national (0...) numbers of 10-13 digits with optional spaces/dashes.
    (re.compile(r"(?<![\w.:/-])(?:\+\d{1,3}[\s-]?(?:\(0\)\s?)?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w:/-])"),
     "[phone]"),
    # UK postcode (outward + inward) and Irish Eircode (routing key + unique identifier).
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"), "[postcode]"),
    (re.compile(r"\b[AC-FHKNPRTV-Y]\d{2}\s?[AC-FHKNPRTV-Y\d]{4}\b"), "[postcode]"),
)


def _normal(key: str) -> str:
    return re.sub(r"[\s_-]", "", key).lower()


def redact_text(text: str) -> str:
    """Emails, phone numbers and postcodes in free text replaced by placeholders."""
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def redact(value: Any) -> Any:
    """A copy of `value` with sensitive keys' values replaced and patterns scrubbed from every string."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: (REDACTED if isinstance(key, str) and _normal(key) in SENSITIVE_KEYS and item not in (None, "")
                      else redact(item)) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON log line, redacted just before it is written."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        metadata = {key: value for key, value in log.items() if key in _METADATA_KEYS}
        cleaned = redact({key: value for key, value in log.items() if key not in _METADATA_KEYS})
        return super().serialize({**metadata, **cleaned})


def hop_logger(**kwargs: Any) -> Logger:
    """The Logger every handler uses: Powertools structured logs through the redacting formatter.

    Child loggers (`Logger(child=True)` in shared/steps) write through this logger's handler, so
    their lines are redacted too.
    """
    return Logger(logger_formatter=RedactingFormatter(), **kwargs)
