"""Every platform Hopline can talk to, by the `type` a client file gives it."""

from __future__ import annotations

from shared.connectors.cin7_core.spec import SPEC as CIN7_CORE
from shared.connectors.commercetools.spec import SPEC as COMMERCETOOLS
from shared.connectors.scend.spec import SPEC as SCEND
from shared.connectors.sfcc.spec import SPEC as SFCC
from shared.connectors.spec import ConnectorSpec

_REGISTRY: dict[str, ConnectorSpec] = {spec.type: spec for spec in (CIN7_CORE, COMMERCETOOLS, SCEND, SFCC)}


def spec_for(platform_type: str) -> ConnectorSpec:
    try:
        return _REGISTRY[platform_type]
    except KeyError:
        raise ValueError(f"unknown platform type {platform_type!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def known() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def register(spec: ConnectorSpec) -> None:
    """Add a platform (a package outside this tree, or a test's toy platform). Re-registering replaces."""
    _REGISTRY[spec.type] = spec


def unregister(platform_type: str) -> None:
    _REGISTRY.pop(platform_type, None)
