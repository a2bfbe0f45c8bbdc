"""SFCC's declaration: an order source polled by its release filter (B2C Commerce sends no order webhooks,
so no inbound channels), which takes shipments back, announces cancellations, and takes sellable stock and
the fields of Cin7 Core's products it does not own."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from shared.connectors.sfcc.settings import SfccSettings
from shared.connectors.spec import BuildContext, ConnectorSpec, Role


def build(name: str, settings: SfccSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext) -> Any:
    import httpx

    from shared.connectors.sfcc.ports import SfccConnector

    # One budget per Account Manager client on this organisation; keyed by a digest, never the id itself.
    digest = hashlib.sha256(f"{settings.organization_id}:{secret['client_id']}".encode()).hexdigest()[:16]
    return SfccConnector(
        settings,
        secret["client_id"],
        secret["client_secret"],
        clock=ctx.clock,
        budget=ctx.budget(f"sfcc:{digest}", settings.budget.calls_per_minute, 60),
        http=httpx.Client(timeout=ctx.http_timeout or settings.retry.timeout_seconds),
    )


SPEC = ConnectorSpec(
    type="sfcc",
    title="Salesforce Commerce Cloud",
    settings=SfccSettings,
    secret_keys=("client_id", "client_secret"),
    roles=frozenset(
        {Role.ORDER_SOURCE, Role.SHIPMENT_TARGET, Role.CANCEL_SOURCE, Role.STOCK_TARGET, Role.CATALOGUE_TARGET}
    ),
    builder="shared.connectors.sfcc.spec:build",
    docs="docs/platforms/sfcc.md",
    marks_exports=True,
    # An orderNo as the card shows it (site-configured sequences of letters, digits, - and _) [I].
    id_pattern=r"^[A-Za-z0-9_-]{1,50}$",
)
