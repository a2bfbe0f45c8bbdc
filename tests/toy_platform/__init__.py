"""A platform that exists only in the tests: one settings model, one spec, one builder. Adding it to the
registry and naming it in a client file is all it takes to run a pipeline from it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from shared.connectors.settings import PlatformSettings, SecretName
from shared.connectors.spec import BuildContext, ConnectorSpec, Role
from tests.fakes import FakeCommerce

# The shops the builder hands out, by instance name, so a test can place orders in the one a hop reads.
SHOPS: dict[str, FakeCommerce] = {}


class ToyShopSettings(PlatformSettings):
    type: Literal["toyshop"] = "toyshop"
    credentials_secret: SecretName = Field(description="JSON {token}")
    shop_name: str = "Toy Shop"


def build(name: str, settings: ToyShopSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext) -> Any:
    if secret.get("token") is None:
        raise ValueError("toyshop credentials secret lacks its token")
    return SHOPS.setdefault(name, FakeCommerce("toyshop", clock=ctx.clock))


SPEC = ConnectorSpec(
    type="toyshop",
    title="Toy Shop",
    settings=ToyShopSettings,
    secret_keys=("token",),
    roles=frozenset({Role.ORDER_SOURCE}),
    builder="tests.toy_platform:build",
    docs="",
)
