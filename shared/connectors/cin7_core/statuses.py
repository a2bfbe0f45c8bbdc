"""Cin7 Core as a cancel target: its sale's stage as a status code, and what a cancel may do at each.

Cin7 has no single fulfilment status, so the code is derived from the sale (card "Statuses" and
"Fulfilment" [V]): the furthest stage any fulfilment task has authorised. The default cut-off is pick
authorised [I]: before it the sale is voided (DELETE sale?Void=true gives the allocation back); once
picked or packed a person stops it in the warehouse (raised for operations); shipped is refused and
becomes a return. A client moves the cut-off with `platforms.<cin7>.cancel_rules` (e.g. {103: cancel}).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.models.warehouse import CancelRule, WarehouseStatusRead

ORDER, BACKORDERED, PICKED, PACKED, SHIPPED, VOIDED = 101, 102, 103, 104, 105, 106
STATUS_NAMES: dict[int, str] = {
    ORDER: "Order (not picked)",
    BACKORDERED: "Backordered",
    PICKED: "Pick authorised",
    PACKED: "Pack authorised",
    SHIPPED: "Shipped",
    VOIDED: "Voided",
}
NEUTRAL: dict[int, str] = {
    ORDER: "new",
    BACKORDERED: "backorder",
    PICKED: "picked",
    PACKED: "packed",
    SHIPPED: "despatched",
    VOIDED: "cancelled",
}
STATUS_CODES: tuple[str, ...] = tuple(str(code) for code in STATUS_NAMES)

DEFAULT_CANCEL_RULES: dict[int, CancelRule] = {
    ORDER: CancelRule.CANCEL,
    BACKORDERED: CancelRule.CANCEL,
    PICKED: CancelRule.RAISE_WITH_WAREHOUSE,
    PACKED: CancelRule.RAISE_WITH_WAREHOUSE,
    SHIPPED: CancelRule.REFUSE_AND_RETURN,
}
_SHIPPED_STATUSES = {"SHIPPED", "INVOICED", "COMPLETED", "CREDITED"}


def sale_code(sale: Mapping[str, Any]) -> int:
    """The stage code of a sale as GET sale returns it."""
    status = str(sale.get("Status") or "").upper()
    if status == "VOIDED":
        return VOIDED
    shipping = str(sale.get("CombinedShippingStatus") or "").upper()
    if status in _SHIPPED_STATUSES or shipping in ("SHIPPED", "PARTIALLY SHIPPED"):
        return SHIPPED
    if str(sale.get("CombinedPackingStatus") or "").upper() in ("PACKED", "PARTIALLY PACKED"):
        return PACKED
    if str(sale.get("CombinedPickingStatus") or "").upper() in ("PICKED", "PARTIALLY PICKED"):
        return PICKED
    return BACKORDERED if status == "BACKORDERED" else ORDER


def status_read(code: int | None) -> WarehouseStatusRead:
    if code is None:
        return WarehouseStatusRead(status="unknown", code="", name="")
    return WarehouseStatusRead(status=NEUTRAL.get(code, "unknown"), code=str(code), name=STATUS_NAMES.get(code, ""))


def despatched_read() -> WarehouseStatusRead:
    return status_read(SHIPPED)


def cancel_rules(overrides: Mapping[int, CancelRule]) -> dict[str, CancelRule]:
    unknown = sorted(set(overrides) - set(STATUS_NAMES))
    if unknown:
        raise ValueError(f"not Cin7 Core stage codes: {unknown}; known: {sorted(STATUS_NAMES)}")
    return {str(code): rule for code, rule in {**DEFAULT_CANCEL_RULES, **overrides}.items()}
