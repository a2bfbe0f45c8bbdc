"""Scend's declaration: the 3PL that takes orders, reports despatches, holds items, masters physical stock
(its free level, from its updated-since feed) and cancels by its own status table."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from shared.connectors.scend.settings import ScendSettings
from shared.connectors.spec import BuildContext, ConnectorSpec, Role


def build(name: str, settings: ScendSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext) -> Any:
    import httpx

    from shared.connectors.scend.client import ScendClient

    return ScendClient(
        settings.base_url,
        secret["api_key"],
        client_id=settings.client_id,
        warehouse_id=settings.warehouse_id,
        channel=settings.channel,
        retry=retries,
        clock=ctx.clock,
        # `hopline/<hop>`: the platform's logs (and the sandbox) say which flow spent the calls.
        http=httpx.Client(timeout=ctx.http_timeout or retries.timeout_seconds, headers={"User-Agent": ctx.user_agent}),
        # Keyed by a digest of the key: the budget table must never hold a credential.
        budget=ctx.budget(
            f"scend:{hashlib.sha256(secret['api_key'].encode()).hexdigest()[:16]}", settings.calls_per_minute, 60
        ),
        stock_write_endpoint=settings.stock_write_endpoint,
        stock_write_setting=f"platforms.{name}.stock_write_endpoint",
        return_actions=settings.return_actions,
        return_actions_setting=f"platforms.{name}.return_actions",
        stock_feed_endpoint=settings.stock_feed_endpoint,
        stock_feed_setting=f"platforms.{name}.stock_feed_endpoint",
        quarantine_types=tuple(settings.quarantine_types),
        damaged_types=tuple(settings.damaged_types),
    )


SPEC = ConnectorSpec(
    type="scend",
    title="Scend",
    settings=ScendSettings,
    secret_keys=("api_key",),
    roles=frozenset(
        {
            Role.ORDER_TARGET,
            Role.SHIPMENT_SOURCE,
            Role.CATALOGUE_TARGET,
            Role.STOCK_MASTER,
            Role.STOCK_TARGET,
            Role.STOCK_READER,
            Role.CANCEL_TARGET,
            Role.RETURN_SOURCE,
            Role.SKU_LISTING,
        }
    ),
    builder="shared.connectors.scend.spec:build",
    docs="docs/platforms/scend.md",
    statuses="shared.connectors.scend.statuses",
)
