"""Contract suites: each test module names the roles of the port it checks (`ROLES`), and runs once per
implementation that claims one of them: every registered connector, on its simulator, and the fake.

Which connectors claim a role is read from the registry (`SPEC.roles`), so a new connector is picked up on
registration. How to start its simulator and build its client is in FACTORIES, by platform type; a
registered type without an entry fails the suite, so a new platform cannot skip its contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import count

import pytest

from sandbox.simulators.cin7_core import VAT_RULE
from sandbox.simulators.cin7_core_sales import Cin7CoreSalesSimulator
from sandbox.simulators.commercetools import CommercetoolsMock, node_mocks_required, unavailable_reason
from sandbox.simulators.scend import ScendSimulator
from sandbox.simulators.sfcc import SfccSimulator
from shared.clock import Clock, VirtualClock
from shared.config import ClientConfig, RetryConfig
from shared.connectors.cin7_core.settings import Cin7SalesSettings
from shared.connectors.commercetools.settings import CommercetoolsSettings
from shared.connectors.http import RateBudget, TokenBucket
from shared.connectors.registry import known, spec_for
from shared.connectors.sfcc.settings import SfccSettings
from shared.connectors.spec import Role
from tests.contracts.ports.worlds import (
    CIN7_LOCATION,
    Cin7CoreWorld,
    CommercetoolsWorld,
    FakeCommerceWorld,
    FakeWarehouseWorld,
    ScendWorld,
    SfccWorld,
    Subject,
)
from tests.fakes import FakeCommerce, FakeWarehouse

RETRIES = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=1, timeout_seconds=5)


@dataclass
class ContractContext:
    """What a connector's builder takes from the runtime, with a budget no contract test exhausts."""

    clock: Clock
    http_timeout: float | None = 5.0
    user_agent: str = "hopline/contracts"
    budgets: dict[str, RateBudget] = field(default_factory=dict)

    def budget(self, key: str, calls: int, per_seconds: float) -> RateBudget:
        return self.budgets.setdefault(key, TokenBucket(100_000, per_seconds, self.clock, capacity=100_000))


def _instance(config: ClientConfig, platform_type: str) -> str:
    return next(name for name, settings in config.platforms.items() if settings.type == platform_type)


def cin7_core(stack: ExitStack, config: ClientConfig, clock: VirtualClock) -> Subject:
    simulator = Cin7CoreSalesSimulator("acct-1", "key-1", clock=clock, calls_per_minute=100_000)
    simulator.start()
    stack.callback(simulator.stop)
    name = _instance(config, "cin7_core")
    # As the order target too: sales post to the world's location with the simulator's VAT rule.
    sales = Cin7SalesSettings(location=CIN7_LOCATION, tax_rule=VAT_RULE)
    settings = config.platforms[name].model_copy(update={"base_url": f"{simulator.url}ExternalApi/v2/", "sales": sales})
    client = spec_for("cin7_core").build(
        name, settings, {"account_id": "acct-1", "application_key": "key-1"}, RETRIES, ContractContext(clock)
    )
    stack.callback(client.close)
    return Subject(client, Cin7CoreWorld(simulator, client), clock)


def sfcc(stack: ExitStack, config: ClientConfig, clock: VirtualClock) -> Subject:
    """No SFCC instance in the example client: the site is the simulator's, reached with its own client."""
    simulator = SfccSimulator("hopline-orders", "s3cret", clock=clock, product_endpoint="products/{product_id}")
    simulator.start()
    stack.callback(simulator.stop)
    settings = SfccSettings(
        credentials_secret="hopline/contract/sfcc",
        short_code="kv7kzm78",
        organization_id=simulator.organization_id,
        site_id=simulator.site_id,
        instance_host="zzxy-prd.dx.commercecloud.salesforce.com",
        auth_url=simulator.url + "dwsso/oauth2/access_token",
        scapi_base_url=simulator.url,
        ocapi_base_url=simulator.url,
        inventory_list_id="inventory_m",
        products={"endpoint": "products/{product_id}"},
        retry=RETRIES,
    )
    client = spec_for("sfcc").build(
        "sfcc", settings, {"client_id": "hopline-orders", "client_secret": "s3cret"}, RETRIES, ContractContext(clock)
    )
    stack.callback(client.close)
    return Subject(client, SfccWorld(simulator, settings.tracking.shipments), clock)


def scend(stack: ExitStack, config: ClientConfig, clock: VirtualClock) -> Subject:
    name = _instance(config, "scend")
    endpoint = config.platforms[name].stock_write_endpoint  # type: ignore[attr-defined]
    # No status timetable: an order stays New until a test despatches it, however far the clock moves.
    simulator = ScendSimulator(
        "scend-key",
        clock=clock,
        enforce_unique_reference=True,
        status_timings_minutes={},
        stock_write_endpoint=endpoint,
    )
    simulator.start()
    stack.callback(simulator.stop)
    settings = config.platforms[name].model_copy(update={"base_url": f"{simulator.url}api/"})
    client = spec_for("scend").build(name, settings, {"api_key": "scend-key"}, RETRIES, ContractContext(clock))
    stack.callback(client.close)
    return Subject(client, ScendWorld(simulator, client), clock)


def commercetools(stack: ExitStack, config: ClientConfig, clock: VirtualClock) -> Subject:
    """The vendor's mock (Node); skipped without node, failed instead when HOPLINE_REQUIRE_NODE_MOCKS=1."""
    reason = unavailable_reason()
    if reason:
        if node_mocks_required():
            pytest.fail(f"HOPLINE_REQUIRE_NODE_MOCKS=1 but {reason}")
        pytest.skip(reason)
    mock = CommercetoolsMock(project_key="contract").start()
    stack.callback(mock.stop)
    mock.pin_clock(clock.now())
    seeder = mock.seeder()
    stack.callback(seeder.close)
    settings = CommercetoolsSettings(
        project_key=mock.project_key,
        credentials_secret="contract/commercetools",
        api_url=mock.base_url,
        auth_url=mock.base_url,
        supply_channels={CommercetoolsWorld.location: seeder.channel("wh-1")["id"]},
        sync_channel_id=seeder.channel("scend", roles=("OrderExport",))["id"],
    )
    secret = {"client_id": mock.client_id, "client_secret": mock.client_secret}
    client = spec_for("commercetools").build("shop", settings, secret, RETRIES, ContractContext(clock))
    stack.callback(client.close)
    return Subject(client, CommercetoolsWorld(mock, seeder, clock, settings), clock)


# Platform type -> how to build its client against its simulator, with the world that drives the simulator.
FACTORIES: dict[str, Callable[[ExitStack, ClientConfig, VirtualClock], Subject]] = {
    "cin7_core": cin7_core,
    "commercetools": commercetools,
    "scend": scend,
    "sfcc": sfcc,
}

COMMERCE_ROLES = frozenset(
    {
        Role.ORDER_SOURCE,
        Role.SHIPMENT_TARGET,
        Role.CATALOGUE_SOURCE,
        Role.STOCK_MASTER,
        Role.CANCEL_SOURCE,
        Role.NOTE_TARGET,
    }
)
WAREHOUSE_ROLES = frozenset(
    {
        Role.ORDER_TARGET,
        Role.SHIPMENT_SOURCE,
        Role.CATALOGUE_TARGET,
        Role.STOCK_TARGET,
        Role.STOCK_READER,
        Role.CANCEL_TARGET,
    }
)


def fake_commerce(stack: ExitStack, config: ClientConfig, clock: VirtualClock) -> Subject:
    fake = FakeCommerce(clock=clock)
    return Subject(fake, FakeCommerceWorld(fake), clock)


def fake_warehouse(stack: ExitStack, config: ClientConfig, clock: VirtualClock) -> Subject:
    fake = FakeWarehouse(clock=clock)
    return Subject(fake, FakeWarehouseWorld(fake), clock)


FAKES: dict[str, tuple[frozenset[Role], Callable[[ExitStack, ClientConfig, VirtualClock], Subject]]] = {
    "fake_commerce": (COMMERCE_ROLES, fake_commerce),
    "fake_warehouse": (WAREHOUSE_ROLES, fake_warehouse),
}


def implementations(roles: frozenset[Role]) -> list[str]:
    """Every registered platform type that claims one of `roles`, then the fakes that play one."""
    claimed = [platform for platform in known() if spec_for(platform).roles & roles]
    return claimed + [fake for fake, (plays, _) in FAKES.items() if plays & roles]


def build_subject(implementation: str, stack: ExitStack, config: ClientConfig, clock: VirtualClock) -> Subject:
    if implementation in FAKES:
        return FAKES[implementation][1](stack, config, clock)
    factory = FACTORIES.get(implementation)
    if factory is None:
        pytest.fail(
            f"platform type {implementation!r} claims {sorted(spec_for(implementation).roles)} but "
            "tests/contracts/ports/conftest.py FACTORIES has no entry: add how to build its client "
            "against its simulator, so its contracts run"
        )
    return factory(stack, config, clock)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "subject" in metafunc.fixturenames:
        roles = frozenset(metafunc.module.ROLES)
        metafunc.parametrize("subject", implementations(roles), indirect=True, scope="module")


@pytest.fixture(scope="module")
def subject(request: pytest.FixtureRequest, example_config: ClientConfig) -> Iterator[Subject]:
    """One implementation per module (a simulator starts once), on its own virtual clock."""
    with ExitStack() as stack:
        yield build_subject(request.param, stack, example_config, VirtualClock())


_serial = count(1)


@pytest.fixture
def unique() -> str:
    """A suffix no other test in the session uses: tests share a module's platform, so they never share data."""
    return f"{next(_serial):04d}"
