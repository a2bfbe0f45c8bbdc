"""Whether a SKU may travel: the warehouse's rule for how a SKU is spelt.

Its own module because the product sync and the SKU checks of the source connectors ask it too, without
the release decision around it (its models, the postcode tables, the order models).
"""

from __future__ import annotations

import re

# Mirrors the warehouse house rule (../platforms/scend.md §3.7): the SKU travels exactly as the master
# spells it; reject leading/trailing/inner whitespace, control characters, or more than 50 characters.
_SKU = re.compile(r"^[\x21-\x7e\u00a0-\uffff]{1,50}$")


def sku_format_problem(sku: str) -> str | None:
    """Why a SKU may not travel, or None when it may."""
    if not sku:
        return "empty SKU"
    if sku != sku.strip():
        return f"SKU {sku!r} has leading or trailing whitespace"
    if not _SKU.match(sku):
        if len(sku) > 50:
            return f"SKU {sku!r} is longer than 50 characters"
        return f"SKU {sku!r} contains whitespace or control characters"
    return None
