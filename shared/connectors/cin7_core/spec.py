"""Cin7 Core's declaration: an order source, a shipment target, the catalogue and stock master; and, for a
storefront's orders, the order target that voids a sale before its cut-off and reports what shipped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.connectors.cin7_core.settings import ID_PATTERN, Cin7CoreSettings
from shared.connectors.cin7_core.webhooks import SALES, STOCK
from shared.connectors.spec import BuildContext, ConnectorSpec, Role


def build(name: str, settings: Cin7CoreSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext) -> Any:
    import httpx

    from shared.connectors.cin7_core.shipment_source import Cin7CoreShipmentSource

    return Cin7CoreShipmentSource(
        settings.base_url,
        secret["account_id"],
        secret["application_key"],
        retry=retries,
        clock=ctx.clock,
        # One budget per Cin7 application: 60 calls a minute shared by every flow and every Lambda.
        budget=ctx.budget(f"cin7_core:{secret['account_id']}", settings.calls_per_minute, 60),
        http=httpx.Client(timeout=ctx.http_timeout or retries.timeout_seconds, headers={"User-Agent": ctx.user_agent}),
        page_limit=settings.page_limit,
        availability_page_limit=settings.availability_page_limit,
        sales=settings.sales,
        cancel_rules=settings.cancel_rules,
    )


SPEC = ConnectorSpec(
    type="cin7_core",
    title="Cin7 Core",
    settings=Cin7CoreSettings,
    secret_keys=("account_id", "application_key"),
    roles=frozenset(
        {
            Role.ORDER_SOURCE,
            Role.SHIPMENT_TARGET,
            Role.CATALOGUE_SOURCE,
            Role.STOCK_MASTER,
            Role.CANCEL_SOURCE,
            Role.NOTE_TARGET,
            Role.ORDER_TARGET,
            Role.CANCEL_TARGET,
            Role.SHIPMENT_SOURCE,
        }
    ),
    builder="shared.connectors.cin7_core.spec:build",
    docs="docs/platforms/cin7-core.md",
    statuses="shared.connectors.cin7_core.statuses",
    inbound=(SALES, STOCK),
    rebuilders="shared.connectors.cin7_core.replays:REBUILDERS",
    id_pattern=ID_PATTERN,
)
