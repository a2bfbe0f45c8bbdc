"""What the rest of Hopline needs to know about a warehouse platform without its client: its status codes
and its cancel table. One platform today (Scend); a registry of connector specs replaces this later."""

from __future__ import annotations

from shared.config import ScendWarehouseConfig
from shared.models.warehouse import CancelRule, WarehouseStatusRead


def status_codes(platform: str = "scend") -> tuple[str, ...]:
    """Every status code the warehouse platform reports (the state machine's choice lists each one)."""
    if platform != "scend":
        raise ValueError(f"no warehouse statuses for platform {platform!r}")
    from shared.connectors.scend.statuses import STATUS_CODES

    return STATUS_CODES


def status_read(settings: ScendWarehouseConfig, code: str) -> WarehouseStatusRead:
    from shared.connectors.scend.statuses import status_read as scend_status

    return scend_status(int(code)) if code.isdigit() else scend_status(None)


def despatched(settings: ScendWarehouseConfig) -> WarehouseStatusRead:
    from shared.connectors.scend.statuses import despatched_read

    return despatched_read()


def cancel_rules(settings: ScendWarehouseConfig) -> dict[str, CancelRule]:
    """The warehouse's default cancel table (its card) with this client's overrides, by status code."""
    from shared.connectors.scend.statuses import cancel_rules as scend_rules

    return scend_rules(settings.cancel_rules)
