"""The vendor's commercetools mock, once per test session, and a connector pointed at it.

Without node or node_modules the mock tests skip with the reason; with HOPLINE_REQUIRE_NODE_MOCKS=1 (as
`make test` and CI set it) they fail instead, so a missing install step cannot pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.simulators.commercetools import CommercetoolsMock, Seeder, node_mocks_required, unavailable_reason
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.commercetools import CommercetoolsClient, CommercetoolsCredentials, CommercetoolsSettings


@pytest.fixture(scope="session")
def ct_mock() -> Iterator[CommercetoolsMock]:
    reason = unavailable_reason()
    if reason:
        if node_mocks_required():
            pytest.fail(f"HOPLINE_REQUIRE_NODE_MOCKS=1 but {reason}")
        pytest.skip(reason)
    with CommercetoolsMock(project_key="hopline-test") as mock:
        yield mock


@pytest.fixture(scope="session")
def seeder(ct_mock: CommercetoolsMock) -> Iterator[Seeder]:
    seeder = ct_mock.seeder()
    yield seeder
    seeder.close()


@pytest.fixture(scope="session")
def channels(seeder: Seeder) -> dict[str, str]:
    """Warehouse location -> supply channel id, plus the channel the warehouse order id is synced on."""
    return {
        "WH1": seeder.channel("wh-1")["id"],
        "WH2": seeder.channel("wh-2")["id"],
        "sync": seeder.channel("scend", roles=("OrderExport",))["id"],
    }


@pytest.fixture
def ct_settings(ct_mock: CommercetoolsMock, channels: dict[str, str]) -> CommercetoolsSettings:
    return CommercetoolsSettings(
        project_key=ct_mock.project_key,
        credentials_secret="hopline/commercetools",
        api_url=ct_mock.base_url,
        auth_url=ct_mock.base_url,
        supply_channels={"WH1": channels["WH1"], "WH2": channels["WH2"]},
        sync_channel_id=channels["sync"],
    )


@pytest.fixture
def ct_client(ct_mock: CommercetoolsMock, ct_settings: CommercetoolsSettings) -> Iterator[CommercetoolsClient]:
    client = CommercetoolsClient(
        ct_settings,
        CommercetoolsCredentials(client_id=ct_mock.client_id, client_secret=ct_mock.client_secret),
        retry=RetryConfig(max_attempts=2, base_delay_seconds=0, max_delay_seconds=0),
        clock=VirtualClock(),
    )
    yield client
    client.close()
