"""Every platform Hopline can talk to, by the `type` a client file gives it.

A built-in platform's spec module is imported when something first asks for that type (a client's config
naming it): a hop's cold start loads only the connectors its client uses, not every platform's settings and
webhook models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.connectors.spec import ConnectorSpec

# type -> the module whose `SPEC` declares it; one line per built-in platform.
_BUILT_IN = {
    "cin7_core": "shared.connectors.cin7_core.spec",
    "commercetools": "shared.connectors.commercetools.spec",
    "scend": "shared.connectors.scend.spec",
    "sfcc": "shared.connectors.sfcc.spec",
}
_REGISTRY: dict[str, ConnectorSpec | str] = dict(_BUILT_IN)


def spec_for(platform_type: str) -> ConnectorSpec:
    try:
        entry = _REGISTRY[platform_type]
    except KeyError:
        raise ValueError(f"unknown platform type {platform_type!r}; known: {', '.join(known())}") from None
    if isinstance(entry, str):
        spec: ConnectorSpec = importlib.import_module(entry).SPEC
        if spec.type != platform_type:
            raise ValueError(f"{entry} declares platform type {spec.type!r}, registered as {platform_type!r}")
        _REGISTRY[platform_type] = entry = spec
    return entry


def known() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def register(spec: ConnectorSpec) -> None:
    """Add a platform (a package outside this tree, or a test's toy platform). Re-registering replaces."""
    _REGISTRY[spec.type] = spec


def unregister(platform_type: str) -> None:
    _REGISTRY.pop(platform_type, None)
