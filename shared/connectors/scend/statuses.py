"""Scend's order statuses (card 3.3) and the card's cancel rule per status (card 3.4): Scend's codes stay here.

The rule [I] (card 3.4): cancel through the API only in {1, 7, 9, 10, 11, 12, 15, 21}; at 14, 16, 17
and 20 raise it with the 3PL and expect the goods back as a return; at 4 and 5 (despatched, invoiced)
refuse and start a return. 3 is already cancelled. Every other status (2 Printed, 6 Invoice failed,
8 Failed, 13 Query raised, 18 Fraud risk, 19 Picking skipped, 22 Processing, 23 Rebinned) has no rule
on the card: the decision leaves it to a person. A client overrides any status in its config
(`warehouse.cancel_rules`).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.models.warehouse import CancelRule, WarehouseStatusRead

# OrderStatusId -> name, as GET /api/Order/Statuses lists them (card 3.3 [C]).
STATUS_NAMES: dict[int, str] = {
    1: "New",
    2: "Printed",
    3: "Cancelled",
    4: "Despatched",
    5: "Invoiced",
    6: "Invoice failed",
    7: "Holding",
    8: "Failed",
    9: "On back order",
    10: "Awaiting confirmation",
    11: "Awaiting documentation",
    12: "Awaiting payment",
    13: "Query raised",
    14: "Pack and hold",
    15: "Awaiting picking",
    16: "Picking started",
    17: "Picked",
    18: "Fraud risk",
    19: "Picking skipped",
    20: "Packed",
    21: "Awaiting replen",
    22: "Processing",
    23: "Rebinned",
}
STATUS_CODES: tuple[str, ...] = tuple(str(status_id) for status_id in STATUS_NAMES)
DESPATCHED = 4

DEFAULT_CANCEL_RULES: dict[int, CancelRule] = {
    **dict.fromkeys((1, 7, 9, 10, 11, 12, 15, 21), CancelRule.CANCEL),
    **dict.fromkeys((14, 16, 17, 20), CancelRule.RAISE_WITH_WAREHOUSE),
    **dict.fromkeys((4, 5), CancelRule.REFUSE_AND_RETURN),
}


def status_read(status_id: int | None) -> WarehouseStatusRead:
    """An OrderStatusId as a status read: its code, its name and the neutral status."""
    # The wire mapping loads here, not with the module: the topology reads STATUS_CODES at every cold start.
    from shared.connectors.scend.mapping import neutral_status

    if status_id is None:
        return WarehouseStatusRead(status=neutral_status(None), code="", name="")
    return WarehouseStatusRead(
        status=neutral_status(status_id), code=str(status_id), name=STATUS_NAMES.get(status_id, "")
    )


def despatched_read() -> WarehouseStatusRead:
    """What the status of an order whose parcel we already recorded is taken to be: Despatched."""
    return status_read(DESPATCHED)


def cancel_rules(overrides: Mapping[int, CancelRule]) -> dict[str, CancelRule]:
    """The card's table with the client's overrides, keyed by status code."""
    unknown = sorted(set(overrides) - set(STATUS_NAMES))
    if unknown:
        raise ValueError(f"not Scend status ids: {unknown}; known: 1-{max(STATUS_NAMES)}")
    return {str(status_id): rule for status_id, rule in {**DEFAULT_CANCEL_RULES, **overrides}.items()}
