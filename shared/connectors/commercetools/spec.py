"""commercetools' declaration: the storefront whose orders go to the warehouse, which takes deliveries and
stock figures back, announces cancellations and products, and takes notes on its orders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.connectors.commercetools.settings import CommercetoolsSettings
from shared.connectors.spec import BuildContext, ConnectorSpec, Role


def build(
    name: str, settings: CommercetoolsSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext
) -> Any:
    import httpx

    from shared.connectors.commercetools.client import CommercetoolsClient
    from shared.connectors.commercetools.ports import CommercetoolsPorts
    from shared.connectors.commercetools.settings import CommercetoolsCredentials

    credentials = CommercetoolsCredentials.model_validate(dict(secret))
    client = CommercetoolsClient(
        settings,
        credentials,
        retry=retries,
        clock=ctx.clock,
        # One budget per API client, shared by every flow and Lambda of this project.
        budget=ctx.budget(
            f"commercetools:{settings.project_key}:{credentials.client_id}", settings.calls_per_minute, 60
        ),
        http=httpx.Client(timeout=ctx.http_timeout or retries.timeout_seconds),
    )
    return CommercetoolsPorts(client)


SPEC = ConnectorSpec(
    type="commercetools",
    title="commercetools",
    settings=CommercetoolsSettings,
    secret_keys=("client_id", "client_secret"),
    roles=frozenset(
        {
            Role.ORDER_SOURCE,
            Role.SHIPMENT_TARGET,
            Role.CATALOGUE_SOURCE,
            Role.STOCK_TARGET,
            Role.STOCK_READER,
            Role.CANCEL_SOURCE,
            Role.NOTE_TARGET,
            Role.RETURN_TARGET,
            Role.ORDER_RECORDS,
            Role.CATALOGUE_AUDIT,
        }
    ),
    builder="shared.connectors.commercetools.spec:build",
    docs="docs/platforms/commercetools.md",
)
