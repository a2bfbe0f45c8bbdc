"""What the rest of Hopline needs of a cancel target's order statuses without its client: its status codes,
a status read by code and its cancel table, from the module its connector spec names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.registry import known, spec_for
from shared.connectors.roles import Role
from shared.models.warehouse import CancelRule, WarehouseStatusRead

if TYPE_CHECKING:
    from shared.config import ClientConfig


def _statuses(config: ClientConfig):  # type: ignore[no-untyped-def]
    return config.spec(config.platform_for(Role.CANCEL_TARGET)).status_module()


def status_codes(config: ClientConfig | None = None) -> tuple[str, ...]:
    """Every status code the cancel target reports; without a config, every registered platform's codes
    (the state machine's choice lists each one)."""
    if config is not None:
        return tuple(_statuses(config).STATUS_CODES)
    codes: dict[str, None] = {}
    for platform_type in known():
        spec = spec_for(platform_type)
        if spec.statuses is not None:
            codes.update(dict.fromkeys(spec.status_module().STATUS_CODES))
    return tuple(codes)


def status_read(config: ClientConfig, code: str) -> WarehouseStatusRead:
    module = _statuses(config)
    return module.status_read(int(code)) if code.isdigit() else module.status_read(None)  # type: ignore[no-any-return]


def despatched(config: ClientConfig) -> WarehouseStatusRead:
    return _statuses(config).despatched_read()  # type: ignore[no-any-return]


def cancel_rules(config: ClientConfig) -> dict[str, CancelRule]:
    """The cancel target's default table (its card) with this client's overrides, by status code."""
    settings = config.settings_for(Role.CANCEL_TARGET)
    return _statuses(config).cancel_rules(getattr(settings, "cancel_rules", {}))  # type: ignore[no-any-return]
