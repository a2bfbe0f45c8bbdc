"""Postcode formats per country: the shapes carriers accept, checked before an order travels.

Patterns follow each postal operator's published format; a country without a pattern accepts any
non-empty postcode (validation then relies on the warehouse). Sources: Royal Mail PAF format guide (GB),
Eircode routing key + unique identifier (IE), USPS ZIP/ZIP+4 (US), Australia Post (AU), NZ Post (NZ).
"""

from __future__ import annotations

import re

_PATTERNS: dict[str, re.Pattern[str]] = {
    # GB: outward code (A9, A99, A9A, AA9, AA99, AA9A) + space + inward code (9AA); GIR 0AA is special.
    "GB": re.compile(
        r"^(GIR ?0AA|[A-PR-UWYZ]([0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRVWXY]?) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
    ),
    "IE": re.compile(r"^[AC-FHKNPRTV-Y][0-9]{2}W? ?[0-9AC-FHKNPRTV-Y]{4}$"),
    "US": re.compile(r"^[0-9]{5}(-[0-9]{4})?$"),
    "AU": re.compile(r"^[0-9]{4}$"),
    "NZ": re.compile(r"^[0-9]{4}$"),
    "DE": re.compile(r"^[0-9]{5}$"),
    "FR": re.compile(r"^[0-9]{5}$"),
    "NL": re.compile(r"^[1-9][0-9]{3} ?[A-Z]{2}$"),
    "CA": re.compile(r"^[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] ?[0-9][ABCEGHJ-NPRSTV-Z][0-9]$"),
}

# Countries whose addresses legitimately have no postcode (Ireland before Eircode is not one of them).
NO_POSTCODE: frozenset[str] = frozenset({"HK", "AE", "QA"})


def normalise_postcode(postcode: str) -> str:
    return " ".join(postcode.upper().split())


def postcode_valid(country: str, postcode: str) -> bool:
    """True when the postcode has the country's format (case and spacing forgiven)."""
    value = normalise_postcode(postcode)
    if not value:
        return country in NO_POSTCODE
    pattern = _PATTERNS.get(country)
    return bool(pattern.match(value)) if pattern else True
