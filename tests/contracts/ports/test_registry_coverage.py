"""The contract suites follow the registry: a platform that claims a role is run against that role's
contracts, and one nobody taught the suites to build fails them instead of being skipped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from shared.clock import VirtualClock
from shared.config import ClientConfig
from shared.connectors.registry import known, register, unregister
from shared.connectors.settings import PlatformSettings
from shared.connectors.spec import ConnectorSpec, Role
from tests.contracts.ports.conftest import FACTORIES, build_subject, implementations

TOY = ConnectorSpec(
    type="toy_shop",
    title="Toy Shop",
    settings=PlatformSettings,
    secret_keys=(),
    roles=frozenset({Role.ORDER_SOURCE, Role.NOTE_TARGET}),
    builder="toy_shop.spec:build",
    docs="",
)


@pytest.fixture
def toy_registered() -> Iterator[None]:
    register(TOY)
    yield
    unregister(TOY.type)


def test_every_registered_platform_has_a_factory() -> None:
    assert set(known()) <= set(FACTORIES)


def test_each_role_runs_against_every_connector_claiming_it_and_its_fake() -> None:
    assert implementations(frozenset({Role.ORDER_TARGET})) == ["cin7_core", "scend", "fake_warehouse"]
    assert implementations(frozenset({Role.ORDER_SOURCE})) == ["cin7_core", "commercetools", "sfcc", "fake_commerce"]
    assert implementations(frozenset({Role.STOCK_MASTER, Role.STOCK_READER})) == [
        "cin7_core",
        "commercetools",
        "scend",
        "fake_commerce",
        "fake_warehouse",
    ]


def test_a_new_platform_is_picked_up_and_without_a_factory_it_fails(
    toy_registered: None, example_config: ClientConfig
) -> None:
    assert "toy_shop" in implementations(frozenset({Role.ORDER_SOURCE}))
    assert "toy_shop" not in implementations(frozenset({Role.STOCK_TARGET}))
    with ExitStack() as stack, pytest.raises(pytest.fail.Exception, match=r"toy_shop.*FACTORIES has no entry"):
        build_subject("toy_shop", stack, example_config, VirtualClock())
